//! (abuse cases: downloads)
