//! `/api/v1/admin/…` for the instance: provider connections, model policy and prices, the
//! data-use setting, retention (plan and run) and the audit log. Admins only; thin over the
//! services the admin pages use. One file per concept; the handlers are re-exported here.

mod audit;
mod catalog;
mod connections;
mod data_use;
mod model_policy;
mod retention;

pub use audit::*;
pub use catalog::*;
pub use connections::*;
pub use data_use::*;
pub use model_policy::*;
pub use retention::*;
