//! The embedded SQLite store: versioned migrations, WAL, one transaction per import.

use crate::audit::{AuditEntry, AuditRecord};
use crate::csv_format::{Batch, KnownRuns, Located, Origin, RowError};
use crate::{ConflictPolicy, Counts, ImportReport, RunSummary, Store, StoreError};
use ecmo_domain::drugs::{Concentration, ConcentrationUnit};
use ecmo_domain::{
    AdmissionType, ArrestContext, ArrestLocation, ChronicConditions, Drug, Etiology, Event, EventKind, InfusionChange,
    Mode, Observation, Patient, Quantity, Rhythm, Run, RunRecord, Salt, Sex, SupportKind, SupportPeriod, Timestamp,
    Unit,
};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};
use std::path::Path;
use std::str::FromStr;

mod decisions;
mod web;

/// Schema migrations, applied in order; never edit a released one, add a new one.
pub(crate) const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        r#"
CREATE TABLE patients (
    id TEXT PRIMARY KEY,
    sex TEXT NOT NULL,
    age_years REAL,
    birth_year INTEGER,
    weight_kg REAL NOT NULL CHECK (weight_kg BETWEEN 20 AND 350),
    height_cm REAL,
    liver_cirrhosis INTEGER,
    heart_failure_nyha_iv INTEGER,
    severe_respiratory INTEGER,
    chronic_dialysis INTEGER,
    immunocompromised INTEGER,
    chronic_renal_failure INTEGER
);
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    patient_id TEXT NOT NULL REFERENCES patients(id),
    mode TEXT NOT NULL,
    etiology TEXT NOT NULL,
    admission_type TEXT NOT NULL,
    icu_admission INTEGER,
    flow_start INTEGER NOT NULL,
    decannulation INTEGER CHECK (decannulation IS NULL OR decannulation >= flow_start),
    arrest TEXT NOT NULL,
    ecpr INTEGER NOT NULL,
    collapse_time INTEGER,
    cpr_start_time INTEGER,
    emergency_call_time INTEGER,
    hospital_arrival_time INTEGER,
    rosc_time INTEGER,
    no_flow_min REAL,
    low_flow_min REAL,
    first_rhythm TEXT NOT NULL,
    arrival_rhythm TEXT NOT NULL,
    ventilation_hours_before REAL,
    cohort TEXT
);
CREATE INDEX runs_patient ON runs(patient_id);
CREATE TABLE observations (
    run_id TEXT NOT NULL REFERENCES runs(id),
    quantity TEXT NOT NULL,
    time INTEGER NOT NULL,
    value REAL NOT NULL,
    entered_value REAL NOT NULL,
    entered_unit TEXT NOT NULL,
    start INTEGER,
    source TEXT,
    PRIMARY KEY (run_id, quantity, time)
) WITHOUT ROWID;
CREATE TABLE infusions (
    run_id TEXT NOT NULL REFERENCES runs(id),
    drug TEXT NOT NULL,
    time INTEGER NOT NULL,
    rate REAL NOT NULL CHECK (rate >= 0),
    entered_rate REAL NOT NULL,
    entered_unit TEXT NOT NULL,
    salt TEXT NOT NULL,
    concentration REAL,
    concentration_unit TEXT,
    weight_kg REAL NOT NULL,
    source TEXT,
    PRIMARY KEY (run_id, drug, time)
) WITHOUT ROWID;
CREATE TABLE supports (
    run_id TEXT NOT NULL REFERENCES runs(id),
    kind TEXT NOT NULL,
    start INTEGER NOT NULL,
    stop INTEGER CHECK (stop IS NULL OR stop >= start),
    source TEXT,
    PRIMARY KEY (run_id, kind, start)
) WITHOUT ROWID;
CREATE TABLE events (
    run_id TEXT NOT NULL REFERENCES runs(id),
    kind TEXT NOT NULL,
    time INTEGER NOT NULL,
    value REAL,
    detail TEXT,
    source TEXT,
    PRIMARY KEY (run_id, kind, time)
) WITHOUT ROWID;
CREATE TABLE imports (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%S', 'now')),
    source TEXT NOT NULL,
    synthetic INTEGER NOT NULL,
    inserted INTEGER NOT NULL,
    unchanged INTEGER NOT NULL
);
"#,
    ),
    (
        2,
        // Web application: accounts, sessions (token SHA-256 only), settings, and the
        // hash-chained audit log (crate::audit). Plain SQL that PostgreSQL also accepts.
        r#"
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('clinician', 'researcher', 'admin')),
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    who TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    what TEXT NOT NULL,
    patient_id TEXT,
    outcome TEXT NOT NULL,
    from_addr TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
