//! Limits in memory that keep one person from crowding out the others.

pub mod places;
pub mod rate_limits;
