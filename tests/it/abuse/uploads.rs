//! (abuse cases: uploads)