"#,
    ),
    (
        3,
        // Bedside decision log (crate::decisions): acknowledgements and overrides with
        // exactly what was shown. In PostgreSQL `id` becomes an identity column.
        r#"
CREATE TABLE decisions (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    as_of INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL,
    user_name TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('acknowledge', 'override')),
    recommendation TEXT NOT NULL,
    reason TEXT,
    versions TEXT NOT NULL,
    assessment_json TEXT NOT NULL,
    shown_text TEXT,
    CHECK (action <> 'override' OR length(trim(coalesce(reason, ''))) > 0)
);
CREATE INDEX decisions_by_run ON decisions (run_id, as_of);
"#,
    ),
];

/// The SQLite registry.
pub struct SqliteStore {
    conn: Connection,
}

impl SqliteStore {
    /// Open (creating if needed) and migrate the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        Self::setup(conn, &path.display().to_string())
    }

    /// A private in-memory store (tests).
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::setup(Connection::open_in_memory()?, ":memory:")
    }

    fn setup(mut conn: Connection, label: &str) -> Result<Self, StoreError> {
        // WAL lets readers (the web app, a running study) proceed during an import.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%S','now')))",
        )?;
        let current: i64 =
            conn.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", [], |r| r.get(0))?;
        let known = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
        if current > known {
            return Err(StoreError::SchemaTooNew { path: label.to_string(), found: current, known });
        }
        for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
            let tx = conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.execute("INSERT INTO schema_migrations (version) VALUES (?1)", [version])?;
            tx.commit()?;
        }
        Ok(SqliteStore { conn })
    }

    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row("SELECT MAX(version) FROM schema_migrations", [], |r| r.get(0))?)
    }

    /// Whether the registry holds any data marked synthetic.
    pub fn has_synthetic_data(&self) -> Result<bool, StoreError> {
        Ok(self.conn.query_row("SELECT EXISTS(SELECT 1 FROM imports WHERE synthetic = 1)", [], |r| r.get(0))?)
    }
}

impl KnownRuns for SqliteStore {
    fn run_weight(&self, run_id: &str) -> Option<f64> {
        self.conn
            .prepare_cached("SELECT p.weight_kg FROM runs r JOIN patients p ON p.id = r.patient_id WHERE r.id = ?1")
            .and_then(|mut s| s.query_row([run_id], |r| r.get(0)).optional())
            .ok()
            .flatten()
    }

    fn patient_weight(&self, patient_id: &str) -> Option<f64> {
        self.conn
            .prepare_cached("SELECT weight_kg FROM patients WHERE id = ?1")
            .and_then(|mut s| s.query_row([patient_id], |r| r.get(0)).optional())
            .ok()
            .flatten()
    }
}

pub(crate) fn conflict<T>(l: &Located<T>, what: &str) -> RowError {
    RowError {
        file: l.origin.file.clone(),
        line: l.origin.line,
        column: None,
        value: None,
        reason: format!("{what} is already in the registry with other values; not overwritten"),
        record: Some(l.raw.clone()),
    }
}

pub(crate) fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

pub(crate) fn same_opt(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => same(a, b),
        (None, None) => true,
        _ => false,
    }
}

fn flag(b: Option<bool>) -> Option<i64> {
    b.map(i64::from)
}

fn ts(t: Option<Timestamp>) -> Option<i64> {
    t.map(|t| t.0)
}

