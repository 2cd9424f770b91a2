//! From a provider's claims to a session: the e-mail must be verified; a known identity or an
//! account with the same e-mail signs in (and the identity is remembered); an invited e-mail
//! gets its account (the invitation is used up); a person of an allowed domain gets one just
//! in time; anyone else is refused. A role claim sets the role at each sign-in.

use serde_json::{Map, Value};

use super::{OidcError, Provider, Refusal, RefusalKind};
use crate::domain::audit::{AuditAction, ClientInfo};
use crate::domain::auth::{LinkPurpose, OidcSession};
use crate::domain::time::Timestamp;
use crate::domain::user::{Email, Role, User};
use crate::services::identity::{accounts, secrets, sessions};
use crate::services::privacy::audit::{self, Context};
use crate::services::state::AppState;
use crate::store::{self, StoreError};

impl From<StoreError> for OidcError {
    fn from(e: StoreError) -> OidcError {
        OidcError::Service(e.into())
    }
}

/// Who the claims name, as far as signing in needs.
struct Person {
    subject: String,
    email: Email,
    name: String,
    /// The role the role claim gives, when one is configured.
    role: Option<Role>,
}

/// How the account to sign in was found.
enum Found {
    Known(User),
    Invited { link: [u8; 32], role: Role },
    AllowedDomain,
}

/// Signs in the person the claims name (see the module doc); audits the sign-in.
pub async fn sign_in(
    state: &AppState,
    provider: &Provider,
    claims: &Map<String, Value>,
    id_token: String,
    client: &ClientInfo,
    previous: Option<[u8; 32]>,
) -> Result<sessions::NewSession, OidcError> {
    let person = person(provider, claims)?;
    let (issuer, subject, email) = (provider.config.issuer.clone(), person.subject.clone(), person.email.clone());
    let found = state.store.read(move |tx| find(tx, &issuer, &subject, &email)).await?;
    let found = match found {
        Some(found) => found,
        None if provider.config.domain_allowed(person.email.as_str()) => Found::AllowedDomain,
        None => {
            let detail = "no account has this e-mail, nobody invited it, and its domain is not allowed";
            return Err(Refusal { email: Some(person.email.to_string()), ..Refusal::new(RefusalKind::NotInvited, detail) }.into());
        }
    };
    let password_hash = match &found {
        Found::Known(_) => String::new(),
        // accounts made by single sign-on get a password nobody knows (a reset link can set one)
        _ => state.passwords.hash(client.address.as_deref(), &secrets::generate()).await?,
    };
    let (client, provider_name, issuer) = (client.clone(), provider.config.name.clone(), provider.config.issuer.clone());
    state
        .store
        .write(move |tx| {
            let user = account(tx, found, &person, password_hash, &client)?;
            store::oidc::link(tx, &issuer, &person.subject, user.id)?;
            let user = apply_role(tx, user, person.role, &client)?;
            let secret = sessions::start(tx, &user, &client, previous)?;
            store::oidc::put_session(tx, &secrets::hash(&secret), &OidcSession { provider: provider_name.clone(), id_token })?;
            let ctx = Context::user(user.id, user.email.as_str(), client.clone());
            audit::record(tx, &ctx, AuditAction::SignIn, None, Some(format!("single sign-on with {provider_name}")))?;
            Ok(sessions::NewSession { secret, user })
        })
        .await
}

/// The subject, a verified e-mail, a display name and the claimed role.
fn person(provider: &Provider, claims: &Map<String, Value>) -> Result<Person, Refusal> {
    let text = |key: &str| claims.get(key).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    let subject = text("sub").ok_or_else(|| Refusal::new(RefusalKind::Token, "the ID token has no subject"))?.to_string();
    let email_text = text("email").ok_or_else(|| Refusal::new(RefusalKind::Unverified, "the provider gave no e-mail address"))?;
    let email =
        Email::parse(email_text).map_err(|_| Refusal::new(RefusalKind::Unverified, "the provider's e-mail address is not valid"))?;
    let verified = match claims.get("email_verified") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    };
    if !verified {
        let refusal = Refusal::new(RefusalKind::Unverified, "the provider has not verified this e-mail address");
        return Err(Refusal { email: Some(email.to_string()), ..refusal });
    }
    let name = text("name").or_else(|| text("preferred_username")).unwrap_or(email.as_str()).chars().take(80).collect();
    let role = provider.config.role_claim.as_ref().map(|claim| {
        let values: Vec<&str> = match claims.get(claim) {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if values.iter().any(|v| provider.config.admin_values.iter().any(|a| a == v)) { Role::Admin } else { Role::Member }
    });
    Ok(Person { subject, email, name, role })
}

/// The account the identity or e-mail names, or the invitation for the e-mail.
fn find(tx: &impl store::Tx, issuer: &str, subject: &str, email: &Email) -> Result<Option<Found>, OidcError> {
    if let Some(id) = store::oidc::linked_user(tx, issuer, subject)?
        && let Some(user) = store::users::get(tx, id)?
    {
        return Ok(Some(Found::Known(user)));
    }
    if let Some(user) = store::users::find_by_email(tx, email)? {
        return Ok(Some(Found::Known(user)));
    }
    Ok(store::links::invitation_for(tx, email, Timestamp::now())?.and_then(|(link, invitation)| match invitation.purpose {
        LinkPurpose::Invitation { role, .. } => Some(Found::Invited { link, role }),
        LinkPurpose::PasswordReset { .. } => None,
    }))
}

/// The account to sign in: the known one (unless disabled), or a new one made now.
fn account(
    tx: &redb::WriteTransaction,
    found: Found,
    person: &Person,
    password_hash: String,
    client: &ClientInfo,
) -> Result<User, OidcError> {
    let ctx = Context::anonymous(Some(person.email.to_string()), client.clone());
    let new = |role| accounts::NewUser { email: person.email.clone(), name: person.name.clone(), role, password_hash };
    match found {
        Found::Known(user) if user.disabled => {
            Err(Refusal { email: Some(user.email.to_string()), ..Refusal::new(RefusalKind::Disabled, "the account is disabled") }.into())
        }
        Found::Known(user) => Ok(user),
        Found::Invited { link, role } => {
            if store::links::get(tx, &link)?.is_none() {
                return Err(Refusal::new(RefusalKind::NotInvited, "the invitation was used meanwhile").into());
            }
            store::links::remove(tx, &link)?;
            let user = accounts::insert(tx, &ctx, new(role))?;
            audit::record(tx, &ctx, AuditAction::InvitationAccepted, Some(user.email.to_string()), Some("single sign-on".into()))?;
            Ok(user)
        }
        Found::AllowedDomain => Ok(accounts::insert(tx, &ctx, new(person.role.unwrap_or(Role::Member)))?),
    }
}

/// Promotes or demotes per the role claim (never the last enabled admin).
fn apply_role(tx: &redb::WriteTransaction, mut user: User, role: Option<Role>, client: &ClientInfo) -> Result<User, OidcError> {
    let Some(role) = role.filter(|r| *r != user.role) else { return Ok(user) };
    if user.role == Role::Admin && accounts::ensure_another_admin(tx, user.id).is_err() {
        return Ok(user);
    }
    let detail = format!("from {} to {} (provider claim)", user.role, role);
    user.role = role;
    store::users::put(tx, &user)?;
    let ctx = Context::user(user.id, user.email.as_str(), client.clone());
    audit::record(tx, &ctx, AuditAction::RoleChanged, Some(user.email.to_string()), Some(detail))?;
    Ok(user)
}
