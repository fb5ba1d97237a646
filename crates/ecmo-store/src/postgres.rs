//! The PostgreSQL store: the same schema, migrations, transactions and conflict rules as
//! [`crate::sqlite`], for a registry shared by many users or centres.
//!
//! Selected by a URL, `postgres://user@host:port/db`; an extra `schema=NAME` query
//! parameter keeps a registry in its own schema (created if missing), which the tests
//! use to run in parallel on one server. TLS is not offered: connect over loopback, a
//! Unix socket or an SSH tunnel.
//!
//! An import is one `REPEATABLE READ`-free, READ COMMITTED transaction: the records of each
//! kind are sent with one `COPY` into a temporary table and inserted with one
//! `INSERT … SELECT … ON CONFLICT DO NOTHING`, then rows whose key already existed are
//! compared with what is stored. The report (counts, conflicts, their order and wording)
//! is the SQLite store's, which a test checks on the same batches.

use crate::audit::{AuditEntry, AuditRecord};
use crate::csv_format::{Batch, KnownRuns, Located, RowError};
use crate::sqlite::{RUN_SUMMARY_SQL, SummaryRow, conflict, parse_code, same, same_opt};
use crate::{ConflictPolicy, Counts, ImportReport, RunSummary, Store, StoreError};
use ecmo_domain::drugs::{Concentration, ConcentrationUnit};
use ecmo_domain::{
    ArrestContext, ChronicConditions, Drug, Event, EventKind, InfusionChange, Observation, Patient, Quantity, Run,
    RunRecord, Salt, SupportKind, SupportPeriod, Timestamp, Unit,
};
use postgres::{Client, GenericClient, NoTls, Row, Transaction};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::{Mutex, MutexGuard};

mod decisions;
mod web;

/// Schema migrations in the PostgreSQL dialect. The versions are those of
/// `sqlite::MIGRATIONS`, one for one, so that `schema_migrations` means the same on both.
pub(crate) const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        r#"
CREATE TABLE patients (
    id TEXT PRIMARY KEY,
    sex TEXT NOT NULL,
    age_years DOUBLE PRECISION,
    birth_year INTEGER,
    weight_kg DOUBLE PRECISION NOT NULL CHECK (weight_kg BETWEEN 20 AND 350),
    height_cm DOUBLE PRECISION,
    liver_cirrhosis BOOLEAN,
    heart_failure_nyha_iv BOOLEAN,
    severe_respiratory BOOLEAN,
    chronic_dialysis BOOLEAN,
    immunocompromised BOOLEAN,
    chronic_renal_failure BOOLEAN
);
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    mode TEXT NOT NULL,
    etiology TEXT NOT NULL,
    admission_type TEXT NOT NULL,
    icu_admission BIGINT,
    flow_start BIGINT NOT NULL,
    decannulation BIGINT CHECK (decannulation IS NULL OR decannulation >= flow_start),
    arrest TEXT NOT NULL,
    ecpr BOOLEAN NOT NULL,
    collapse_time BIGINT,
    cpr_start_time BIGINT,
    emergency_call_time BIGINT,
    hospital_arrival_time BIGINT,
    rosc_time BIGINT,
    no_flow_min DOUBLE PRECISION,
    low_flow_min DOUBLE PRECISION,
    first_rhythm TEXT NOT NULL,
    arrival_rhythm TEXT NOT NULL,
    ventilation_hours_before DOUBLE PRECISION,
    cohort TEXT
);
CREATE INDEX runs_patient ON runs(patient_id);
CREATE TABLE observations (
    run_id TEXT NOT NULL REFERENCES runs(id),
    quantity TEXT NOT NULL,
    time BIGINT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    entered_value DOUBLE PRECISION NOT NULL,
    entered_unit TEXT NOT NULL,
    start BIGINT,
    source TEXT,
    PRIMARY KEY (run_id, quantity, time)
);
CREATE TABLE infusions (
    run_id TEXT NOT NULL REFERENCES runs(id),
    drug TEXT NOT NULL,
    time BIGINT NOT NULL,
    rate DOUBLE PRECISION NOT NULL CHECK (rate >= 0),
    entered_rate DOUBLE PRECISION NOT NULL,
    entered_unit TEXT NOT NULL,
    salt TEXT NOT NULL,
    concentration DOUBLE PRECISION,
    concentration_unit TEXT,
    weight_kg DOUBLE PRECISION NOT NULL,
    source TEXT,
    PRIMARY KEY (run_id, drug, time)
);
CREATE TABLE supports (
    run_id TEXT NOT NULL REFERENCES runs(id),
    kind TEXT NOT NULL,
    start BIGINT NOT NULL,
    stop BIGINT CHECK (stop IS NULL OR stop >= start),
    source TEXT,
    PRIMARY KEY (run_id, kind, start)
);
CREATE TABLE events (
    run_id TEXT NOT NULL REFERENCES runs(id),
    kind TEXT NOT NULL,
    time BIGINT NOT NULL,
    value DOUBLE PRECISION,
    detail TEXT,
    source TEXT,
    PRIMARY KEY (run_id, kind, time)
);
CREATE TABLE imports (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at TEXT NOT NULL DEFAULT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS'),
    source TEXT NOT NULL,
    synthetic BOOLEAN NOT NULL,
    inserted BIGINT NOT NULL,
    unchanged BIGINT NOT NULL
);
"#,
    ),
    (2, web::MIGRATION_2),
    (3, decisions::MIGRATION_3),
];

