//! The standing abuse suite: each class of abuse found keeps a test here. After each case,
//! another person's sign-in, page and API call still answer (see [`bystander`]).

mod bystander;

mod connections;
pub mod downloads;
mod health;
mod http_edge;
mod legal_hold;
mod outbound;
mod sign_in;
mod tokens;
mod uploads;
