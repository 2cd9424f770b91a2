//! `/api/v1/admin/…` for the instance: provider connections, model policy and prices, the
//! data-use setting, retention (plan and run), the audit log and the reconciliation of
//! estimates against what providers reported. Admins only; thin over the
//! services the admin pages use. One file per concept; the handlers are re-exported here.

mod audit;
mod catalog;
mod connections;
mod data_use;
mod model_policy;
mod reconciliation;
mod retention;

pub use audit::*;
pub use catalog::*;
pub use connections::*;
pub use data_use::*;
pub use model_policy::*;
pub use reconciliation::*;
pub use retention::*;
