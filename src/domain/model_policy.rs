//! Admins' choices about one model: the roles it is enabled for, per-person allow or deny
//! overrides, and a price override; and the rule that decides whether a person may use it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::catalog::Price;
use super::ids::UserId;
use super::time::Timestamp;
use super::user::{InvalidInput, Role, User};

/// The highest price an admin may set, in credits per image or per second.
pub const MAX_CREDITS: u64 = 100_000;

/// A per-person override.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Access {
    /// May use the model even when it is off for their role.
    Allow,
    /// May not use the model.
    Deny,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Allow => "allow",
            Access::Deny => "deny",
        }
    }

    pub fn parse(text: &str) -> Result<Access, InvalidInput> {
        match text.trim() {
            "allow" => Ok(Access::Allow),
            "deny" => Ok(Access::Deny),
            _ => Err(InvalidInput("an override is \"allow\" or \"deny\"")),
        }
    }
}

/// One model's policy as stored. A model without one is enabled for everyone at the
/// catalog's price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelPolicy {
    /// The catalog model id.
    pub model: String,
    pub enabled_for_admins: bool,
    pub enabled_for_members: bool,
    /// Per-person overrides, by account.
    pub people: BTreeMap<UserId, Access>,
    /// Credits per image or per second (the catalog price's shape); `None`: the catalog's.
    pub credits: Option<u64>,
    pub updated_at: Timestamp,
}

impl ModelPolicy {
    /// The default: enabled for both roles, no overrides, the catalog price.
    pub fn new(model: &str) -> ModelPolicy {
        ModelPolicy {
            model: model.to_string(),
            enabled_for_admins: true,
            enabled_for_members: true,
            people: BTreeMap::new(),
            credits: None,
            updated_at: Timestamp::now(),
        }
    }

    pub fn enabled_for(&self, role: Role) -> bool {
        match role {
            Role::Admin => self.enabled_for_admins,
            Role::Member => self.enabled_for_members,
        }
    }

    /// The effective price: the catalog's shape with the override's figure, if any.
    pub fn price(&self, catalog: &Price) -> Price {
        self.credits.map_or_else(|| catalog.clone(), |credits| catalog.with_credits(credits))
    }
}

/// Why a person may not use a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No connection serves it, or it is deliberately not integrated (the registry's words).
    NotServed(String),
    /// An admin turned it off for the person's role.
    RoleOff(Role),
    /// An admin turned it off for this person.
    PersonDenied,
    /// Content may not go to providers that may train on it (the person's or the
    /// instance's data-use preference), and this provider does not rule training out.
    TrainingForbidden { by_instance: bool, provider: String },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotServed(reason) => f.write_str(reason),
            Refusal::RoleOff(Role::Admin) => f.write_str("An admin has turned this model off for admins."),
            Refusal::RoleOff(Role::Member) => f.write_str("An admin has turned this model off for members."),
            Refusal::PersonDenied => f.write_str("An admin has turned this model off for your account."),
            Refusal::TrainingForbidden { by_instance, provider } => {
                let whose = if *by_instance { "This instance does not" } else { "Your data-use preference does not" };
                write!(f, "{whose} allow sending content to providers that may train on it, and {provider} does not rule that out.")
            }
        }
    }
}

/// The effective-availability rule: a person may use a model when a connection serves it
/// (`served`, from the registry, which also refuses models that are never available), and an
/// admin allowed it for them by name, or enabled it for their role and did not deny it to them.
pub fn access(served: Result<&str, String>, policy: Option<&ModelPolicy>, user: &User) -> Result<(), Refusal> {
    served.map_err(Refusal::NotServed)?;
    let Some(policy) = policy else { return Ok(()) };
    match policy.people.get(&user.id) {
        Some(Access::Allow) => Ok(()),
        Some(Access::Deny) => Err(Refusal::PersonDenied),
        None if policy.enabled_for(user.role) => Ok(()),
        None => Err(Refusal::RoleOff(user.role)),
    }
}

/// A price field as an admin types it: empty for the catalog price, else whole credits
/// from 0 to [`MAX_CREDITS`].
pub fn parse_credits(text: &str) -> Result<Option<u64>, InvalidInput> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if text.starts_with('-') {
        return Err(InvalidInput("a price cannot be negative"));
    }
    match text.parse::<u64>() {
        Ok(n) if n <= MAX_CREDITS => Ok(Some(n)),
        Ok(_) => Err(InvalidInput("a price is at most 100000 credits per image or per second")),
        Err(_) => Err(InvalidInput("a price is a whole number of credits, or empty for the catalog price")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::catalog::PriceUnit;

    fn person(role: Role) -> User {
        User::new(crate::domain::user::Email::parse("p@example.com").unwrap(), String::new(), role, String::new())
    }

    const SERVED: Result<&str, String> = Ok("demo");

    #[test]
    fn without_a_policy_a_served_model_is_open_to_everyone() {
        assert_eq!(access(SERVED, None, &person(Role::Member)), Ok(()));
        assert_eq!(access(SERVED, Some(&ModelPolicy::new("m")), &person(Role::Admin)), Ok(()));
    }

    #[test]
    fn a_model_nobody_serves_is_refused_whatever_the_policy_says() {
        let member = person(Role::Member);
        let mut policy = ModelPolicy::new("m");
        policy.people.insert(member.id, Access::Allow);
        let refused = access(Err("No kling connection on this instance serves this model.".into()), Some(&policy), &member);
        assert_eq!(refused, Err(Refusal::NotServed("No kling connection on this instance serves this model.".into())));
    }

    #[test]
    fn roles_are_switched_separately() {
        let mut policy = ModelPolicy::new("m");
        policy.enabled_for_members = false;
        assert_eq!(access(SERVED, Some(&policy), &person(Role::Member)), Err(Refusal::RoleOff(Role::Member)));
        assert_eq!(access(SERVED, Some(&policy), &person(Role::Admin)), Ok(()));
        assert!(Refusal::RoleOff(Role::Member).to_string().contains("off for members"));
    }

    #[test]
    fn a_personal_override_beats_the_role() {
        let (allowed, denied, other) = (person(Role::Member), person(Role::Admin), person(Role::Member));
        let mut policy = ModelPolicy::new("m");
        policy.enabled_for_members = false;
        policy.people.insert(allowed.id, Access::Allow);
        policy.people.insert(denied.id, Access::Deny);
        assert_eq!(access(SERVED, Some(&policy), &allowed), Ok(()), "allowed by name although members are off");
        assert_eq!(access(SERVED, Some(&policy), &other), Err(Refusal::RoleOff(Role::Member)), "only that member");
        assert_eq!(access(SERVED, Some(&policy), &denied), Err(Refusal::PersonDenied), "denied although admins are on");
    }

    #[test]
    fn prices_keep_the_catalog_shape_and_refuse_bad_figures() {
        let mut policy = ModelPolicy::new("m");
        let catalog = Price::flat(PriceUnit::Second, 2);
        assert_eq!(policy.price(&catalog), catalog);
        policy.credits = Some(9);
        assert_eq!(policy.price(&catalog), Price::flat(PriceUnit::Second, 9));
        assert_eq!(parse_credits(" "), Ok(None));
        assert_eq!(parse_credits("0"), Ok(Some(0)));
        assert_eq!(parse_credits("100000"), Ok(Some(MAX_CREDITS)));
        for bad in ["-1", "100001", "1e9", "3.5", "five", "18446744073709551616"] {
            assert!(parse_credits(bad).is_err(), "{bad}");
        }
    }
}
