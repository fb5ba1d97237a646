//! A batch and its audit entry are written in one transaction (`Store::import_audited`), on
//! SQLite and on PostgreSQL (when ECMO_TEST_PG_URL is set): an audit append that fails leaves
//! no record behind, an import that fails leaves no "success" in the log, a refused batch is
//! logged as refused, and appenders on several connections keep one unbroken chain.
//!
//! Failures are made real by a trigger in the database that refuses the insert, so the
//! failing statement runs inside the very transaction that is under test.

use ecmo_store::accounts::Role;
use ecmo_store::audit::{AuditLog, AuditRecord, verify_log};
use ecmo_store::csv_format::{Batch, KnownRuns, read_dir};
use ecmo_store::testing::{fresh_specs, open_pg, pg_server_url};
use ecmo_store::{ConflictPolicy, ImportReport, Registry, Store, is_postgres_url, open_registry};

const PATIENTS: &str = "patient_id,sex,age_years,weight_kg\nP1,female,61,70\n";
const RUNS: &str = "run_id,patient_id,mode,etiology,flow_start,arrest\nR1,P1,va,ami_cs,2020-01-01 10:00,none\n";
const LACTATE: &str = "run_id,time,quantity,value,unit\nR1,2020-01-01 12:00,lactate,4.4,mmol/L\n";

fn batch_of(files: &[(&str, &str)], known: &dyn KnownRuns) -> Batch {
    let d = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(d.path().join(name), text).unwrap();
    }
    let read = read_dir(d.path(), known).unwrap();
    assert!(read.errors.is_empty(), "{:#?}", read.errors);
    read.batch
}

/// What the web application logs for a hand entry: success, or the first refusal.
fn entry_audit(report: &ImportReport) -> AuditRecord {
    let outcome = match report.conflicts.first() {
        None => "success".to_string(),
        Some(c) => format!("refused: {}", c.reason),
    };
    AuditRecord {
        at: 1_700_000_000,
        who: "anna".into(),
        role: "clinician".into(),
        action: "create".into(),
        what: "run R1: observation lactate at 2020-01-01 12:00".into(),
        patient_id: Some("P1".into()),
        outcome,
        from: "127.0.0.1".into(),
    }
}

/// A registry holding P1/R1 and one unrelated audit entry, and its lactate batch.
fn registry(spec: &str) -> (Box<dyn Registry>, Batch) {
    let mut r = open_registry(spec).unwrap();
    let base = batch_of(&[("patients.csv", PATIENTS), ("runs.csv", RUNS)], &ecmo_store::csv_format::NoKnownRuns);
    assert!(r.import(&base, ConflictPolicy::RejectAll).unwrap().committed);
    r.append_audit(&AuditRecord { what: "patient list".into(), patient_id: None, ..entry_audit(&Default::default()) })
        .unwrap();
    let lactate = batch_of(&[("observations.csv", LACTATE)], &*r);
    assert_eq!(lactate.observations.len(), 1);
    (r, lactate)
}

/// Run `sql` (SQLite dialect, PostgreSQL dialect) on the registry behind `spec` through a
/// connection of its own, as an operator or a broken deployment would.
fn sabotage(spec: &str, sqlite_sql: &str, pg_sql: &str) {
    if is_postgres_url(spec) {
        // fresh_pg_spec appends `schema=NAME` as the URL's last parameter.
        let at = spec.rfind("schema=").expect("test specs name their schema");
        let (url, schema) = (&spec[..at - 1], &spec[at + "schema=".len()..]);
        let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
        c.batch_execute(&format!("SET search_path TO \"{schema}\"; {pg_sql}")).unwrap();
    } else {
        rusqlite::Connection::open(spec).unwrap().execute_batch(sqlite_sql).unwrap();
    }
}

fn refuse_inserts_into(spec: &str, table: &str) {
    sabotage(
        spec,
        &format!("CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} BEGIN SELECT RAISE(ABORT, 'refused by test'); END;"),
        &format!(
            "CREATE FUNCTION refuse_{table}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by test'; END $$;
             CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION refuse_{table}();"
        ),
    );
}

