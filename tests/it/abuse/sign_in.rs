//! (abuse cases: sign_in)
