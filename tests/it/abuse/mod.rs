//! The standing abuse suite: each class of abuse found keeps a test here. After each case,
//! another person's sign-in, page and API call still answer (see [`bystander`]).

mod bystander;

mod downloads;
mod health;
mod sign_in;
mod legal_hold;
mod http_edge;
mod uploads;
mod tokens;
mod outbound;
mod connections;
