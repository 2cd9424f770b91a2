//! (abuse cases: http_edge)
