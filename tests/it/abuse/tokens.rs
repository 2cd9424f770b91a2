//! (abuse cases: tokens)
