//! (abuse cases: outbound)