/// The PostgreSQL registry. One connection, behind a mutex so that the store can be
/// shared between threads like the SQLite one; open one store per worker for parallelism.
pub struct PgStore {
    client: Mutex<Client>,
    label: String,
}

/// A connection spec split into what the driver understands and our `schema` parameter.
fn split_spec(spec: &str) -> Result<(String, Option<String>), StoreError> {
    let Some((base, query)) = spec.split_once('?') else { return Ok((spec.to_string(), None)) };
    let mut schema = None;
    let mut rest = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("schema", name)) => {
                if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                    return Err(StoreError::Config(format!(
                        "schema name '{name}' must be letters, digits and underscores"
                    )));
                }
                schema = Some(name.to_ascii_lowercase());
            }
            _ => rest.push(pair),
        }
    }
    let url = if rest.is_empty() { base.to_string() } else { format!("{base}?{}", rest.join("&")) };
    Ok((url, schema))
}

/// The URL without its password, for messages.
pub fn redact(spec: &str) -> String {
    match (spec.find("://"), spec.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &spec[s + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &spec[..s + 3], user, &spec[at..]),
                None => spec.to_string(),
            }
        }
        _ => spec.to_string(),
    }
}

impl PgStore {
    /// Connect to `postgres://…[?schema=NAME]` and bring the schema up to date.
    pub fn open(spec: &str) -> Result<Self, StoreError> {
        let (url, schema) = split_spec(spec)?;
        let label = redact(spec);
        let mut client =
            Client::connect(&url, NoTls).map_err(|e| StoreError::Connect { target: label.clone(), source: e })?;
        if let Some(schema) = &schema {
            // Concurrent first opens of one schema would race on CREATE SCHEMA.
            let mut tx = client.transaction()?;
            tx.execute("SELECT pg_advisory_xact_lock(hashtext($1))", &[schema])?;
            tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))?;
            tx.commit()?;
            client.batch_execute(&format!("SET search_path TO \"{schema}\""))?;
        }
        migrate(&mut client, &label)?;
        Ok(PgStore { client: Mutex::new(client), label })
    }

    fn client(&self) -> MutexGuard<'_, Client> {
        // A panic while holding the lock leaves the connection usable (no open
        // transaction survives a dropped `Transaction`), so poisoning is not fatal.
        self.client.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The connection URL without its password.
    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self.client().query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[])?.get(0))
    }

    /// Whether the registry holds any data marked synthetic.
    pub fn has_synthetic_data(&self) -> Result<bool, StoreError> {
        Ok(self.client().query_one("SELECT EXISTS(SELECT 1 FROM imports WHERE synthetic)", &[])?.get(0))
    }
}

fn migrate(client: &mut Client, label: &str) -> Result<(), StoreError> {
    let known = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
    let mut tx = client.transaction()?;
    // One migrator at a time per schema; the others wait and then find nothing to do.
    tx.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema()))", &[])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY,
         applied_at TEXT NOT NULL DEFAULT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS'))",
    )?;
    let current: i64 = tx.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &[])?.get(0);
    if current > known {
        return Err(StoreError::SchemaTooNew { path: label.to_string(), found: current, known });
    }
    for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        tx.batch_execute(sql)?;
        tx.execute("INSERT INTO schema_migrations (version) VALUES ($1)", &[version])?;
    }
    tx.commit()?;
    Ok(())
}

impl KnownRuns for PgStore {
    fn run_weight(&self, run_id: &str) -> Option<f64> {
        self.client()
            .query_opt(
                "SELECT p.weight_kg FROM runs r JOIN patients p ON p.id = r.patient_id WHERE r.id = $1",
                &[&run_id],
            )
            .ok()
            .flatten()
            .map(|r| r.get(0))
    }

