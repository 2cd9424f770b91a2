//! (abuse cases: connections)
