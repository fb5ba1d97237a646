//! The registry store and the registry CSV format.
//!
//! [`Store`] is the interface the rest of the system uses; [`sqlite::SqliteStore`]
//! is the embedded default. A PostgreSQL backend implements the same trait
//! (issue 8) without touching the domain or the analyses.

pub mod accounts;
pub mod audit;
pub mod csv_format;
pub mod csv_write;
pub mod decisions;
pub mod postgres;
pub mod sqlite;
pub mod stream;
pub mod testing;
pub mod transfer;

use csv_format::{Batch, RowError};
use ecmo_domain::{RunRecord, Timestamp};
use serde::Serialize;

/// Store-level failure (not a problem with the data being imported).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database error: {}", postgres_message(.0))]
    Postgres(#[from] ::postgres::Error),
    #[error("cannot connect to {target}: {}", postgres_message(.source))]
    Connect { target: String, source: ::postgres::Error },
    #[error("{0}")]
    Config(String),
    #[error(
        "the database {path} was written by a newer version of ecmo (schema {found}, this program knows up to {known})"
    )]
    SchemaTooNew { path: String, found: i64, known: i64 },
    #[error("corrupt record in the database: {0}")]
    Corrupt(String),
    #[error("no run with id '{0}' in the registry")]
    NoSuchRun(String),
    #[error("{0} already exists")]
    Duplicate(String),
}

/// What to do with rows that conflict with what the store already holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictPolicy {
    /// Any conflict aborts the whole import; nothing is written.
    RejectAll,
    /// Conflicting rows are left out (and reported); the rest is written.
    SkipConflicting,
}

/// Counts per record kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub patients: u64,
    pub runs: u64,
    pub observations: u64,
    pub infusions: u64,
    pub supports: u64,
    pub events: u64,
}

impl Counts {
    pub fn total(&self) -> u64 {
        self.patients + self.runs + self.observations + self.infusions + self.supports + self.events
    }
}

/// The result of an import.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// New records written.
    pub inserted: Counts,
    /// Records already in the store with the same values (re-import).
    pub unchanged: Counts,
    /// Rows that record an item already in the store with other values.
    pub conflicts: Vec<RowError>,
    /// True when the transaction was committed.
    pub committed: bool,
}

/// Key facts of one run, for listings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    pub run_id: String,
    pub patient_id: String,
    pub sex: String,
    pub age_years: Option<f64>,
    pub mode: String,
    pub etiology: String,
    pub arrest: String,
    pub ecpr: bool,
    pub flow_start: Timestamp,
    pub decannulation: Option<Timestamp>,
    /// Hours from flow start to decannulation (or to the last record while on ECMO).
    pub hours_on_ecmo: Option<f64>,
    /// Plain-language status: on ECMO, decannulated, died on ECMO, bridged to VAD, ...
    pub status: String,
    pub records: u64,
    pub cohort: Option<String>,
}

/// The full message of a PostgreSQL error (its Display alone says only "db error").
fn postgres_message(e: &::postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({})", db.message(), detail),
            None => db.message().to_string(),
        },
        None => {
            let mut s = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(c) = src {
                s.push_str(&format!(": {c}"));
                src = c.source();
            }
            s
        }
    }
}

/// Open the registry a `--db` spec names: a `postgres://` or `postgresql://` URL is a
/// PostgreSQL registry (see docs/postgres.md), anything else a SQLite file path.
pub fn open_store(spec: &str) -> Result<Box<dyn Store + Send>, StoreError> {
    let registry: Box<dyn Store + Send> = open_registry(spec)?;
    Ok(registry)
}

/// Everything a multi-user application (the web server) needs from one registry connection:
/// the records, accounts and sessions, the audit log and the bedside decision log.
pub trait Registry: Store + accounts::Accounts + audit::AuditLog + decisions::DecisionLog + Send {}

impl<T: Store + accounts::Accounts + audit::AuditLog + decisions::DecisionLog + Send> Registry for T {}

/// Open a registry with every facet, SQLite or PostgreSQL by the spec (as [`open_store`]).
pub fn open_registry(spec: &str) -> Result<Box<dyn Registry>, StoreError> {
    if is_postgres_url(spec) {
        Ok(Box::new(postgres::PgStore::open(spec)?))
    } else {
        Ok(Box::new(sqlite::SqliteStore::open(std::path::Path::new(spec))?))
    }
}

/// Whether a `--db` spec names a PostgreSQL registry.
pub fn is_postgres_url(spec: &str) -> bool {
    spec.starts_with("postgres://") || spec.starts_with("postgresql://")
}