#[test]
fn an_entry_and_its_audit_record_commit_together() {
    let dir = tempfile::tempdir().unwrap();
    for spec in fresh_specs(dir.path(), "audited_ok") {
        let (mut r, lactate) = registry(&spec);
        let before = (r.counts().unwrap(), r.audit_len().unwrap());
        let (report, entry) = r.import_audited(&lactate, ConflictPolicy::RejectAll, &entry_audit).unwrap();
        assert!(report.committed, "{}", r.backend());
        assert_eq!(report.inserted.total(), 1);
        assert_eq!(entry.seq, before.1 + 1);
        assert_eq!(entry.record.outcome, "success");
        assert_eq!(r.counts().unwrap().observations, before.0.observations + 1, "{}", r.backend());
        assert_eq!(r.audit_len().unwrap(), before.1 + 1);
        assert_eq!(r.audit_range(entry.seq, entry.seq).unwrap(), [entry], "the stored entry is the one returned");
        assert_eq!(verify_log(&*r).unwrap(), Ok(before.1 + 1), "{}", r.backend());
        let lactates = r.load_run("R1").unwrap().observations;
        assert_eq!(lactates.len(), 1);
        assert_eq!(lactates[0].value, 4.4);
    }
}

#[test]
fn a_failing_audit_append_leaves_no_record() {
    let dir = tempfile::tempdir().unwrap();
    for spec in fresh_specs(dir.path(), "audited_audit_fails") {
        let (mut r, lactate) = registry(&spec);
        let before = (r.counts().unwrap(), r.audit_len().unwrap());
        refuse_inserts_into(&spec, "audit_log");
        let err = r.import_audited(&lactate, ConflictPolicy::RejectAll, &entry_audit).unwrap_err();
        assert!(err.to_string().contains("refused by test"), "{}: {err}", r.backend());
        assert_eq!(
            r.counts().unwrap(),
            before.0,
            "{}: the observation was stored without its audit entry",
            r.backend()
        );
        assert!(r.load_run("R1").unwrap().observations.is_empty());
        assert_eq!(r.audit_len().unwrap(), before.1);
        // The connection is usable afterwards, and the same entry goes in once auditing works.
        sabotage(&spec, "DROP TRIGGER refuse_audit_log;", "DROP TRIGGER refuse_audit_log ON audit_log;");
        let (report, _) = r.import_audited(&lactate, ConflictPolicy::RejectAll, &entry_audit).unwrap();
        assert_eq!(report.inserted.observations, 1, "{}", r.backend());
        assert_eq!(verify_log(&*r).unwrap(), Ok(before.1 + 1));
    }
}

#[test]
fn a_failing_import_logs_no_success() {
    let dir = tempfile::tempdir().unwrap();
    for spec in fresh_specs(dir.path(), "audited_import_fails") {
        let (mut r, lactate) = registry(&spec);
        let before = (r.counts().unwrap(), r.audit_len().unwrap());
        refuse_inserts_into(&spec, "observations");
        let err = r.import_audited(&lactate, ConflictPolicy::RejectAll, &entry_audit).unwrap_err();
        assert!(err.to_string().contains("refused by test"), "{}: {err}", r.backend());
        assert_eq!(r.audit_len().unwrap(), before.1, "{}: a success was logged for a failed write", r.backend());
        assert_eq!(r.counts().unwrap(), before.0);
        assert_eq!(verify_log(&*r).unwrap(), Ok(before.1));
    }
}

#[test]
fn a_refused_batch_is_rolled_back_and_its_refusal_logged() {
    let dir = tempfile::tempdir().unwrap();
    for spec in fresh_specs(dir.path(), "audited_conflict") {
        let (mut r, lactate) = registry(&spec);
        r.import_audited(&lactate, ConflictPolicy::RejectAll, &entry_audit).unwrap();
        let before = (r.counts().unwrap(), r.audit_len().unwrap());
        // The same time and quantity with another value, plus a new value: all or nothing.
        let changed = batch_of(
            &[(
                "observations.csv",
                "run_id,time,quantity,value,unit\nR1,2020-01-01 12:00,lactate,9.9,mmol/L\n\
                 R1,2020-01-01 13:00,map,65,mmHg\n",
            )],
            &*r,
        );
        let (report, entry) = r.import_audited(&changed, ConflictPolicy::RejectAll, &entry_audit).unwrap();
        assert!(!report.committed);
        assert_eq!(report.conflicts.len(), 1, "{}", r.backend());
        assert!(entry.record.outcome.starts_with("refused: "), "{}", entry.record.outcome);
        assert_eq!(r.counts().unwrap(), before.0, "{}: nothing of a refused batch is written", r.backend());
        assert_eq!(r.audit_len().unwrap(), before.1 + 1, "the refusal is logged");
        assert_eq!(verify_log(&*r).unwrap(), Ok(before.1 + 1));
    }
}

