//! (abuse cases: legal_hold)
