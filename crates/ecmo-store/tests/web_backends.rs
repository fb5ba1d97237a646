//! Accounts, sessions, settings and the audit log behave alike on SQLite and PostgreSQL
//! (PostgreSQL when ECMO_TEST_PG_URL is set), including concurrent audit appends.

use ecmo_store::StoreError;
use ecmo_store::accounts::{Accounts, Role};
use ecmo_store::audit::{AuditLog, AuditRecord, verify_log};
use ecmo_store::sqlite::SqliteStore;
use ecmo_store::testing::{fresh_pg_spec, open_pg, pg_server_url};

fn rec(who: &str) -> AuditRecord {
    AuditRecord {
        at: 1_700_000_000,
        who: who.into(),
        role: "clinician".into(),
        action: "read".into(),
        what: "run R1".into(),
        patient_id: Some("P1".into()),
        outcome: "success".into(),
        from: "127.0.0.1".into(),
    }
}

fn contract<S: Accounts + AuditLog>(s: &mut S) {
    let a = s.add_account("anna", Role::Clinician, "$argon2id$x", 10).unwrap();
    assert_eq!((a.role, a.disabled, a.created_at), (Role::Clinician, false, 10));
    assert!(matches!(s.add_account("anna", Role::Admin, "h", 11), Err(StoreError::Duplicate(_))));
    s.add_account("Bob", Role::Researcher, "h", 12).unwrap();
    let names: Vec<String> = s.accounts().unwrap().into_iter().map(|a| a.name).collect();
    assert_eq!(names, ["Bob", "anna"], "byte order of names, as SQLite sorts them");
    s.create_session("t1", a.id, 10, 100).unwrap();
    assert_eq!(s.session_account("t1", 50).unwrap().map(|a| a.name), Some("anna".into()));
    assert!(s.session_account("t1", 100).unwrap().is_none(), "expired");
    s.delete_session("t1").unwrap();
    assert!(s.set_password_hash("anna", "new").unwrap());
    assert_eq!(s.account_by_name("anna").unwrap().unwrap().password_hash, "new");
    assert!(!s.set_password_hash("nobody", "x").unwrap());
    assert!(s.set_account_disabled("anna", true).unwrap());
    s.create_session("t2", a.id, 10, 100).unwrap();
    assert!(s.session_account("t2", 50).unwrap().is_none(), "disabled account");
    assert_eq!(s.setting("k").unwrap(), None);
    s.set_setting("k", "v1").unwrap();
    s.set_setting("k", "v2").unwrap();
    assert_eq!(s.setting("k").unwrap().as_deref(), Some("v2"));
    for who in ["a", "b", "c"] {
        s.append_audit(&rec(who)).unwrap();
    }
    assert_eq!(s.audit_len().unwrap(), 3);
    assert_eq!(s.audit_range(2, 3).unwrap().iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(verify_log(&*s).unwrap(), Ok(3));
}

#[test]
fn accounts_sessions_settings_and_audit_on_every_backend() {
    let mut sqlite = SqliteStore::in_memory().unwrap();
    contract(&mut sqlite);
    let sqlite_log = sqlite.audit_range(1, 3).unwrap();
    if let Some(server) = pg_server_url() {
        let mut pg = open_pg(&fresh_pg_spec(&server, "web_contract"));
        contract(&mut pg);
        assert_eq!(pg.audit_range(1, 3).unwrap(), sqlite_log, "the same chain, hash for hash");
    }
}

#[test]
fn concurrent_audit_appends_keep_one_unbroken_chain() {
    let Some(server) = pg_server_url() else { return };
    let spec = fresh_pg_spec(&server, "audit_concurrency");
    drop(open_pg(&spec));
    std::thread::scope(|s| {
        for t in 0..4 {
            let spec = &spec;
            s.spawn(move || {
                let mut store = open_pg(spec);
                for i in 0..25 {
                    store.append_audit(&rec(&format!("user{t}-{i}"))).unwrap();
                }
            });
        }
    });
    let store = open_pg(&spec);
    assert_eq!(verify_log(&store).unwrap(), Ok(100));
}

mod decisions {
    use ecmo_domain::Timestamp;
    use ecmo_store::decisions::{DecisionAction, DecisionLog, DecisionRecord};
    use ecmo_store::sqlite::SqliteStore;
    use ecmo_store::testing::{fresh_pg_spec, open_pg, pg_server_url};

    fn rec(action: DecisionAction, reason: Option<&str>) -> DecisionRecord {
        DecisionRecord {
            run_id: "R1".into(),
            as_of: Timestamp(28_000_000),
            recorded_at: 1_700_000_000,
            user: "dr.rossi".into(),
            action,
            recommendation: "urgent_vad".into(),
            reason: reason.map(str::to_string),
            versions: "ecmo-cds 0.1.0".into(),
            assessment_json: "{\"format\":\"ecmo-cds-assessment\"}".into(),
            shown_text: Some("Urgent conversion to VAD".into()),
        }
    }

    fn contract<S: DecisionLog>(s: &mut S) {
        let a = rec(DecisionAction::Acknowledge, None);
        let b = rec(DecisionAction::Override, Some("family wishes; palliative care"));
        let ia = s.record_decision(&a).unwrap();
        let ib = s.record_decision(&b).unwrap();
        assert!(ib > ia);
        let all = s.decisions_for_run("R1").unwrap();
        assert_eq!(all.iter().map(|d| &d.record).collect::<Vec<_>>(), [&a, &b]);
        assert_eq!(s.decision(ib).unwrap().unwrap().record, b);
        assert!(s.decision(999).unwrap().is_none());
        assert!(s.record_decision(&rec(DecisionAction::Override, Some(" "))).is_err());
        assert_eq!(s.decisions_for_run("R1").unwrap().len(), 2, "a refused decision writes nothing");
    }

    #[test]
    fn the_decision_log_on_every_backend() {
        contract(&mut SqliteStore::in_memory().unwrap());
        if let Some(server) = pg_server_url() {
            contract(&mut open_pg(&fresh_pg_spec(&server, "decisions")));
        }
    }
}

#[test]
fn open_registry_gives_every_facet_on_every_backend() {
    let dir = tempfile::tempdir().unwrap();
    for spec in ecmo_store::testing::fresh_specs(dir.path(), "registry_facets") {
        let mut r = ecmo_store::open_registry(&spec).unwrap();
        r.add_account("ann", Role::Admin, "h", 1).unwrap();
        r.append_audit(&rec("ann")).unwrap();
        assert_eq!(r.counts().unwrap().total(), 0);
        assert_eq!(verify_log(&*r).unwrap(), Ok(1), "{}", r.backend());
    }
}