fn import_tx(tx: &Connection, batch: &Batch, report: &mut ImportReport) -> Result<(), StoreError> {
    {
        let mut ins = tx.prepare_cached(
            "INSERT INTO patients (id, sex, age_years, birth_year, weight_kg, height_cm, liver_cirrhosis, heart_failure_nyha_iv, severe_respiratory, chronic_dialysis, immunocompromised, chronic_renal_failure)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) ON CONFLICT (id) DO NOTHING",
        )?;
        for l in &batch.patients {
            let p = &l.item;
            let c = &p.chronic;
            let n = ins.execute(params![
                p.id,
                p.sex.code(),
                p.age_years,
                p.birth_year,
                p.weight_kg,
                p.height_cm,
                flag(c.liver_cirrhosis),
                flag(c.heart_failure_nyha_iv),
                flag(c.severe_respiratory),
                flag(c.chronic_dialysis),
                flag(c.immunocompromised),
                flag(c.chronic_renal_failure)
            ])?;
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
        let mut ins = tx.prepare_cached(
            "INSERT INTO runs (id, patient_id, mode, etiology, admission_type, icu_admission, flow_start, decannulation, arrest, ecpr,
               collapse_time, cpr_start_time, emergency_call_time, hospital_arrival_time, rosc_time, no_flow_min, low_flow_min,
               first_rhythm, arrival_rhythm, ventilation_hours_before, cohort)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)
             ON CONFLICT (id) DO NOTHING",
        )?;
        for l in &batch.runs {
            let r = &l.item;
            let a = &r.arrest;
            // A run whose patient was a conflict is not written either.
            let patient_exists: bool = tx
                .prepare_cached("SELECT EXISTS(SELECT 1 FROM patients WHERE id = ?1)")?
                .query_row([&r.patient_id], |x| x.get(0))?;
            if !patient_exists {
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
            let n = ins.execute(params![
                r.id,
                r.patient_id,
                r.mode.code(),
                r.etiology.code(),
                r.admission_type.code(),
                ts(r.icu_admission),
                r.flow_start.0,
                ts(r.decannulation),
                a.location.code(),
                a.ecpr,
                ts(a.collapse),
                ts(a.cpr_start),
                ts(a.emergency_call),
                ts(a.hospital_arrival),
                ts(a.rosc),
                a.no_flow_min,
                a.low_flow_min,
                a.first_rhythm.code(),
                a.arrival_rhythm.code(),
                r.ventilation_hours_before,
                r.cohort
            ])?;
            if n == 1 {
                report.inserted.runs += 1;
            } else if load_run_row(tx, &r.id)?.as_ref() == Some(r) {
                report.unchanged.runs += 1;
            } else {
                report.conflicts.push(conflict(l, &format!("run {}", r.id)));
            }
        }
    }
    let run_exists = |run: &str| -> Result<bool, StoreError> {
        Ok(tx.prepare_cached("SELECT EXISTS(SELECT 1 FROM runs WHERE id = ?1)")?.query_row([run], |x| x.get(0))?)
    };
    let orphan = |origin: &Origin, raw: &str, run: &str| RowError {
        file: origin.file.clone(),
        line: origin.line,
        column: Some("run_id".into()),
        value: Some(run.to_string()),
        reason: "its run was not written".into(),
        record: Some(raw.to_string()),
    };
    {
        let mut ins = tx.prepare_cached(
            "INSERT INTO observations (run_id, quantity, time, value, entered_value, entered_unit, start, source)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
        )?;
        let mut existing = tx.prepare_cached(
            "SELECT value, start FROM observations WHERE run_id = ?1 AND quantity = ?2 AND time = ?3",
        )?;
        let mut last_run: Option<(&str, bool)> = None;
        for l in &batch.observations {
            let (run, o) = &l.item;
            let exists = match last_run {
                Some((r, e)) if r == run => e,
                _ => {
                    let e = run_exists(run)?;
                    last_run = Some((run, e));
                    e
                }
            };
            if !exists {
                report.conflicts.push(orphan(&l.origin, &l.raw, run));
                continue;
            }
            let n = ins.execute(params![
                run,
                o.quantity.code(),
                o.time.0,
                o.value,
                o.entered_value,
                o.entered_unit.symbol(),
                ts(o.start),
                o.source
            ])?;
            if n == 1 {
                report.inserted.observations += 1;
                continue;
            }
            let (v, s): (f64, Option<i64>) =
                existing.query_row(params![run, o.quantity.code(), o.time.0], |r| Ok((r.get(0)?, r.get(1)?)))?;
            if same(v, o.value) && s == ts(o.start) {
                report.unchanged.observations += 1;
            } else {
                report.conflicts.push(conflict(l, &format!("{} of run {} at {}", o.quantity, run, o.time)));
            }
        }
    }
    {
        let mut ins = tx.prepare_cached(
            "INSERT INTO infusions (run_id, drug, time, rate, entered_rate, entered_unit, salt, concentration, concentration_unit, weight_kg, source)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT DO NOTHING",
        )?;
        let mut existing =
            tx.prepare_cached("SELECT rate FROM infusions WHERE run_id = ?1 AND drug = ?2 AND time = ?3")?;
        for l in &batch.infusions {
            let (run, i) = &l.item;
            if !run_exists(run)? {
                report.conflicts.push(orphan(&l.origin, &l.raw, run));
                continue;
            }
            let n = ins.execute(params![
                run,
                i.drug.code(),
                i.time.0,
                i.rate,
                i.entered_rate,
                i.entered_unit.symbol(),
                i.salt.code(),
                i.concentration.map(|c| c.value),
                i.concentration.map(|c| c.unit.symbol()),
                i.weight_kg,
                i.source
            ])?;
            if n == 1 {
                report.inserted.infusions += 1;
                continue;
            }
            let v: f64 = existing.query_row(params![run, i.drug.code(), i.time.0], |r| r.get(0))?;
            if same(v, i.rate) {
                report.unchanged.infusions += 1;
            } else {
                report.conflicts.push(conflict(l, &format!("{} rate of run {} at {}", i.drug, run, i.time)));
            }
        }
    }
    {
        let mut ins = tx.prepare_cached(
            "INSERT INTO supports (run_id, kind, start, stop, source) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
        )?;
        let mut existing =
            tx.prepare_cached("SELECT stop FROM supports WHERE run_id = ?1 AND kind = ?2 AND start = ?3")?;
        for l in &batch.supports {
            let (run, s) = &l.item;
            if !run_exists(run)? {
                report.conflicts.push(orphan(&l.origin, &l.raw, run));
                continue;
            }
            let n = ins.execute(params![run, s.kind.code(), s.start.0, ts(s.stop), s.source])?;
            if n == 1 {
                report.inserted.supports += 1;
                continue;
            }
            let stop: Option<i64> = existing.query_row(params![run, s.kind.code(), s.start.0], |r| r.get(0))?;
            if stop == ts(s.stop) {
                report.unchanged.supports += 1;
            } else {
                report.conflicts.push(conflict(l, &format!("{} of run {} from {}", s.kind, run, s.start)));
            }
        }
    }
    {
        let mut ins = tx.prepare_cached(
            "INSERT INTO events (run_id, kind, time, value, detail, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
        )?;
        let mut existing =
            tx.prepare_cached("SELECT value, detail FROM events WHERE run_id = ?1 AND kind = ?2 AND time = ?3")?;
        for l in &batch.events {
            let (run, e) = &l.item;
            if !run_exists(run)? {
                report.conflicts.push(orphan(&l.origin, &l.raw, run));
                continue;
            }
            let n = ins.execute(params![run, e.kind.code(), e.time.0, e.value, e.detail, e.source])?;
            if n == 1 {
                report.inserted.events += 1;
                continue;
            }
            let (v, d): (Option<f64>, Option<String>) =
                existing.query_row(params![run, e.kind.code(), e.time.0], |r| Ok((r.get(0)?, r.get(1)?)))?;
            if same_opt(v, e.value) && d == e.detail {
                report.unchanged.events += 1;
            } else {
                report.conflicts.push(conflict(l, &format!("{} of run {} at {}", e.kind, run, e.time)));
            }
        }
    }
    Ok(())
}

