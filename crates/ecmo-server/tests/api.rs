//! The HTTP API and pages end to end on a real SQLite registry: access control for
//! every route and role, no identifiers for researchers, the OpenAPI document in
//! step with the router, hand entry through the importer's rules, the audit chain.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use ecmo_server::api::{API_ROUTES, Access};
use ecmo_server::{AppState, auth, build_list_cache, router};
use ecmo_store::Store;
use ecmo_store::accounts::{Accounts, Role};
use ecmo_store::audit::{AuditEntry, verify_log};
use ecmo_store::csv_format::KnownRuns;
use ecmo_store::sqlite::SqliteStore;
use serde_json::{Value, json};
use tower::ServiceExt;

struct Fixture {
    _dir: tempfile::TempDir,
    db: std::path::PathBuf,
    app: Router,
    run_id: String,
    patient_id: String,
    pseudonym: String,
    all_ids: Vec<String>,
}

const PASSWORD: &str = "a long enough password";

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let spec = db.to_str().unwrap().to_string();
    fixture_on(dir, &spec, &mut SqliteStore::open(&db).unwrap())
}

/// The same registry and accounts on any backend (`spec` opens `store` again).
fn fixture_on<S: Store + KnownRuns + Accounts>(dir: tempfile::TempDir, spec: &str, store: &mut S) -> Fixture {
    let csv = dir.path().join("csv");
    std::fs::create_dir_all(&csv).unwrap();
    ecmo_synth::write_registry(&csv, 6, 11, &ecmo_synth::Mix::default(), 1, &|_| {}).unwrap();
    let imported = ecmo_store::import_dir(store, &csv, false).unwrap();
    assert!(imported.committed, "{:?}", imported.invalid.first());
    let hash = auth::hash_password(PASSWORD).unwrap();
    for (name, role) in [("clin", Role::Clinician), ("res", Role::Researcher), ("adm", Role::Admin)] {
        store.add_account(name, role, &hash, 0).unwrap();
    }
    store.add_account("other", Role::Clinician, &hash, 0).unwrap();
    let runs = store.run_summaries().unwrap();
    let all_ids = runs.iter().flat_map(|r| [r.run_id.clone(), r.patient_id.clone()]).collect();
    let state = AppState::open(spec).unwrap();
    build_list_cache(&state);
    let (run_id, patient_id) = (runs[0].run_id.clone(), runs[0].patient_id.clone());
    let pseudonym = ecmo_server::pseudo::pseudonym(&state.pseudonym_key, &run_id);
    let db = std::path::PathBuf::from(spec);
    Fixture { _dir: dir, db, app: router(state), run_id, patient_id, pseudonym, all_ids }
}

struct Answer {
    status: StatusCode,
    body: String,
    location: Option<String>,
    cookie: Option<String>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

async fn call(app: &Router, method: &str, path: &str, cookie: Option<&str>, body: Option<Value>) -> Answer {
    let mut req = Request::builder().method(method.to_uppercase().as_str()).uri(path);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    let req = match body {
        Some(b) => req.header(header::CONTENT_TYPE, "application/json").body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let location = res.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_string());
    let cookie = res.headers().get(header::SET_COOKIE).map(|v| v.to_str().unwrap().to_string());
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 26).await.unwrap();
    Answer { status, body: String::from_utf8_lossy(&bytes).into_owned(), location, cookie }
}

async fn login(app: &Router, name: &str) -> String {
    let a = call(app, "post", "/api/login", None, Some(json!({"name": name, "password": PASSWORD}))).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let c = a.cookie.unwrap();
    assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict"), "{c}");
    c.split(';').next().unwrap().to_string()
}