    fn patient_weight(&self, patient_id: &str) -> Option<f64> {
        self.client()
            .query_opt("SELECT weight_kg FROM patients WHERE id = $1", &[&patient_id])
            .ok()
            .flatten()
            .map(|r| r.get(0))
    }
}

fn ts(t: Option<Timestamp>) -> Option<i64> {
    t.map(|t| t.0)
}

fn opt_ts(r: &Row, i: usize) -> Option<Timestamp> {
    r.get::<_, Option<i64>>(i).map(Timestamp)
}

const PATIENT_COLUMNS: &str = "id, sex, age_years, birth_year, weight_kg, height_cm, liver_cirrhosis, \
    heart_failure_nyha_iv, severe_respiratory, chronic_dialysis, immunocompromised, chronic_renal_failure";

fn load_patient(c: &mut impl GenericClient, id: &str) -> Result<Option<Patient>, StoreError> {
    let Some(r) = c.query_opt(&format!("SELECT {PATIENT_COLUMNS} FROM patients WHERE id = $1"), &[&id])? else {
        return Ok(None);
    };
    Ok(Some(Patient {
        id: r.get(0),
        sex: parse_code(r.get(1), "sex")?,
        age_years: r.get(2),
        birth_year: r.get(3),
        weight_kg: r.get(4),
        height_cm: r.get(5),
        chronic: ChronicConditions {
            liver_cirrhosis: r.get(6),
            heart_failure_nyha_iv: r.get(7),
            severe_respiratory: r.get(8),
            chronic_dialysis: r.get(9),
            immunocompromised: r.get(10),
            chronic_renal_failure: r.get(11),
        },
    }))
}

const RUN_COLUMNS: &str = "id, patient_id, mode, etiology, admission_type, icu_admission, flow_start, decannulation, \
    arrest, ecpr, collapse_time, cpr_start_time, emergency_call_time, hospital_arrival_time, rosc_time, no_flow_min, \
    low_flow_min, first_rhythm, arrival_rhythm, ventilation_hours_before, cohort";

fn run_from_row(r: &Row) -> Result<Run, StoreError> {
    Ok(Run {
        id: r.get(0),
        patient_id: r.get(1),
        mode: parse_code(r.get(2), "mode")?,
        etiology: parse_code(r.get(3), "etiology")?,
        admission_type: parse_code(r.get(4), "admission type")?,
        icu_admission: opt_ts(r, 5),
        flow_start: Timestamp(r.get(6)),
        decannulation: opt_ts(r, 7),
        arrest: ArrestContext {
            location: parse_code(r.get(8), "arrest")?,
            ecpr: r.get(9),
            collapse: opt_ts(r, 10),
            cpr_start: opt_ts(r, 11),
            emergency_call: opt_ts(r, 12),
            hospital_arrival: opt_ts(r, 13),
            rosc: opt_ts(r, 14),
            no_flow_min: r.get(15),
            low_flow_min: r.get(16),
            first_rhythm: parse_code(r.get(17), "rhythm")?,
            arrival_rhythm: parse_code(r.get(18), "rhythm")?,
        },
        ventilation_hours_before: r.get(19),
        cohort: r.get(20),
    })
}