pub(crate) fn parse_code<T: FromStr>(s: String, what: &str) -> Result<T, StoreError> {
    s.parse::<T>().map_err(|_| StoreError::Corrupt(format!("{what} '{s}'")))
}

fn opt_bool(v: Option<i64>) -> Option<bool> {
    v.map(|x| x != 0)
}

fn patient_from_row(r: &Row) -> rusqlite::Result<(Patient, String)> {
    let sex: String = r.get(1)?;
    Ok((
        Patient {
            id: r.get(0)?,
            sex: Sex::Male,
            age_years: r.get(2)?,
            birth_year: r.get(3)?,
            weight_kg: r.get(4)?,
            height_cm: r.get(5)?,
            chronic: ChronicConditions {
                liver_cirrhosis: opt_bool(r.get(6)?),
                heart_failure_nyha_iv: opt_bool(r.get(7)?),
                severe_respiratory: opt_bool(r.get(8)?),
                chronic_dialysis: opt_bool(r.get(9)?),
                immunocompromised: opt_bool(r.get(10)?),
                chronic_renal_failure: opt_bool(r.get(11)?),
            },
        },
        sex,
    ))
}

fn load_patient(conn: &Connection, id: &str) -> Result<Option<Patient>, StoreError> {
    let row = conn
        .prepare_cached("SELECT id, sex, age_years, birth_year, weight_kg, height_cm, liver_cirrhosis, heart_failure_nyha_iv, severe_respiratory, chronic_dialysis, immunocompromised, chronic_renal_failure FROM patients WHERE id = ?1")?
        .query_row([id], patient_from_row)
        .optional()?;
    row.map(|(mut p, sex)| {
        p.sex = parse_code(sex, "sex")?;
        Ok(p)
    })
    .transpose()
}

