//! User accounts, sessions and server settings of the web application.
//!
//! Kept apart from [`crate::Store`] so that a backend can offer the registry
//! without the web application. Passwords arrive already hashed (argon2, in
//! the server crate) and session tokens arrive as their SHA-256: the store
//! never sees a secret a leaked database copy could replay.

use crate::StoreError;
use crate::audit::{AuditEntry, AuditRecord};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// What an account may see and do (docs/security.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Patients of the centre, identified; records values at the bedside.
    Clinician,
    /// Pseudonymised data, studies and models; never names, ids or dates.
    Researcher,
    /// Accounts, settings and the audit log; no patient data.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Clinician, Role::Researcher, Role::Admin];

    pub fn code(self) -> &'static str {
        match self {
            Role::Clinician => "clinician",
            Role::Researcher => "researcher",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.code() == s)
            .ok_or_else(|| format!("'{s}' is not a role; expected clinician, researcher or admin"))
    }
}

/// One account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Account {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// PHC string (argon2id); never serialised.
    #[serde(skip)]
    pub password_hash: String,
    pub disabled: bool,
    /// Seconds since 1970-01-01 UTC.
    pub created_at: i64,
}

/// Accounts, sessions and settings.
pub trait Accounts {
    /// Create an account; `Err(StoreError::Duplicate)` when the name is taken.
    fn add_account(&mut self, name: &str, role: Role, password_hash: &str, now: i64) -> Result<Account, StoreError>;
    fn account_by_name(&self, name: &str) -> Result<Option<Account>, StoreError>;
    /// Every account, by name.
    fn accounts(&self) -> Result<Vec<Account>, StoreError>;
    /// Enable or disable an account (and end its sessions); false when there is no such account.
    fn set_account_disabled(&mut self, name: &str, disabled: bool) -> Result<bool, StoreError>;
    /// Replace an account's password hash; false when there is no such account.
    fn set_password_hash(&mut self, name: &str, password_hash: &str) -> Result<bool, StoreError>;

    /// [`Accounts::add_account`] and its audit entry in one transaction: both or neither.
    fn add_account_audited(
        &mut self,
        name: &str,
        role: Role,
        password_hash: &str,
        now: i64,
        audit: &AuditRecord,
    ) -> Result<(Account, AuditEntry), StoreError>;
    /// [`Accounts::set_account_disabled`] and its audit entry in one transaction; `None` (and
    /// nothing written) when there is no such account.
    fn set_account_disabled_audited(
        &mut self,
        name: &str,
        disabled: bool,
        audit: &AuditRecord,
    ) -> Result<Option<AuditEntry>, StoreError>;

    /// Record a session under the SHA-256 of its token.
    fn create_session(&mut self, token_hash: &str, account_id: i64, now: i64, expires: i64) -> Result<(), StoreError>;
    /// The enabled account owning an unexpired session.
    fn session_account(&self, token_hash: &str, now: i64) -> Result<Option<Account>, StoreError>;
    fn delete_session(&mut self, token_hash: &str) -> Result<(), StoreError>;

    fn setting(&self, key: &str) -> Result<Option<String>, StoreError>;
    fn set_setting(&mut self, key: &str, value: &str) -> Result<(), StoreError>;
}