fn load_run_row(c: &mut impl GenericClient, id: &str) -> Result<Option<Run>, StoreError> {
    c.query_opt(&format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = $1"), &[&id])?.map(|r| run_from_row(&r)).transpose()
}

fn load_record(c: &mut impl GenericClient, run: Run) -> Result<RunRecord, StoreError> {
    let patient = load_patient(c, &run.patient_id)?
        .ok_or_else(|| StoreError::Corrupt(format!("run {} refers to a missing patient", run.id)))?;
    let mut rec = RunRecord::new(patient, run);
    let id = rec.run.id.clone();
    for r in c.query(
        "SELECT quantity, time, value, entered_value, entered_unit, start, source FROM observations WHERE run_id = $1 ORDER BY time, quantity COLLATE \"C\"",
        &[&id],
    )? {
        rec.observations.push(Observation {
            quantity: parse_code::<Quantity>(r.get(0), "quantity")?,
            time: Timestamp(r.get(1)),
            value: r.get(2),
            entered_value: r.get(3),
            entered_unit: parse_code::<Unit>(r.get(4), "unit")?,
            start: opt_ts(&r, 5),
            source: r.get(6),
        });
    }
    for r in c.query(
        "SELECT drug, time, rate, entered_rate, entered_unit, salt, concentration, concentration_unit, weight_kg, source FROM infusions WHERE run_id = $1 ORDER BY time, drug COLLATE \"C\"",
        &[&id],
    )? {
        let concentration = match (r.get::<_, Option<f64>>(6), r.get::<_, Option<String>>(7)) {
            (Some(value), Some(u)) => {
                Some(Concentration { value, unit: parse_code::<ConcentrationUnit>(u, "concentration unit")? })
            }
            _ => None,
        };
        rec.infusions.push(InfusionChange {
            drug: parse_code::<Drug>(r.get(0), "drug")?,
            time: Timestamp(r.get(1)),
            rate: r.get(2),
            entered_rate: r.get(3),
            entered_unit: parse_code::<Unit>(r.get(4), "unit")?,
            salt: parse_code::<Salt>(r.get(5), "salt")?,
            concentration,
            weight_kg: r.get(8),
            source: r.get(9),
        });
    }
    for r in c.query(
        "SELECT kind, start, stop, source FROM supports WHERE run_id = $1 ORDER BY start, kind COLLATE \"C\"",
        &[&id],
    )? {
        rec.supports.push(SupportPeriod {
            kind: parse_code::<SupportKind>(r.get(0), "support kind")?,
            start: Timestamp(r.get(1)),
            stop: opt_ts(&r, 2),
            source: r.get(3),
        });
    }
    for r in c.query(
        "SELECT kind, time, value, detail, source FROM events WHERE run_id = $1 ORDER BY time, kind COLLATE \"C\"",
        &[&id],
    )? {
        rec.events.push(Event {
            kind: parse_code::<EventKind>(r.get(0), "event")?,
            time: Timestamp(r.get(1)),
            value: r.get(2),
            detail: r.get(3),
            source: r.get(4),
        });
    }
    for r in c.query("SELECT flow_start FROM runs WHERE patient_id = $1 AND id <> $2", &[&rec.run.patient_id, &id])? {
        rec.other_run_starts.push(Timestamp(r.get(0)));
    }
    rec.sort();
    Ok(rec)
}

/// One field of a `COPY … FROM STDIN` text row.
trait CopyField {
    fn put(&self, out: &mut String);
}

impl CopyField for str {
    fn put(&self, out: &mut String) {
        for ch in self.chars() {
            match ch {
                '\\' => out.push_str("\\\\"),
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                c => out.push(c),
            }
        }
    }
}

impl CopyField for String {
    fn put(&self, out: &mut String) {
        self.as_str().put(out)
    }
}

impl CopyField for f64 {
    fn put(&self, out: &mut String) {
        // Rust's shortest round-trip form parses back to the same f64 in PostgreSQL.
        let _ = write!(out, "{self:?}");
    }
}

impl CopyField for i64 {
    fn put(&self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

impl CopyField for usize {
    fn put(&self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

impl<T: CopyField + ?Sized> CopyField for &T {
    fn put(&self, out: &mut String) {
        (**self).put(out)
    }
}

impl<T: CopyField> CopyField for Option<T> {
    fn put(&self, out: &mut String) {
        match self {
            Some(v) => v.put(out),
            None => out.push_str("\\N"),
        }
    }
}

fn copy_row(out: &mut String, fields: &[&dyn CopyField]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        f.put(out);
    }
    out.push('\n');
}

/// A kind of time-stamped run record and how it is stored.
trait RunItem {
    /// Table, temporary table definition (after `ord, run_id`), its column list, and the two
    /// key columns after `run_id`.
    const TABLE: &'static str;
    const COLUMNS: &'static str;
    const TEMP_COLUMNS: &'static str;
    const KEY: (&'static str, &'static str);
    /// Stored columns compared on a repeated key.
    const COMPARED: &'static str;
    fn code(&self) -> &'static str;
    fn at(&self) -> i64;
    /// Every column after `ord, run_id`, in `COLUMNS` order.
    fn copy(&self, ord: usize, run: &str, out: &mut String);
    fn same_as_stored(&self, stored: &Row) -> bool;
    fn describe(&self, run: &str) -> String;
    fn counter(c: &mut Counts) -> &mut u64;
}

impl RunItem for Observation {
    const TABLE: &'static str = "observations";
    const COLUMNS: &'static str = "quantity, time, value, entered_value, entered_unit, start, source";
    const TEMP_COLUMNS: &'static str = "quantity TEXT, time BIGINT, value DOUBLE PRECISION, entered_value DOUBLE PRECISION, entered_unit TEXT, start BIGINT, source TEXT";
    const KEY: (&'static str, &'static str) = ("quantity", "time");
    const COMPARED: &'static str = "value, start";
    fn code(&self) -> &'static str {
        self.quantity.code()
    }
    fn at(&self) -> i64 {
        self.time.0
    }
    fn copy(&self, ord: usize, run: &str, out: &mut String) {
        let o = self;
        copy_row(
            out,
            &[
                &ord,
                &run,
                &o.quantity.code(),
                &o.time.0,
                &o.value,
                &o.entered_value,
                &o.entered_unit.symbol(),
                &ts(o.start),
                &o.source,
            ],
        );
    }
    fn same_as_stored(&self, r: &Row) -> bool {
        same(r.get(1), self.value) && r.get::<_, Option<i64>>(2) == ts(self.start)
    }
    fn describe(&self, run: &str) -> String {
        format!("{} of run {} at {}", self.quantity, run, self.time)
    }
    fn counter(c: &mut Counts) -> &mut u64 {
        &mut c.observations
    }
}

impl RunItem for InfusionChange {
    const TABLE: &'static str = "infusions";
    const COLUMNS: &'static str =
        "drug, time, rate, entered_rate, entered_unit, salt, concentration, concentration_unit, weight_kg, source";
    const TEMP_COLUMNS: &'static str = "drug TEXT, time BIGINT, rate DOUBLE PRECISION, entered_rate DOUBLE PRECISION, entered_unit TEXT, salt TEXT, concentration DOUBLE PRECISION, concentration_unit TEXT, weight_kg DOUBLE PRECISION, source TEXT";
    const KEY: (&'static str, &'static str) = ("drug", "time");
    const COMPARED: &'static str = "rate";
    fn code(&self) -> &'static str {
        self.drug.code()
    }
    fn at(&self) -> i64 {
        self.time.0
    }
    fn copy(&self, ord: usize, run: &str, out: &mut String) {
        let i = self;
        copy_row(
            out,
            &[
                &ord,
                &run,
                &i.drug.code(),
                &i.time.0,
                &i.rate,
                &i.entered_rate,
                &i.entered_unit.symbol(),
                &i.salt.code(),
                &i.concentration.map(|c| c.value),
                &i.concentration.map(|c| c.unit.symbol()),
                &i.weight_kg,
                &i.source,
            ],
        );
    }
    fn same_as_stored(&self, r: &Row) -> bool {
        same(r.get(1), self.rate)
    }
    fn describe(&self, run: &str) -> String {
        format!("{} rate of run {} at {}", self.drug, run, self.time)
    }
    fn counter(c: &mut Counts) -> &mut u64 {
        &mut c.infusions
    }
}

impl RunItem for SupportPeriod {
    const TABLE: &'static str = "supports";
    const COLUMNS: &'static str = "kind, start, stop, source";
    const TEMP_COLUMNS: &'static str = "kind TEXT, start BIGINT, stop BIGINT, source TEXT";
    const KEY: (&'static str, &'static str) = ("kind", "start");
    const COMPARED: &'static str = "stop";
    fn code(&self) -> &'static str {
        self.kind.code()
    }
    fn at(&self) -> i64 {
        self.start.0
    }
    fn copy(&self, ord: usize, run: &str, out: &mut String) {
        copy_row(out, &[&ord, &run, &self.kind.code(), &self.start.0, &ts(self.stop), &self.source]);
    }
    fn same_as_stored(&self, r: &Row) -> bool {
        r.get::<_, Option<i64>>(1) == ts(self.stop)
    }
    fn describe(&self, run: &str) -> String {
        format!("{} of run {} from {}", self.kind, run, self.start)
    }
    fn counter(c: &mut Counts) -> &mut u64 {
        &mut c.supports
    }
}

impl RunItem for Event {
    const TABLE: &'static str = "events";
    const COLUMNS: &'static str = "kind, time, value, detail, source";
    const TEMP_COLUMNS: &'static str = "kind TEXT, time BIGINT, value DOUBLE PRECISION, detail TEXT, source TEXT";
    const KEY: (&'static str, &'static str) = ("kind", "time");
    const COMPARED: &'static str = "value, detail";
    fn code(&self) -> &'static str {
        self.kind.code()
    }
    fn at(&self) -> i64 {
        self.time.0
    }
    fn copy(&self, ord: usize, run: &str, out: &mut String) {
        copy_row(out, &[&ord, &run, &self.kind.code(), &self.time.0, &self.value, &self.detail, &self.source]);
    }
    fn same_as_stored(&self, r: &Row) -> bool {
        same_opt(r.get(1), self.value) && r.get::<_, Option<String>>(2) == self.detail
    }
    fn describe(&self, run: &str) -> String {
        format!("{} of run {} at {}", self.kind, run, self.time)
    }
    fn counter(c: &mut Counts) -> &mut u64 {
        &mut c.events
    }
}