type RawRun = (Run, [String; 6]);

fn run_from_row(r: &Row) -> rusqlite::Result<RawRun> {
    let t = |i: usize| -> rusqlite::Result<Option<Timestamp>> { Ok(r.get::<_, Option<i64>>(i)?.map(Timestamp)) };
    let codes = [r.get(2)?, r.get(3)?, r.get(4)?, r.get(8)?, r.get(17)?, r.get(18)?];
    Ok((
        Run {
            id: r.get(0)?,
            patient_id: r.get(1)?,
            mode: Mode::Va,
            etiology: Etiology::Other,
            admission_type: AdmissionType::NonOperative,
            icu_admission: t(5)?,
            flow_start: Timestamp(r.get(6)?),
            decannulation: t(7)?,
            arrest: ArrestContext {
                location: ArrestLocation::None,
                ecpr: r.get(9)?,
                collapse: t(10)?,
                cpr_start: t(11)?,
                emergency_call: t(12)?,
                hospital_arrival: t(13)?,
                rosc: t(14)?,
                no_flow_min: r.get(15)?,
                low_flow_min: r.get(16)?,
                first_rhythm: Rhythm::Unknown,
                arrival_rhythm: Rhythm::Unknown,
            },
            ventilation_hours_before: r.get(19)?,
            cohort: r.get(20)?,
        },
        codes,
    ))
}

fn finish_run((mut run, codes): RawRun) -> Result<Run, StoreError> {
    let [mode, etiology, admission, arrest, first, arrival] = codes;
    run.mode = parse_code(mode, "mode")?;
    run.etiology = parse_code(etiology, "etiology")?;
    run.admission_type = parse_code(admission, "admission type")?;
    run.arrest.location = parse_code(arrest, "arrest")?;
    run.arrest.first_rhythm = parse_code(first, "rhythm")?;
    run.arrest.arrival_rhythm = parse_code(arrival, "rhythm")?;
    Ok(run)
}