/// A request that exercises the route for real (valid body, existing ids).
fn concrete(f: &Fixture, path: &str, method: &str, n: usize, job: u64) -> (String, Option<Value>) {
    let p = path
        .replace("{run_id}", &f.run_id)
        .replace("{pseudonym}", &f.pseudonym)
        .replace("{name}", "other")
        .replace("{job_id}", &job.to_string());
    let body = match (method, path) {
        ("post", "/api/login") => Some(json!({"name": "clin", "password": PASSWORD})),
        ("post", "/api/runs/{run_id}/entries") => {
            Some(json!({"kind": "observation", "code": "gcs", "time": "2000-01-01 00:00", "value": "9"}))
        }
        ("post", "/api/admin/accounts") => {
            Some(json!({"name": format!("new{n}"), "role": "researcher", "password": PASSWORD}))
        }
        ("post", "/api/admin/accounts/{name}/disabled") => Some(json!({"disabled": false})),
        ("post", "/api/studies/runs") => Some(json!({"study": "vad", "bootstrap": "2"})),
        ("post", _) => Some(json!({})),
        _ => None,
    };
    (p, body)
}

fn leaks(f: &Fixture, body: &str) -> Option<String> {
    f.all_ids.iter().find(|id| body.contains(id.as_str())).cloned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_route_refuses_the_roles_that_may_not_use_it_and_leaks_nothing() {
    access_checks(&fixture()).await;
}

/// The same on PostgreSQL, when a test server is configured (ECMO_TEST_PG_URL; required
/// with ECMO_REQUIRE_PG=1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_application_runs_on_postgresql_too() {
    let Some(server) = ecmo_store::testing::pg_server_url() else {
        eprintln!("ECMO_TEST_PG_URL not set: PostgreSQL variant not run");
        return;
    };
    let spec = ecmo_store::testing::fresh_pg_spec(&server, "web_api");
    // The synchronous PostgreSQL client runs its own runtime: open it off the async threads.
    let f = tokio::task::spawn_blocking(move || {
        let mut store = ecmo_store::testing::open_pg(&spec);
        fixture_on(tempfile::tempdir().unwrap(), &spec, &mut store)
    })
    .await
    .unwrap();
    access_checks(&f).await;
    entries_and_their_audit_entries_commit_together(&f).await;
    let c = login(&f.app, "clin").await;
    let bad = json!({"kind": "observation", "code": "gcs", "time": "2000-01-01 00:00", "value": "7.5"});
    let a = call(&f.app, "post", &format!("/api/runs/{}/entries", f.run_id), Some(&c), Some(bad)).await;
    assert_eq!(a.json()["field"], "value", "{}", a.body);
    let admin = login(&f.app, "adm").await;
    let v = call(&f.app, "get", "/api/admin/audit/verify", Some(&admin), None).await.json();
    assert_eq!(v["intact"], true, "{v}");
    // Pooled PostgreSQL connections must be dropped off the async threads too.
    tokio::task::spawn_blocking(move || drop(f)).await.unwrap();
}

async fn access_checks(f: &Fixture) {
    // A finished study, so that its report and results can be asked for.
    let researcher = login(&f.app, "res").await;
    let job = run_study(&f.app, &researcher, json!({"study": "vad", "bootstrap": "2"})).await["id"].as_u64().unwrap();
    let mut n = 0;
    for route in API_ROUTES {
        for who in [None, Some(("clin", Role::Clinician)), Some(("res", Role::Researcher)), Some(("adm", Role::Admin))]
        {
            n += 1;
            // A fresh session per call: logout must not end the next check's session.
            let cookie = match who {
                Some((name, _)) => Some(login(&f.app, name).await),
                None => None,
            };
            let (path, body) = concrete(f, route.path, route.method, n, job);
            let a = call(&f.app, route.method, &path, cookie.as_deref(), body).await;
            let label = format!("{} {} as {:?}: {} {}", route.method, route.path, who.map(|w| w.0), a.status, a.body);
            let allowed = match (route.access, who) {
                (Access::Public, _) => true,
                (_, None) => false,
                (Access::AnyUser, Some(_)) => true,
                (Access::Only(roles), Some((_, role))) => roles.contains(&role),
            };
            if allowed {
                assert!(a.status.is_success(), "{label}");
            } else {
                let expected = if who.is_none() { StatusCode::UNAUTHORIZED } else { StatusCode::FORBIDDEN };
                assert_eq!(a.status, expected, "{label}");
                assert_eq!(leaks(f, &a.body), None, "{label}");
                let e = a.json();
                assert!(e["reason"].is_string() && e.get("field").is_some() && e.get("value").is_some(), "{label}");
            }
            // Researchers never receive a run id, patient id or calendar date.
            if who.is_some_and(|w| w.1 == Role::Researcher) && a.status.is_success() && route.access != Access::Public {
                assert_eq!(leaks(f, &a.body), None, "{label}");
                assert!(!a.body.contains("flow_start") && !a.body.contains("patient_id"), "{label}");
            }
        }
    }
}