/// Write one kind of run record in bulk and sort every row into inserted, unchanged,
/// conflicting or orphaned (its run is not in the registry), in batch order.
fn import_items<T: RunItem>(
    tx: &mut Transaction,
    items: &[Located<(String, T)>],
    report: &mut ImportReport,
) -> Result<(), StoreError> {
    if items.is_empty() {
        return Ok(());
    }
    let temp = format!("ecmo_in_{}", T::TABLE);
    let (k1, k2) = T::KEY;
    tx.batch_execute(&format!(
        "CREATE TEMP TABLE {temp} (ord INTEGER, run_id TEXT, {}) ON COMMIT DROP",
        T::TEMP_COLUMNS
    ))?;
    {
        let mut w = tx.copy_in(&format!("COPY {temp} (ord, run_id, {}) FROM STDIN", T::COLUMNS))?;
        let mut buf = String::with_capacity(1 << 16);
        for (ord, l) in items.iter().enumerate() {
            let (run, item) = &l.item;
            item.copy(ord, run, &mut buf);
            if buf.len() > 1 << 20 {
                w.write_all(buf.as_bytes()).map_err(|e| StoreError::Corrupt(format!("COPY failed: {e}")))?;
                buf.clear();
            }
        }
        w.write_all(buf.as_bytes()).map_err(|e| StoreError::Corrupt(format!("COPY failed: {e}")))?;
        w.finish()?;
    }
    let orphans: HashSet<i32> = tx
        .query(&format!("SELECT ord FROM {temp} t WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = t.run_id)"), &[])?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let inserted: HashSet<(String, String, i64)> = tx
        .query(
            &format!(
                "INSERT INTO {table} (run_id, {cols}) SELECT run_id, {cols} FROM {temp} t
                 WHERE EXISTS (SELECT 1 FROM runs r WHERE r.id = t.run_id) ORDER BY ord
                 ON CONFLICT DO NOTHING RETURNING run_id, {k1}, {k2}",
                table = T::TABLE,
                cols = T::COLUMNS
            ),
            &[],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    // Stored values of every key not inserted by this statement (re-imports, keys
    // repeated within the batch, rows a concurrent import committed first).
    let stored: HashMap<i32, Row> = tx
        .query(
            &format!(
                "SELECT t.ord, {compared} FROM {temp} t JOIN {table} s
                 ON s.run_id = t.run_id AND s.{k1} = t.{k1} AND s.{k2} = t.{k2}",
                compared = T::COMPARED.split(", ").map(|c| format!("s.{c}")).collect::<Vec<_>>().join(", "),
                table = T::TABLE
            ),
            &[],
        )?
        .into_iter()
        .map(|r| (r.get::<_, i32>(0), r))
        .collect();
    let mut claimed: HashSet<(&str, &str, i64)> = HashSet::new();
    for (ord, l) in items.iter().enumerate() {
        let (run, item) = &l.item;
        let ord = i32::try_from(ord).map_err(|_| StoreError::Corrupt("batch too large".into()))?;
        if orphans.contains(&ord) {
            report.conflicts.push(orphan(l, run));
            continue;
        }
        let key = (run.as_str(), item.code(), item.at());
        if inserted.contains(&(key.0.to_string(), key.1.to_string(), key.2)) && claimed.insert(key) {
            *T::counter(&mut report.inserted) += 1;
            continue;
        }
        match stored.get(&ord) {
            Some(row) if item.same_as_stored(row) => *T::counter(&mut report.unchanged) += 1,
            Some(_) => report.conflicts.push(conflict(l, &item.describe(run))),
            None => return Err(StoreError::Corrupt(format!("{} vanished during the import", item.describe(run)))),
        }
    }
    Ok(())
}

fn orphan<T>(l: &Located<T>, run: &str) -> RowError {
    RowError {
        file: l.origin.file.clone(),
        line: l.origin.line,
        column: Some("run_id".into()),
        value: Some(run.to_string()),
        reason: "its run was not written".into(),
        record: Some(l.raw.clone()),
    }
}

fn import_tx(tx: &mut Transaction, batch: &Batch, report: &mut ImportReport) -> Result<(), StoreError> {
    {
        let ins = tx.prepare(&format!(
            "INSERT INTO patients ({PATIENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (id) DO NOTHING"
        ))?;
        for l in &batch.patients {
            let p = &l.item;
            let c = &p.chronic;
            let n = tx.execute(
                &ins,
                &[
                    &p.id,
                    &p.sex.code(),
                    &p.age_years,
                    &p.birth_year,
                    &p.weight_kg,
                    &p.height_cm,
                    &c.liver_cirrhosis,
                    &c.heart_failure_nyha_iv,
                    &c.severe_respiratory,
                    &c.chronic_dialysis,
                    &c.immunocompromised,
                    &c.chronic_renal_failure,
                ],
            )?;
            if n == 1 {
                report.inserted.patients += 1;
            } else if load_patient(tx, &p.id)?.as_ref() == Some(p) {
                report.unchanged.patients += 1;
            } else {
                report.conflicts.push(conflict(l, &format!("patient {}", p.id)));
            }
        }
    }
    {
        let ins = tx.prepare(&format!(
            "INSERT INTO runs ({RUN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
             $16, $17, $18, $19, $20, $21) ON CONFLICT (id) DO NOTHING"
        ))?;
        let patient_exists = tx.prepare("SELECT EXISTS(SELECT 1 FROM patients WHERE id = $1)")?;
        for l in &batch.runs {
            let r = &l.item;
            let a = &r.arrest;
            // A run whose patient was a conflict is not written either.
            if !tx.query_one(&patient_exists, &[&r.patient_id])?.get::<_, bool>(0) {
                report.conflicts.push(RowError {
                    file: l.origin.file.clone(),
                    line: l.origin.line,
                    column: Some("patient_id".into()),
                    value: Some(r.patient_id.clone()),
                    reason: "its patient was not written".into(),
                    record: Some(l.raw.clone()),
                });
                continue;
            }
            let n = tx.execute(
                &ins,
                &[
                    &r.id,
                    &r.patient_id,
                    &r.mode.code(),
                    &r.etiology.code(),
                    &r.admission_type.code(),
                    &ts(r.icu_admission),
                    &r.flow_start.0,
                    &ts(r.decannulation),
                    &a.location.code(),
                    &a.ecpr,
                    &ts(a.collapse),
                    &ts(a.cpr_start),
                    &ts(a.emergency_call),
                    &ts(a.hospital_arrival),
                    &ts(a.rosc),
                    &a.no_flow_min,
                    &a.low_flow_min,
                    &a.first_rhythm.code(),
                    &a.arrival_rhythm.code(),
                    &r.ventilation_hours_before,
                    &r.cohort,
                ],
            )?;
            if n == 1 {
                report.inserted.runs += 1;
            } else if load_run_row(tx, &r.id)?.as_ref() == Some(r) {
                report.unchanged.runs += 1;
            } else {
                report.conflicts.push(conflict(l, &format!("run {}", r.id)));
            }
        }
    }
    import_items(tx, &batch.observations, report)?;
    import_items(tx, &batch.infusions, report)?;
    import_items(tx, &batch.supports, report)?;
    import_items(tx, &batch.events, report)?;
    Ok(())
}