const RUN_COLUMNS: &str =
    "id, patient_id, mode, etiology, admission_type, icu_admission, flow_start, decannulation, arrest, ecpr,
    collapse_time, cpr_start_time, emergency_call_time, hospital_arrival_time, rosc_time, no_flow_min, low_flow_min,
    first_rhythm, arrival_rhythm, ventilation_hours_before, cohort";

fn load_run_row(conn: &Connection, id: &str) -> Result<Option<Run>, StoreError> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1");
    conn.prepare_cached(&sql)?.query_row([id], run_from_row).optional()?.map(finish_run).transpose()
}

fn load_record(conn: &Connection, run: Run) -> Result<RunRecord, StoreError> {
    let patient = load_patient(conn, &run.patient_id)?
        .ok_or_else(|| StoreError::Corrupt(format!("run {} refers to a missing patient", run.id)))?;
    let mut rec = RunRecord::new(patient, run);
    let id = rec.run.id.clone();
    {
        let mut s = conn.prepare_cached(
            "SELECT quantity, time, value, entered_value, entered_unit, start, source FROM observations WHERE run_id = ?1 ORDER BY time, quantity",
        )?;
        let rows = s.query_map([&id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, f64>(2)?,
                r.get::<_, f64>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<i64>>(5)?,
                r.get::<_, Option<String>>(6)?,
            ))
        })?;
        for row in rows {
            let (q, t, v, ev, eu, start, source) = row?;
            rec.observations.push(Observation {
                time: Timestamp(t),
                start: start.map(Timestamp),
                quantity: parse_code::<Quantity>(q, "quantity")?,
                value: v,
                entered_value: ev,
                entered_unit: parse_code::<Unit>(eu, "unit")?,
                source,
            });
        }
    }
    {
        let mut s = conn.prepare_cached(
            "SELECT drug, time, rate, entered_rate, entered_unit, salt, concentration, concentration_unit, weight_kg, source FROM infusions WHERE run_id = ?1 ORDER BY time, drug",
        )?;
        let rows = s.query_map([&id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, f64>(2)?,
                r.get::<_, f64>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, Option<f64>>(6)?,
                r.get::<_, Option<String>>(7)?,
                r.get::<_, f64>(8)?,
                r.get::<_, Option<String>>(9)?,
            ))
        })?;
        for row in rows {
            let (drug, t, rate, er, eu, salt, cv, cu, w, source) = row?;
            let concentration = match (cv, cu) {
                (Some(value), Some(u)) => {
                    Some(Concentration { value, unit: parse_code::<ConcentrationUnit>(u, "concentration unit")? })
                }
                _ => None,
            };
            rec.infusions.push(InfusionChange {
                time: Timestamp(t),
                drug: parse_code::<Drug>(drug, "drug")?,
                rate,
                entered_rate: er,
                entered_unit: parse_code::<Unit>(eu, "unit")?,
                salt: parse_code::<Salt>(salt, "salt")?,
                concentration,
                weight_kg: w,
                source,
            });
        }
    }
    {
        let mut s = conn
            .prepare_cached("SELECT kind, start, stop, source FROM supports WHERE run_id = ?1 ORDER BY start, kind")?;
        let rows = s.query_map([&id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<i64>>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        })?;
        for row in rows {
            let (kind, start, stop, source) = row?;
            rec.supports.push(SupportPeriod {
                kind: parse_code::<SupportKind>(kind, "support kind")?,
                start: Timestamp(start),
                stop: stop.map(Timestamp),
                source,
            });
        }
    }
    {
        let mut s = conn.prepare_cached(
            "SELECT kind, time, value, detail, source FROM events WHERE run_id = ?1 ORDER BY time, kind",
        )?;
        let rows = s.query_map([&id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, Option<f64>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })?;
        for row in rows {
            let (kind, t, value, detail, source) = row?;
            rec.events.push(Event {
                time: Timestamp(t),
                kind: parse_code::<EventKind>(kind, "event")?,
                value,
                detail,
                source,
            });
        }
    }
    {
        let mut s = conn.prepare_cached("SELECT flow_start FROM runs WHERE patient_id = ?1 AND id <> ?2")?;
        let rows = s.query_map(params![rec.run.patient_id, id], |r| r.get::<_, i64>(0))?;
        for row in rows {
            rec.other_run_starts.push(Timestamp(row?));
        }
    }
    rec.sort();
    Ok(rec)
}