/// Every page, as every role: anonymous visitors go to the login page, other roles get 403.
#[tokio::test]
async fn every_page_is_shown_only_to_its_role() {
    let f = fixture();
    let pages: Vec<(String, Option<Role>)> = vec![
        ("/patients".into(), Some(Role::Clinician)),
        (format!("/patients/{}", f.run_id), Some(Role::Clinician)),
        ("/research".into(), Some(Role::Researcher)),
        (format!("/research/{}", f.pseudonym), Some(Role::Researcher)),
        ("/studies".into(), Some(Role::Researcher)),
        ("/models".into(), Some(Role::Researcher)),
        ("/admin".into(), Some(Role::Admin)),
        ("/admin/audit".into(), Some(Role::Admin)),
        ("/login".into(), None),
    ];
    for (path, only) in &pages {
        for who in [None, Some(("clin", Role::Clinician)), Some(("res", Role::Researcher)), Some(("adm", Role::Admin))]
        {
            let cookie = match who {
                Some((name, _)) => Some(login(&f.app, name).await),
                None => None,
            };
            let a = call(&f.app, "get", path, cookie.as_deref(), None).await;
            let label = format!("{path} as {:?}: {}", who.map(|w| w.0), a.status);
            match (only, who) {
                (None, _) => assert_eq!(a.status, StatusCode::OK, "{label}"),
                (Some(_), None) => {
                    assert_eq!(a.status, StatusCode::SEE_OTHER, "{label}");
                    assert_eq!(a.location.as_deref(), Some("/login"), "{label}");
                }
                (Some(r), Some((_, role))) if *r == role => {
                    assert_eq!(a.status, StatusCode::OK, "{label}");
                    // The audit log names the patient whose record was read (that is its purpose);
                    // no other page shows an identifier to anyone but a clinician.
                    if role != Role::Clinician && path != "/admin/audit" {
                        assert_eq!(leaks(&f, &a.body), None, "{label}");
                    }
                }
                (Some(_), Some(_)) => {
                    assert_eq!(a.status, StatusCode::FORBIDDEN, "{label}");
                    assert_eq!(leaks(&f, &a.body), None, "{label}");
                }
            }
        }
    }
}

#[tokio::test]
async fn router_and_openapi_document_list_the_same_api_routes() {
    let source = include_str!("../src/lib.rs");
    let mut served = Vec::new();
    for line in source.lines().map(str::trim).filter(|l| l.starts_with(".route(\"/api/")) {
        let path = line.split('"').nth(1).unwrap().to_string();
        for m in ["get", "post", "put", "delete", "patch"] {
            if line.contains(&format!("{m}(")) {
                served.push((m.to_string(), path.clone()));
            }
        }
    }
    let documented: Vec<(String, String)> =
        API_ROUTES.iter().map(|r| (r.method.to_string(), r.path.to_string())).collect();
    for r in &served {
        assert!(documented.contains(r), "{r:?} is served but not in API_ROUTES");
    }
    for r in &documented {
        assert!(served.contains(r), "{r:?} is documented but not served");
    }
    let f = fixture();
    let doc = call(&f.app, "get", "/api/openapi.json", None, None).await.json();
    assert_eq!(doc["openapi"], "3.0.3");
    for (m, p) in &documented {
        assert!(doc["paths"][p][m].is_object(), "{m} {p} missing from the OpenAPI document");
    }
}

