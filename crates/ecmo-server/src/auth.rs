//! Passwords (argon2id), session cookies, the session extractor and the audit helper.

use crate::error::ApiError;
use crate::state::AppState;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use ecmo_store::accounts::{Account, Role};
use ecmo_store::audit::{AuditRecord, hex};
use sha2::{Digest, Sha256};
use std::net::SocketAddr;

pub const COOKIE: &str = "ecmo_session";

/// Shortest password accepted (NIST SP 800-63B: at least 8).
pub const MIN_PASSWORD: usize = 10;

pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Hash a password for storage (argon2id, random salt, PHC string).
pub fn hash_password(password: &str) -> Result<String, String> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(format!("a password needs at least {MIN_PASSWORD} characters"));
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| format!("no system randomness: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| e.to_string())
}

pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A fresh session token (256 random bits, hex) and the SHA-256 the store keeps.
pub fn new_token() -> Result<(String, String), ApiError> {
    let mut t = [0u8; 32];
    getrandom::fill(&mut t).map_err(ApiError::internal)?;
    let token = hex(&t);
    let hashed = token_hash(&token);
    Ok((token, hashed))
}

pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

pub fn session_cookie(state: &AppState, token: &str) -> String {
    let secure = if state.secure_cookie { "; Secure" } else { "" };
    format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}", state.session_seconds)
}

pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

/// The client address as seen by this server (a proxy's address when behind one).
pub fn client_addr(parts: &Parts) -> String {
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string()).unwrap_or_else(|| "unknown".into())
}

/// A logged-in account with the request's origin.
#[derive(Debug, Clone)]
pub struct Session {
    pub account: Account,
    pub from: String,
    pub token_hash: String,
}

/// Why a request has no usable session: JSON 401 for the API, a redirect to
/// the login page for pages.
pub struct NoSession {
    api: bool,
    error: Option<ApiError>,
}

impl IntoResponse for NoSession {
    fn into_response(self) -> Response {
        match (self.error, self.api) {
            (Some(e), _) => e.into_response(),
            (None, true) => ApiError::unauthenticated().into_response(),
            (None, false) => Redirect::to("/login").into_response(),
        }
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = NoSession;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, NoSession> {
        let api = parts.uri.path().starts_with("/api/");
        let Some(token) = cookie_token(&parts.headers) else {
            return Err(NoSession { api, error: None });
        };
        let hashed = token_hash(&token);
        let from = client_addr(parts);
        let h = hashed.clone();
        let account = state
            .db(move |s| Ok(s.session_account(&h, now())?))
            .await
            .map_err(|e| NoSession { api, error: Some(e) })?;
        match account {
            Some(account) => Ok(Session { account, from, token_hash: hashed }),
            None => Err(NoSession { api, error: None }),
        }
    }
}

impl Session {
    pub fn role(&self) -> Role {
        self.account.role
    }

    /// Refuse unless the account has one of `roles`; the refusal is audited.
    pub async fn require(&self, state: &AppState, roles: &[Role], what: &str) -> Result<(), ApiError> {
        if roles.contains(&self.role()) {
            return Ok(());
        }
        let e = ApiError::forbidden(what, self.role().code());
        self.audit(state, "read", what, None, &format!("refused: {}", e.reason())).await?;
        Err(e)
    }

    /// Append an audit entry for this account.
    pub async fn audit(
        &self,
        state: &AppState,
        action: &str,
        what: &str,
        patient_id: Option<&str>,
        outcome: &str,
    ) -> Result<(), ApiError> {
        audit(state, self.audit_record(action, what, patient_id, outcome)).await
    }

    /// An audit record of this account's action, now, for writing together with a change
    /// (`Store::import_audited`) or on its own.
    pub fn audit_record(&self, action: &str, what: &str, patient_id: Option<&str>, outcome: &str) -> AuditRecord {
        AuditRecord {
            at: now(),
            who: self.account.name.clone(),
            role: self.role().code().into(),
            action: action.into(),
            what: what.into(),
            patient_id: patient_id.map(str::to_string),
            outcome: outcome.into(),
            from: self.from.clone(),
        }
    }
}

pub async fn audit(state: &AppState, rec: AuditRecord) -> Result<(), ApiError> {
    state.db(move |s| Ok(s.append_audit(&rec).map(|_| ())?)).await
}

/// Check a name and password; on success create a session. Every attempt is audited.
pub async fn login(state: &AppState, name: &str, password: &str, from: &str) -> Result<(Account, String), ApiError> {
    let n = name.to_string();
    let account = state.db(move |s| Ok(s.account_by_name(&n)?)).await?;
    let pw = password.to_string();
    // Verify on a blocking thread: argon2 takes tens of milliseconds by design.
    let ok = match &account {
        Some(a) if !a.disabled => {
            let stored = a.password_hash.clone();
            tokio::task::spawn_blocking(move || verify_password(&pw, &stored)).await.map_err(ApiError::internal)?
        }
        _ => false,
    };
    let mut rec = AuditRecord {
        at: now(),
        who: name.to_string(),
        role: account.as_ref().map(|a| a.role.code().to_string()).unwrap_or_default(),
        action: "login".into(),
        what: "session".into(),
        patient_id: None,
        outcome: "success".into(),
        from: from.to_string(),
    };
    let Some(account) = account.filter(|_| ok) else {
        rec.outcome = "refused: wrong name or password".into();
        audit(state, rec).await?;
        // One message for an unknown name and a wrong password: no account enumeration.
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, Some("password"), None, "wrong name or password"));
    };
    let (token, hashed) = new_token()?;
    let (id, t, ttl) = (account.id, now(), state.session_seconds);
    state.db(move |s| Ok(s.create_session(&hashed, id, t, t + ttl)?)).await?;
    audit(state, rec).await?;
    Ok((account, token))
}

pub async fn logout(state: &AppState, session: &Session) -> Result<(), ApiError> {
    let h = session.token_hash.clone();
    state.db(move |s| Ok(s.delete_session(&h)?)).await?;
    session.audit(state, "logout", "session", None, "success").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterY", &h));
        assert!(!verify_password("x", "not a hash"));
        assert!(hash_password("short").is_err());
    }

    #[test]
    fn cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=1; ecmo_session=abc; b=2".parse().unwrap());
        assert_eq!(cookie_token(&h).as_deref(), Some("abc"));
    }
}