/// Import `batch` inside the open transaction `tx`, in a savepoint of its own: a batch
/// refused for conflicts under [`ConflictPolicy::RejectAll`] is rolled back to the savepoint,
/// leaving `tx` able to commit what else belongs to it (the refusal's audit entry). The
/// report says `committed` when the batch is part of `tx`; the caller commits `tx`.
fn import_within(tx: &mut Transaction, batch: &Batch, policy: ConflictPolicy) -> Result<ImportReport, StoreError> {
    let mut report = ImportReport::default();
    let mut sp = tx.savepoint()?;
    import_tx(&sp, batch, &mut report)?;
    if !report.conflicts.is_empty() && policy == ConflictPolicy::RejectAll {
        sp.rollback()?;
        sp.commit()?;
        report.inserted = Counts::default();
        report.unchanged = Counts::default();
        return Ok(report);
    }
    sp.execute(
        "INSERT INTO imports (source, synthetic, inserted, unchanged) VALUES (?1, ?2, ?3, ?4)",
        params![batch.source, batch.synthetic, report.inserted.total() as i64, report.unchanged.total() as i64],
    )?;
    sp.commit()?;
    report.committed = true;
    Ok(report)
}

impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn import(&mut self, batch: &Batch, policy: ConflictPolicy) -> Result<ImportReport, StoreError> {
        let mut tx = self.conn.transaction()?;
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
        // IMMEDIATE, as for a plain audit append: the write lock is held before the chain's
        // last hash is read, so no other connection can append in between.
        let mut tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let report = import_within(&mut tx, batch, policy)?;
        let entry = web::append_within(&tx, &audit(&report))?;
        tx.commit()?;
        Ok((report, entry))
    }

    fn run_summaries(&self) -> Result<Vec<RunSummary>, StoreError> {
        let mut s = self.conn.prepare(&RUN_SUMMARY_SQL.replace("{collate}", ""))?;
        let rows = s.query_map([], |r| {
            Ok(SummaryRow {
                run_id: r.get(0)?,
                patient_id: r.get(1)?,
                sex: r.get(2)?,
                age_years: r.get(3)?,
                birth_year: r.get(4)?,
                mode: r.get(5)?,
                etiology: r.get(6)?,
                arrest: r.get(7)?,
                ecpr: r.get(8)?,
                flow_start: r.get(9)?,
                decannulation: r.get(10)?,
                cohort: r.get(11)?,
                death: r.get(12)?,
                vad: r.get(13)?,
                transplant: r.get(14)?,
                last_observation: r.get(15)?,
                records: r.get(16)?,
            })
        })?;
        rows.map(|r| Ok(r?.summary())).collect()
    }

    fn load_run(&self, run_id: &str) -> Result<RunRecord, StoreError> {
        let run = load_run_row(&self.conn, run_id)?.ok_or_else(|| StoreError::NoSuchRun(run_id.to_string()))?;
        load_record(&self.conn, run)
    }

    fn for_each_run(&self, f: &mut dyn FnMut(RunRecord) -> Result<(), StoreError>) -> Result<(), StoreError> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs ORDER BY id");
        let mut s = self.conn.prepare(&sql)?;
        let rows = s.query_map([], run_from_row)?;
        for row in rows {
            let run = finish_run(row?)?;
            f(load_record(&self.conn, run)?)?;
        }
        Ok(())
    }

    fn counts(&self) -> Result<Counts, StoreError> {
        let n = |t: &str| -> Result<u64, StoreError> {
            Ok(self.conn.query_row(&format!("SELECT COUNT(*) FROM {t}"), [], |r| r.get::<_, i64>(0))? as u64)
        };
        Ok(Counts {
            patients: n("patients")?,
            runs: n("runs")?,
            observations: n("observations")?,
            infusions: n("infusions")?,
            supports: n("supports")?,
            events: n("events")?,
        })
    }
}