/// Import `batch` inside the open transaction `tx`, in a savepoint of its own: a batch
/// refused for conflicts under [`ConflictPolicy::RejectAll`] is rolled back to the savepoint,
/// leaving `tx` able to commit what else belongs to it (the refusal's audit entry). The
/// report says `committed` when the batch is part of `tx`; the caller commits `tx`.
fn import_within(tx: &mut Transaction, batch: &Batch, policy: ConflictPolicy) -> Result<ImportReport, StoreError> {
    let mut report = ImportReport::default();
    let mut sp = tx.transaction()?;
    import_tx(&mut sp, batch, &mut report)?;
    if !report.conflicts.is_empty() && policy == ConflictPolicy::RejectAll {
        sp.rollback()?;
        report.inserted = Counts::default();
        report.unchanged = Counts::default();
        return Ok(report);
    }
    sp.execute(
        "INSERT INTO imports (source, synthetic, inserted, unchanged) VALUES ($1, $2, $3, $4)",
        &[&batch.source, &batch.synthetic, &(report.inserted.total() as i64), &(report.unchanged.total() as i64)],
    )?;
    sp.commit()?;
    report.committed = true;
    Ok(report)
}

impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgresql"
    }

    fn import(&mut self, batch: &Batch, policy: ConflictPolicy) -> Result<ImportReport, StoreError> {
        let mut client = self.client();
        let mut tx = client.transaction()?;
        let report = import_within(&mut tx, batch, policy)?;
        tx.commit()?;
        Ok(report)
    }

    fn import_audited(
        &mut self,
        batch: &Batch,
        policy: ConflictPolicy,
        audit: &dyn Fn(&ImportReport) -> AuditRecord,
    ) -> Result<(ImportReport, AuditEntry), StoreError> {
        let mut client = self.client();
        let mut tx = client.transaction()?;
        let report = import_within(&mut tx, batch, policy)?;
        // The audit lock is taken last and held only until the commit just below, so
        // appenders wait for one INSERT, not for the import.
        let entry = web::append_within(&mut tx, &audit(&report))?;
        tx.commit()?;
        Ok((report, entry))
    }

    fn run_summaries(&self) -> Result<Vec<RunSummary>, StoreError> {
        let sql = RUN_SUMMARY_SQL.replace("{collate}", " COLLATE \"C\"");
        let rows = self.client().query(&sql, &[])?;
        Ok(rows
            .iter()
            .map(|r| {
                SummaryRow {
                    run_id: r.get(0),
                    patient_id: r.get(1),
                    sex: r.get(2),
                    age_years: r.get(3),
                    birth_year: r.get(4),
                    mode: r.get(5),
                    etiology: r.get(6),
                    arrest: r.get(7),
                    ecpr: r.get(8),
                    flow_start: r.get(9),
                    decannulation: r.get(10),
                    cohort: r.get(11),
                    death: r.get(12),
                    vad: r.get(13),
                    transplant: r.get(14),
                    last_observation: r.get(15),
                    records: r.get(16),
                }
                .summary()
            })
            .collect())
    }

    fn load_run(&self, run_id: &str) -> Result<RunRecord, StoreError> {
        let mut c = self.client();
        let run = load_run_row(&mut *c, run_id)?.ok_or_else(|| StoreError::NoSuchRun(run_id.to_string()))?;
        load_record(&mut *c, run)
    }

    fn for_each_run(&self, f: &mut dyn FnMut(RunRecord) -> Result<(), StoreError>) -> Result<(), StoreError> {
        let ids: Vec<String> = self
            .client()
            .query("SELECT id FROM runs ORDER BY id COLLATE \"C\"", &[])?
            .iter()
            .map(|r| r.get(0))
            .collect();
        for id in ids {
            // Each run is read under the lock and handed over without it, so that the
            // callback may use the store (or take long) without blocking other readers.
            let rec = {
                let mut c = self.client();
                match load_run_row(&mut *c, &id)? {
                    Some(run) => load_record(&mut *c, run)?,
                    None => continue,
                }
            };
            f(rec)?;
        }
        Ok(())
    }

    fn counts(&self) -> Result<Counts, StoreError> {
        let r = self.client().query_one(
            "SELECT (SELECT COUNT(*) FROM patients), (SELECT COUNT(*) FROM runs), (SELECT COUNT(*) FROM observations),
                    (SELECT COUNT(*) FROM infusions), (SELECT COUNT(*) FROM supports), (SELECT COUNT(*) FROM events)",
            &[],
        )?;
        let n = |i: usize| r.get::<_, i64>(i) as u64;
        Ok(Counts { patients: n(0), runs: n(1), observations: n(2), infusions: n(3), supports: n(4), events: n(5) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_parameter_is_taken_off_the_url() {
        let (url, schema) = split_spec("postgres://u@h:5433/db?schema=Reg_1&connect_timeout=5").unwrap();
        assert_eq!(url, "postgres://u@h:5433/db?connect_timeout=5");
        assert_eq!(schema.as_deref(), Some("reg_1"));
        assert!(split_spec("postgres://u@h/db?schema=a;drop").is_err());
        assert_eq!(split_spec("postgres://u@h/db").unwrap(), ("postgres://u@h/db".to_string(), None));
    }

    #[test]
    fn every_sqlite_migration_has_its_postgresql_dialect() {
        let versions = |m: &[(i64, &str)]| m.iter().map(|v| v.0).collect::<Vec<_>>();
        assert_eq!(
            versions(MIGRATIONS),
            versions(crate::sqlite::MIGRATIONS),
            "a migration was added to sqlite.rs: add the same version to postgres.rs"
        );
    }

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(redact("postgres://ann:s3cret@db:5432/reg"), "postgres://ann:***@db:5432/reg");
        assert_eq!(redact("postgres://ann@db/reg"), "postgres://ann@db/reg");
    }

    #[test]
    fn copy_text_escapes_separators() {
        let mut s = String::new();
        copy_row(&mut s, &[&"a\tb\\c\nd", &None::<f64>, &0.1f64, &7i64]);
        assert_eq!(s, "a\\tb\\\\c\\nd\t\\N\t0.1\t7\n");
    }
}