#[tokio::test]
async fn hand_entry_uses_the_import_rules_and_errors_name_the_field() {
    let f = fixture();
    let c = login(&f.app, "clin").await;
    let url = format!("/api/runs/{}/entries", f.run_id);
    let view = call(&f.app, "get", &format!("/api/runs/{}", f.run_id), Some(&c), None).await.json();
    let t0 = view["flow_start"].as_str().unwrap().replace('T', " ");
    let bad = [
        (json!({"kind": "observation", "code": "gcs", "time": t0, "value": "7.5"}), "value", "whole number"),
        (json!({"kind": "event", "code": "echo_lvef", "time": t0, "value": "95"}), "value", "possible range"),
        (json!({"kind": "observation", "code": "lactate", "time": t0, "value": "4", "unit": "mmHg"}), "unit", ""),
        (json!({"kind": "event", "code": "echo_lvef", "time": "yesterday", "value": "30"}), "time", ""),
        (json!({"kind": "event", "code": "telepathy", "time": t0}), "code", ""),
        (json!({"kind": "note", "code": "x", "time": t0}), "kind", ""),
    ];
    for (body, field, reason) in bad {
        let a = call(&f.app, "post", &url, Some(&c), Some(body.clone())).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", a.body);
        let e = a.json();
        assert_eq!(e["field"], field, "{body}: {}", a.body);
        assert!(e["reason"].as_str().unwrap().contains(reason), "{body}: {}", a.body);
    }
    let ok = json!({"kind": "event", "code": "echo_lvef", "time": t0, "value": "35"});
    let a = call(&f.app, "post", &url, Some(&c), Some(ok)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    // Stored through the importer, with who entered it as the source.
    let store = SqliteStore::open(&f.db).unwrap();
    let rec = store.load_run(&f.run_id).unwrap();
    let e = rec.events.iter().find(|e| e.kind.code() == "echo_lvef" && e.value == Some(35.0)).unwrap();
    assert!(e.source.as_deref().unwrap().starts_with("entered by clin"));
    // A different value for the same event and time conflicts, as on import.
    let clash = json!({"kind": "event", "code": "echo_lvef", "time": t0, "value": "40"});
    let a = call(&f.app, "post", &url, Some(&c), Some(clash)).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
}

#[tokio::test]
async fn reads_and_writes_are_audited_and_tampering_is_detected() {
    let f = fixture();
    let c = login(&f.app, "clin").await;
    call(&f.app, "get", &format!("/api/runs/{}", f.run_id), Some(&c), None).await;
    call(&f.app, "get", "/api/admin/audit", Some(&c), None).await; // refused, and recorded
    let bad = call(&f.app, "post", "/api/login", None, Some(json!({"name": "clin", "password": "wrong one!"}))).await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    let admin = login(&f.app, "adm").await;
    let log = call(&f.app, "get", "/api/admin/audit?per_page=500", Some(&admin), None).await.json();
    let items = log["items"].as_array().unwrap();
    let read = items
        .iter()
        .find(|e| e["action"] == "read" && e["patient_id"] == f.patient_id.as_str() && e["who"] == "clin")
        .expect("the patient read is in the log");
    assert_eq!(read["outcome"], "success");
    assert!(items.iter().any(|e| e["who"] == "clin" && e["outcome"].as_str().unwrap().starts_with("refused")));
    assert!(items.iter().any(|e| e["action"] == "login" && e["outcome"] != "success"));
    // Newest first, seq without gaps.
    let seqs: Vec<i64> = items.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] == w[1] + 1));

    let v = call(&f.app, "get", "/api/admin/audit/verify", Some(&admin), None).await.json();
    assert_eq!(v["intact"], true, "{v}");
    let fhir = call(&f.app, "get", "/api/admin/audit/fhir", Some(&admin), None).await.json();
    assert_eq!(fhir["resourceType"], "Bundle");
    let ev = &fhir["entry"][0]["resource"];
    assert_eq!(ev["resourceType"], "AuditEvent");
    assert!(ev["recorded"].as_str().unwrap().ends_with('Z'));

    // Someone edits the database behind the application's back.
    assert_eq!(tamper(&f.db), 1);
    let v = call(&f.app, "get", "/api/admin/audit/verify", Some(&admin), None).await.json();
    assert_eq!(v["intact"], false, "{v}");
    assert!(v["problem"].as_str().unwrap().contains("entry 2"), "{v}");
}

