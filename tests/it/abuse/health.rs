//! (abuse cases: health)