#[test]
fn account_changes_and_their_audit_entries_commit_together() {
    let dir = tempfile::tempdir().unwrap();
    for spec in fresh_specs(dir.path(), "audited_accounts") {
        let (mut r, _) = registry(&spec);
        r.add_account("anna", Role::Clinician, "h", 1).unwrap();
        let admin = |what: &str| AuditRecord {
            action: "create".into(),
            what: what.into(),
            patient_id: None,
            ..entry_audit(&Default::default())
        };
        let n = r.audit_len().unwrap();
        refuse_inserts_into(&spec, "audit_log");
        assert!(r.add_account_audited("ben", Role::Researcher, "h", 2, &admin("account ben")).is_err());
        assert!(r.account_by_name("ben").unwrap().is_none(), "{}: account without its audit entry", r.backend());
        assert!(r.set_account_disabled_audited("anna", true, &admin("account anna: disabled")).is_err());
        assert!(!r.account_by_name("anna").unwrap().unwrap().disabled, "{}: disabled without audit", r.backend());
        sabotage(&spec, "DROP TRIGGER refuse_audit_log;", "DROP TRIGGER refuse_audit_log ON audit_log;");
        assert_eq!(r.audit_len().unwrap(), n);

        let (ben, entry) = r.add_account_audited("ben", Role::Researcher, "h", 2, &admin("account ben")).unwrap();
        assert_eq!((ben.name.as_str(), entry.seq), ("ben", n + 1));
        let dup = r.add_account_audited("ben", Role::Admin, "h", 3, &admin("account ben"));
        assert!(matches!(dup, Err(ecmo_store::StoreError::Duplicate(_))));
        assert!(r.set_account_disabled_audited("nobody", true, &admin("account nobody")).unwrap().is_none());
        let entry = r.set_account_disabled_audited("anna", true, &admin("account anna: disabled")).unwrap().unwrap();
        assert_eq!(entry.seq, n + 2, "{}: refusals and no-ops write no entry", r.backend());
        assert!(r.account_by_name("anna").unwrap().unwrap().disabled);
        assert_eq!(verify_log(&*r).unwrap(), Ok(n + 2));
    }
}

#[test]
fn audited_imports_and_plain_appends_on_many_connections_keep_one_chain() {
    let Some(server) = pg_server_url() else { return };
    let spec = ecmo_store::testing::fresh_pg_spec(&server, "audited_concurrency");
    let (mut r, _) = registry(&spec);
    let rows: Vec<String> =
        (0..40).map(|i| format!("R1,2020-01-02 {:02}:{:02},map,{},mmHg\n", i / 4, (i % 4) * 15, 60 + i)).collect();
    std::thread::scope(|s| {
        for t in 0..4 {
            let (spec, rows) = (&spec, &rows);
            s.spawn(move || {
                let mut store = open_pg(spec);
                for i in 0..10 {
                    if t % 2 == 0 {
                        let text = format!("run_id,time,quantity,value,unit\n{}", rows[t * 10 + i]);
                        let b = batch_of(&[("observations.csv", &text)], &store);
                        store.import_audited(&b, ConflictPolicy::RejectAll, &entry_audit).unwrap();
                    } else {
                        store.append_audit(&entry_audit(&Default::default())).unwrap();
                    }
                }
            });
        }
    });
    assert_eq!(r.counts().unwrap().observations, 20);
    assert_eq!(verify_log(&*r).unwrap(), Ok(41));
    r.append_audit(&entry_audit(&Default::default())).unwrap();
    assert_eq!(verify_log(&*r).unwrap(), Ok(42));
}