/// Registry counts (events) and audit log length, read through a connection of the test's own.
async fn events_and_audit(spec: &str) -> (u64, i64) {
    let spec = spec.to_string();
    tokio::task::spawn_blocking(move || {
        let r = ecmo_store::open_registry(&spec).unwrap();
        (r.counts().unwrap().events, r.audit_len().unwrap())
    })
    .await
    .unwrap()
}

/// The newest audit entry, and whether the whole chain verifies.
async fn last_audit(spec: &str) -> (AuditEntry, bool) {
    let spec = spec.to_string();
    tokio::task::spawn_blocking(move || {
        let r = ecmo_store::open_registry(&spec).unwrap();
        let n = r.audit_len().unwrap();
        (r.audit_range(n, n).unwrap().remove(0), verify_log(&*r).unwrap().is_ok())
    })
    .await
    .unwrap()
}

/// Run `sqlite_sql` or `pg_sql` on the registry behind `spec`, as a broken deployment might.
async fn sabotage(spec: &str, sqlite_sql: &str, pg_sql: &str) {
    let (spec, sqlite_sql, pg_sql) = (spec.to_string(), sqlite_sql.to_string(), pg_sql.to_string());
    tokio::task::spawn_blocking(move || {
        if ecmo_store::is_postgres_url(&spec) {
            // fresh_pg_spec appends `schema=NAME` as the URL's last parameter.
            let at = spec.rfind("schema=").unwrap();
            let (url, schema) = (&spec[..at - 1], &spec[at + "schema=".len()..]);
            let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
            c.batch_execute(&format!("SET search_path TO \"{schema}\"; {pg_sql}")).unwrap();
        } else {
            rusqlite::Connection::open(&spec).unwrap().execute_batch(&sqlite_sql).unwrap();
        }
    })
    .await
    .unwrap()
}