/// The registry store. It also answers the CSV reader's questions about runs it holds.
pub trait Store: csv_format::KnownRuns {
    /// Backend name for messages (`sqlite`, `postgresql`).
    fn backend(&self) -> &'static str;

    /// Write a validated batch in one transaction.
    fn import(&mut self, batch: &Batch, policy: ConflictPolicy) -> Result<ImportReport, StoreError>;

    /// Write a validated batch and its audit entry in one transaction: both are stored or
    /// neither is, so no record is ever written without its entry in the audit log (and no
    /// "success" is logged for a write that did not happen). `audit` is given the import's
    /// report and returns the record to append; a batch refused for conflicts under
    /// [`ConflictPolicy::RejectAll`] is rolled back and only its (refusal) entry is committed.
    /// The entry is chained under the same serialisation as [`audit::AuditLog::append_audit`].
    fn import_audited(
        &mut self,
        batch: &Batch,
        policy: ConflictPolicy,
        audit: &dyn Fn(&ImportReport) -> audit::AuditRecord,
    ) -> Result<(ImportReport, audit::AuditEntry), StoreError>;

    /// Every run's key facts, ordered by flow start.
    fn run_summaries(&self) -> Result<Vec<RunSummary>, StoreError>;

    /// One run with everything recorded for it.
    fn load_run(&self, run_id: &str) -> Result<RunRecord, StoreError>;

    /// Visit every run, one at a time (memory bounded by the largest run).
    fn for_each_run(&self, f: &mut dyn FnMut(RunRecord) -> Result<(), StoreError>) -> Result<(), StoreError>;

    /// How many records of each kind the store holds.
    fn counts(&self) -> Result<Counts, StoreError>;
}

/// The outcome of importing a registry directory.
#[derive(Debug, Serialize)]
pub struct DirImport {
    /// Files read, in order.
    pub files: Vec<String>,
    /// Whether the manifest marks the data as synthetic.
    pub synthetic: bool,
    /// Rows refused while reading (bad values, units, columns, references).
    pub invalid: Vec<RowError>,
    /// Rows refused by the store (conflicting with what it holds).
    pub conflicts: Vec<RowError>,
    /// Values accepted but unusual, to be confirmed.
    pub warnings: Vec<RowError>,
    /// Exact repeats of an earlier row of the same file, skipped.
    pub repeated_rows: u64,
    pub inserted: Counts,
    pub unchanged: Counts,
    /// True when anything was committed.
    pub committed: bool,
}

impl DirImport {
    /// Every refused row, for the rejects file.
    pub fn rejects(&self) -> impl Iterator<Item = &RowError> {
        self.invalid.iter().chain(self.conflicts.iter())
    }
}

/// Read, validate and import a registry directory.
///
/// With `skip_invalid == false` the import is all-or-nothing: any invalid row
/// or conflict means nothing is written. With `skip_invalid == true` the valid
/// rows are written and the others are returned for a rejects file.
pub fn import_dir(
    store: &mut dyn Store,
    dir: &std::path::Path,
    skip_invalid: bool,
) -> Result<DirImport, ImportDirError> {
    let read = csv_format::read_dir(dir, store)?;
    let mut out = DirImport {
        files: read.files_read,
        synthetic: read.manifest.as_ref().is_some_and(|m| m.synthetic),
        invalid: read.errors,
        conflicts: Vec::new(),
        warnings: read.batch.warnings.clone(),
        repeated_rows: read.batch.repeated_rows,
        inserted: Counts::default(),
        unchanged: Counts::default(),
        committed: false,
    };
    if !out.invalid.is_empty() && !skip_invalid {
        return Ok(out);
    }
    let policy = if skip_invalid { ConflictPolicy::SkipConflicting } else { ConflictPolicy::RejectAll };
    let report = store.import(&read.batch, policy)?;
    out.conflicts = report.conflicts;
    out.inserted = report.inserted;
    out.unchanged = report.unchanged;
    out.committed = report.committed;
    Ok(out)
}

#[derive(Debug, thiserror::Error)]
pub enum ImportDirError {
    #[error(transparent)]
    Read(#[from] csv_format::ReadError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Write refused rows as CSV: file, line, column, value, reason, record.
pub fn write_rejects<'a>(path: &std::path::Path, rejects: impl Iterator<Item = &'a RowError>) -> std::io::Result<u64> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record(["file", "line", "column", "value", "reason", "record"])?;
    let mut n = 0;
    for r in rejects {
        w.write_record([
            r.file.as_str(),
            &r.line.to_string(),
            r.column.as_deref().unwrap_or(""),
            r.value.as_deref().unwrap_or(""),
            r.reason.as_str(),
            r.record.as_deref().unwrap_or(""),
        ])?;
        n += 1;
    }
    w.flush()?;
    Ok(n)
}
