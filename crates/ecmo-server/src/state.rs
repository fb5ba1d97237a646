//! Shared state: a small pool of store connections, the pseudonymisation key and
//! the patient-list cache.

use crate::error::ApiError;
use crate::views::ListRow;
use ecmo_store::accounts::Accounts;
use ecmo_store::audit::AuditLog;
use ecmo_store::csv_format::KnownRuns;
use ecmo_store::sqlite::SqliteStore;
use ecmo_store::{Store, StoreError};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

/// What the application needs of a registry: the records, accounts and the audit log.
/// SQLite and PostgreSQL both provide it (`--db PATH` or `--db postgres://...`).
pub trait WebStore: Store + Accounts + AuditLog + KnownRuns + Send {}

impl<T: Store + Accounts + AuditLog + KnownRuns + Send> WebStore for T {}

/// Open a registry by its `--db` spec: a SQLite file or a PostgreSQL URL.
pub fn open_web_store(spec: &str) -> Result<Box<dyn WebStore>, StoreError> {
    if ecmo_store::is_postgres_url(spec) {
        Ok(Box::new(ecmo_store::postgres::PgStore::open(spec)?))
    } else {
        Ok(Box::new(SqliteStore::open(Path::new(spec))?))
    }
}

/// Connections are opened on demand and kept for reuse (opening one checks the schema).
pub struct Pool {
    spec: String,
    idle: Mutex<Vec<Box<dyn WebStore>>>,
}

impl Pool {
    pub fn new(spec: &str) -> Result<Self, StoreError> {
        let first = open_web_store(spec)?;
        Ok(Pool { spec: spec.to_string(), idle: Mutex::new(vec![first]) })
    }

    pub fn get(&self) -> Result<Pooled<'_>, StoreError> {
        let reused = self.idle.lock().ok().and_then(|mut v| v.pop());
        let store = match reused {
            Some(s) => s,
            None => open_web_store(&self.spec)?,
        };
        Ok(Pooled { pool: self, store: Some(store) })
    }
}

pub struct Pooled<'a> {
    pool: &'a Pool,
    store: Option<Box<dyn WebStore>>,
}

impl std::ops::Deref for Pooled<'_> {
    type Target = dyn WebStore;
    fn deref(&self) -> &(dyn WebStore + 'static) {
        self.store.as_deref().expect("present until drop")
    }
}

impl std::ops::DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut (dyn WebStore + 'static) {
        self.store.as_deref_mut().expect("present until drop")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let (Some(s), Ok(mut idle)) = (self.store.take(), self.pool.idle.lock())
            && idle.len() < 8
        {
            idle.push(s);
        }
    }
}

/// The patient list, computed once and updated run by run after each entry.
#[derive(Default)]
pub struct ListCache {
    pub rows: Vec<ListRow>,
    /// pseudonym -> index in `rows`, for the research view.
    pub by_pseudonym: HashMap<String, usize>,
    /// run id -> index in `rows`.
    pub by_run: HashMap<String, usize>,
    pub ready: bool,
    /// Runs processed so far while building.
    pub progress: usize,
    pub total: usize,
    pub failure: Option<String>,
}

pub struct Inner {
    pub pool: Pool,
    /// What the bedside assessment uses: the published tree, the shipped readiness
    /// thresholds and the centre's prediction models (`ecmo serve --models DIR`).
    pub assess: ecmo_bedside::assess::AssessConfig,
    /// Studies run from the browser.
    pub jobs: Mutex<Vec<crate::studies::Job>>,
    pub pseudonym_key: [u8; 32],
    pub list: RwLock<ListCache>,
    /// Session lifetime in seconds.
    pub session_seconds: i64,
    /// Set `Secure` on the session cookie (behind TLS).
    pub secure_cookie: bool,
}

#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

const PSEUDONYM_KEY: &str = "pseudonym_key";

impl AppState {
    /// Open the registry (a SQLite path or a PostgreSQL URL) and load (or create, on first
    /// start) the pseudonymisation key.
    pub fn open(db: &str) -> Result<Self, StoreError> {
        Self::open_with(db, ecmo_bedside::assess::AssessConfig::default())
    }

    /// As [`AppState::open`], assessing with `assess` (models, rules, thresholds).
    pub fn open_with(db: &str, assess: ecmo_bedside::assess::AssessConfig) -> Result<Self, StoreError> {
        let pool = Pool::new(db)?;
        let key = {
            let mut s = pool.get()?;
            match s.setting(PSEUDONYM_KEY)?.and_then(|h| parse_key(&h)) {
                Some(k) => k,
                None => {
                    let mut k = [0u8; 32];
                    getrandom::fill(&mut k).map_err(|e| StoreError::Corrupt(format!("no system randomness: {e}")))?;
                    s.set_setting(PSEUDONYM_KEY, &ecmo_store::audit::hex(&k))?;
                    k
                }
            }
        };
        Ok(AppState(Arc::new(Inner {
            pool,
            assess,
            jobs: Mutex::new(Vec::new()),
            pseudonym_key: key,
            list: RwLock::new(ListCache::default()),
            session_seconds: 12 * 3600,
            secure_cookie: false,
        })))
    }

    /// Run blocking store work off the async workers.
    pub async fn db<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn WebStore) -> Result<T, ApiError> + Send + 'static,
    {
        let state = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut s = state.pool.get()?;
            f(&mut *s)
        })
        .await
        .map_err(ApiError::internal)?
    }
}

fn parse_key(hex: &str) -> Option<[u8; 32]> {
    let mut k = [0u8; 32];
    if hex.len() != 64 {
        return None;
    }
    for (i, b) in k.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(k)
}