/// A hand entry and its audit entry are written in one transaction: when the audit log
/// refuses the insert, the value is not stored either; an accepted entry adds exactly one
/// record and one "success" entry; a refused one adds only its "refused" entry.
async fn entries_and_their_audit_entries_commit_together(f: &Fixture) {
    let spec = f.db.to_str().unwrap();
    let c = login(&f.app, "clin").await;
    let url = format!("/api/runs/{}/entries", f.run_id);
    let view = call(&f.app, "get", &format!("/api/runs/{}", f.run_id), Some(&c), None).await.json();
    let t0 = view["flow_start"].as_str().unwrap().replace('T', " ");
    let lvef = json!({"kind": "event", "code": "echo_lvef", "time": t0, "value": "35"});
    let admin = login(&f.app, "adm").await;
    let new_account = json!({"name": "unaudited", "role": "clinician", "password": PASSWORD});

    sabotage(
        spec,
        "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit refused'); END;",
        "CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit refused'; END $$;
         CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION refuse_audit();",
    )
    .await;
    let before = events_and_audit(spec).await;
    let a = call(&f.app, "post", &url, Some(&c), Some(lvef.clone())).await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", a.body);
    assert_eq!(events_and_audit(spec).await, before, "the value was stored without its audit entry");
    // Account changes likewise: no account is created or disabled without its audit entry.
    let a = call(&f.app, "post", "/api/admin/accounts", Some(&admin), Some(new_account.clone())).await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", a.body);
    let disable = json!({"disabled": true});
    let a = call(&f.app, "post", "/api/admin/accounts/other/disabled", Some(&admin), Some(disable.clone())).await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", a.body);
    let accounts = call(&f.app, "get", "/api/admin/accounts", Some(&admin), None).await.json();
    let accounts = accounts.as_array().unwrap();
    assert!(!accounts.iter().any(|a| a["name"] == "unaudited"), "an account was created without its audit entry");
    assert!(accounts.iter().any(|a| a["name"] == "other" && a["disabled"] == false), "disabled without audit");
    sabotage(spec, "DROP TRIGGER refuse_audit;", "DROP TRIGGER refuse_audit ON audit_log;").await;

    let before = events_and_audit(spec).await;
    let a = call(&f.app, "post", &url, Some(&c), Some(lvef)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(events_and_audit(spec).await, (before.0 + 1, before.1 + 1), "one record, one audit entry");
    let (entry, intact) = last_audit(spec).await;
    assert!(intact);
    assert_eq!((entry.seq, entry.record.who.as_str(), entry.record.action.as_str()), (before.1 + 1, "clin", "create"));
    assert_eq!(entry.record.outcome, "success");
    assert_eq!(entry.record.patient_id.as_deref(), Some(f.patient_id.as_str()));
    assert!(entry.record.what.contains("echo_lvef"), "{}", entry.record.what);
    let a = call(&f.app, "post", "/api/admin/accounts", Some(&admin), Some(new_account)).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(last_audit(spec).await.0.record.what, "account unaudited (clinician)");
    let a = call(&f.app, "post", "/api/admin/accounts/other/disabled", Some(&admin), Some(disable)).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    assert_eq!(last_audit(spec).await.0.record.what, "account other: disabled");

    // Refused by the importer's conflict rule (in the store) and by validation (before it).
    let clash = json!({"kind": "event", "code": "echo_lvef", "time": t0, "value": "40"});
    let invalid = json!({"kind": "event", "code": "echo_lvef", "time": t0, "value": "95"});
    for body in [clash, invalid] {
        let before = events_and_audit(spec).await;
        let a = call(&f.app, "post", &url, Some(&c), Some(body.clone())).await;
        assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", a.body);
        assert_eq!(events_and_audit(spec).await, (before.0, before.1 + 1), "{body}: only the refusal is logged");
        let (entry, intact) = last_audit(spec).await;
        assert!(intact);
        assert!(entry.record.outcome.starts_with("refused: "), "{body}: {}", entry.record.outcome);
        assert_eq!(entry.record.outcome, format!("refused: {}", a.json()["reason"].as_str().unwrap()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_is_stored_only_with_its_audit_entry() {
    entries_and_their_audit_entries_commit_together(&fixture()).await;
}

/// Alter audit entry 2 directly in the file, as someone with access to the file could.
fn tamper(db: &std::path::Path) -> usize {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute("UPDATE audit_log SET who = 'nobody' WHERE seq = 2", []).unwrap()
}

#[tokio::test]
async fn lists_paginate_sort_filter_and_reject_bad_parameters() {
    let f = fixture();
    let c = login(&f.app, "clin").await;
    let p = call(&f.app, "get", "/api/runs?per_page=4&page=2&sort=current_vis&order=desc", Some(&c), None).await.json();
    assert_eq!(p["total"], 6);
    assert_eq!(p["pages"], 2);
    assert_eq!(p["items"].as_array().unwrap().len(), 2);
    assert!(p["items"][0]["decision_status"].is_string(), "the decision tree's recommendation is listed");
    let v = call(&f.app, "get", &format!("/api/runs/{}", f.run_id), Some(&c), None).await.json();
    let a = &v["assessment"];
    assert!(!a["vad"]["steps"].as_array().unwrap().is_empty(), "each step with its evidence");
    assert!(a["vad"]["recommendation"].as_str().is_some());
    assert!(!a["readiness"]["items"].as_array().unwrap().is_empty());
    let all = call(&f.app, "get", "/api/runs?sort=hours_on_ecmo", Some(&c), None).await.json();
    let hours: Vec<f64> = all["items"].as_array().unwrap().iter().filter_map(|r| r["hours_on_ecmo"].as_f64()).collect();
    assert!(hours.windows(2).all(|w| w[0] <= w[1]), "{hours:?}");
    let filtered = call(&f.app, "get", &format!("/api/runs?q={}", f.run_id), Some(&c), None).await.json();
    assert_eq!(filtered["total"], 1);
    for (q, field) in
        [("sort=shoe_size", "sort"), ("order=up", "order"), ("per_page=0", "per_page"), ("page=x", "page")]
    {
        let a = call(&f.app, "get", &format!("/api/runs?{q}"), Some(&c), None).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{q}");
        assert_eq!(a.json()["field"], field, "{q}");
    }
    let r = login(&f.app, "res").await;
    let a = call(&f.app, "get", "/api/research/runs?sort=run_id", Some(&r), None).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "researchers cannot sort by identifiers");
}

#[tokio::test]
async fn patient_page_shows_timelines_scores_and_entry_errors_beside_the_field() {
    let f = fixture();
    let c = login(&f.app, "clin").await;
    let page = call(&f.app, "get", &format!("/patients/{}", f.run_id), Some(&c), None).await;
    assert_eq!(page.status, StatusCode::OK);
    for s in
        ["Mean arterial pressure", "Lactate", "VIS (Gaies 2010)", "Fluid balance", "ECMO pump flow", "SOFA", "<svg"]
    {
        assert!(page.body.contains(s), "{s}");
    }
    let req = Request::builder()
        .method("POST")
        .uri(format!("/patients/{}/entries", f.run_id))
        .header(header::COOKIE, &c)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("kind=observation&code=gcs&time=2000-01-01+00%3A00&value=22&unit=&detail="))
        .unwrap();
    let res = f.app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = String::from_utf8(axum::body::to_bytes(res.into_body(), 1 << 24).await.unwrap().to_vec()).unwrap();
    assert!(body.contains(r#"class="field-error" role="alert" data-field="value""#), "error beside the value field");
}

/// Start a study as `cookie` and wait until it has finished; returns the job view.
async fn run_study(app: &Router, cookie: &str, body: Value) -> Value {
    let a = call(app, "post", "/api/studies/runs", Some(cookie), Some(body)).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.body);
    let id = a.json()["id"].as_u64().unwrap();
    for _ in 0..600 {
        let j = call(app, "get", &format!("/api/studies/runs/{id}"), Some(cookie), None).await.json();
        if j["state"] != "running" {
            return j;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("study did not finish");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn researchers_run_studies_and_read_pseudonymised_reports() {
    let f = fixture();
    let r = login(&f.app, "res").await;
    let j = run_study(&f.app, &r, json!({"study": "vad", "bootstrap": "5"})).await;
    assert_eq!(j["state"], "done", "{j}");
    let report = call(&f.app, "get", j["report"].as_str().unwrap(), Some(&r), None).await;
    assert_eq!(report.status, StatusCode::OK);
    assert!(report.body.contains("<svg") || report.body.contains("<table"), "an HTML report");
    assert_eq!(leaks(&f, &report.body), None, "the report names runs by pseudonym only");
    let results = call(&f.app, "get", j["results"].as_str().unwrap(), Some(&r), None).await;
    assert_eq!(leaks(&f, &results.body), None);
    // A custom study with a mistake is refused with the reason, naming the field.
    let bad = call(&f.app, "post", "/api/studies/runs", Some(&r), Some(json!({"toml": "[study]\nname = 1"}))).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert_eq!(bad.json()["field"], "toml");
    let unknown = call(&f.app, "post", "/api/studies/runs", Some(&r), Some(json!({"study": "astrology"}))).await;
    assert_eq!(unknown.json()["field"], "study");
}
