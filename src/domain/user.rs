//! People: accounts, roles and the rules for emails, names and passwords.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ids::{AssetId, UserId};
use super::time::Timestamp;

/// What a person may do: admins manage the instance, members use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Admin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Role {
    type Err = InvalidInput;
    fn from_str(s: &str) -> Result<Self, InvalidInput> {
        match s.trim().to_ascii_lowercase().as_str() {
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            _ => Err(InvalidInput("role must be \"admin\" or \"member\"")),
        }
    }
}

/// A rule that a piece of user input broke, in words for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidInput(pub &'static str);

/// The longest email address accepted, in bytes (RFC 5321: 254 octets), wherever one is taken.
pub const MAX_EMAIL_LEN: usize = 254;

/// The email someone typed to sign in, trimmed and lower-cased, cut to [`MAX_EMAIL_LEN`]
/// bytes with a trailing `…` when longer: bounded, so it is safe as a throttling key and in
/// the audit log. Cut text is no account's email (those are parsed with [`Email::parse`]).
pub fn claimed_email(input: &str) -> String {
    let trimmed = input.trim();
    let head = cut_to(trimmed, MAX_EMAIL_LEN * 4);
    let lowered = head.to_lowercase();
    if trimmed.len() <= MAX_EMAIL_LEN && lowered.len() <= MAX_EMAIL_LEN {
        return lowered;
    }
    let mut out = cut_to(&lowered, MAX_EMAIL_LEN - '…'.len_utf8()).to_string();
    out.push('…');
    out
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn cut_to(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// An email address, trimmed and lower-cased: the sign-in name of an account.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, InvalidInput> {
        let bad = InvalidInput("enter a valid email address, like name@example.com");
        if input.trim().len() > MAX_EMAIL_LEN * 4 {
            return Err(bad);
        }
        let email = input.trim().to_lowercase();
        if email.len() > MAX_EMAIL_LEN || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad);
        }
        match email.split_once('@') {
            Some((local, domain))
                if !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.') =>
            {
                Ok(Self(email))
            }
            _ => Err(bad),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

/// A display name: optional, at most 100 characters, no control characters.
pub fn parse_display_name(input: &str) -> Result<String, InvalidInput> {
    let name = input.trim();
    if name.chars().count() > 100 {
        return Err(InvalidInput("the name is longer than 100 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(InvalidInput("the name contains control characters"));
    }
    Ok(name.to_string())
}

/// The longest bio accepted, in characters.
pub const MAX_BIO_CHARS: usize = 500;

/// A bio: optional, at most 500 characters; line breaks allowed, other control characters not.
pub fn parse_bio(input: &str) -> Result<String, InvalidInput> {
    let bio = input.trim().replace("\r\n", "\n");
    if bio.chars().count() > MAX_BIO_CHARS {
        return Err(InvalidInput("the bio is longer than 500 characters"));
    }
    if bio.chars().any(|c| c.is_control() && c != '\n') {
        return Err(InvalidInput("the bio contains control characters"));
    }
    Ok(bio)
}

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// The longest password accepted (bounds the hashing work one request can cause).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Checks a new password against the rules; returns it unchanged when it passes.
pub fn check_new_password(password: &str) -> Result<&str, InvalidInput> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(InvalidInput("the password must be at least 10 characters long"));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(InvalidInput("the password is longer than 1024 bytes"));
    }
    Ok(password)
}

/// An account as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    /// Argon2id PHC string.
    pub password_hash: String,
    pub created_at: Timestamp,
    pub password_changed_at: Timestamp,
    /// A few words about the person, shown to teammates.
    pub bio: String,
    /// The profile picture (an image asset, cleaned like every upload).
    pub avatar: Option<AssetId>,
    /// Restricted by an admin: no processing, data kept.
    pub frozen: bool,
    /// The person forbids sending their content to providers that may train on API inputs.
    pub forbid_training: bool,
    /// An admin's legal hold: retention deletes nothing of this person's.
    pub legal_hold: bool,
}

impl User {
    /// A new, enabled account with no bio, picture, freeze or hold, created now.
    pub fn new(email: Email, name: String, role: Role, password_hash: String) -> User {
        let now = Timestamp::now();
        User {
            id: UserId::generate(),
            email,
            name,
            role,
            disabled: false,
            password_hash,
            created_at: now,
            password_changed_at: now,
            bio: String::new(),
            avatar: None,
            frozen: false,
            forbid_training: false,
            legal_hold: false,
        }
    }

    /// The name to show: the display name, or the email when there is none.
    pub fn label(&self) -> &str {
        if self.name.is_empty() { self.email.as_str() } else { &self.name }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claimed_emails_are_bounded() {
        assert_eq!(claimed_email("  Bob@Example.COM "), "bob@example.com");
        let long = format!("{}@example.com", "é".repeat(5000));
        let claimed = claimed_email(&long);
        assert!(claimed.len() <= MAX_EMAIL_LEN && claimed.ends_with('…'), "{}", claimed.len());
        assert!(Email::parse(&long).is_err());
        let exact = format!("{}@example.com", "a".repeat(MAX_EMAIL_LEN - 12));
        assert_eq!(claimed_email(&exact), exact);
        assert!(Email::parse(&exact).is_ok());
        assert!(Email::parse(&format!("a{exact}")).is_err());
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(Email::parse("  Alice@Example.COM ").unwrap().as_str(), "alice@example.com");
        for bad in ["", "alice", "@example.com", "alice@", "a@b@c", "a b@example.com", "a@.com"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn roles_parse_from_words() {
        assert_eq!("Admin".parse::<Role>(), Ok(Role::Admin));
        assert_eq!("member".parse::<Role>(), Ok(Role::Member));
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("long enough password").is_ok());
    }
}