/// Key facts of every run, ordered by flow start (`{collate}`: how run ids compare, so that
/// both backends order ties alike).
pub(crate) const RUN_SUMMARY_SQL: &str = "SELECT r.id, r.patient_id, p.sex, p.age_years, p.birth_year, r.mode, r.etiology, r.arrest, r.ecpr, r.flow_start, r.decannulation, r.cohort,
    (SELECT MIN(time) FROM events e WHERE e.run_id = r.id AND e.kind = 'death'),
    (SELECT MIN(time) FROM events e WHERE e.run_id = r.id AND e.kind = 'vad_implant'),
    (SELECT MIN(time) FROM events e WHERE e.run_id = r.id AND e.kind = 'heart_transplant'),
    (SELECT MAX(time) FROM observations o WHERE o.run_id = r.id),
    (SELECT COUNT(*) FROM observations o WHERE o.run_id = r.id) + (SELECT COUNT(*) FROM infusions i WHERE i.run_id = r.id)
      + (SELECT COUNT(*) FROM events e WHERE e.run_id = r.id) + (SELECT COUNT(*) FROM supports s WHERE s.run_id = r.id)
 FROM runs r JOIN patients p ON p.id = r.patient_id ORDER BY r.flow_start, r.id{collate}";

/// One row of [`RUN_SUMMARY_SQL`], as either backend reads it.
pub(crate) struct SummaryRow {
    pub run_id: String,
    pub patient_id: String,
    pub sex: String,
    pub age_years: Option<f64>,
    pub birth_year: Option<i32>,
    pub mode: String,
    pub etiology: String,
    pub arrest: String,
    pub ecpr: bool,
    pub flow_start: i64,
    pub decannulation: Option<i64>,
    pub cohort: Option<String>,
    pub death: Option<i64>,
    pub vad: Option<i64>,
    pub transplant: Option<i64>,
    pub last_observation: Option<i64>,
    pub records: i64,
}

impl SummaryRow {
    pub(crate) fn summary(self) -> RunSummary {
        let start = Timestamp(self.flow_start);
        let decannulation = self.decannulation.map(Timestamp);
        let death = self.death.map(Timestamp);
        let status = run_status(start, decannulation, death, self.vad.map(Timestamp), self.transplant.map(Timestamp));
        let end = decannulation.or(death).or(self.last_observation.map(Timestamp));
        RunSummary {
            run_id: self.run_id,
            patient_id: self.patient_id,
            sex: self.sex,
            age_years: self.age_years.or_else(|| self.birth_year.map(|y| f64::from(start.civil().0 - y))),
            mode: self.mode,
            etiology: self.etiology,
            arrest: self.arrest,
            ecpr: self.ecpr,
            flow_start: start,
            decannulation,
            hours_on_ecmo: end.map(|e| e.hours_since(start)),
            status,
            records: self.records as u64,
            cohort: self.cohort,
        }
    }
}

/// Plain-language status of a run from its key dates.
pub fn run_status(
    _start: Timestamp,
    decannulation: Option<Timestamp>,
    death: Option<Timestamp>,
    vad: Option<Timestamp>,
    transplant: Option<Timestamp>,
) -> String {
    let on_ecmo_until = decannulation.unwrap_or(Timestamp(i64::MAX));
    if let Some(t) = transplant.filter(|t| *t <= on_ecmo_until) {
        let _ = t;
        return "bridged to heart transplant".into();
    }
    if vad.is_some_and(|t| t <= on_ecmo_until) {
        return "bridged to VAD".into();
    }
    match (decannulation, death) {
        (_, Some(d)) if d <= on_ecmo_until => "died on ECMO".into(),
        (Some(_), Some(_)) => "decannulated, died later".into(),
        (Some(_), None) => "decannulated".into(),
        (None, None) => "on ECMO".into(),
        (None, Some(_)) => "died on ECMO".into(),
    }
}
