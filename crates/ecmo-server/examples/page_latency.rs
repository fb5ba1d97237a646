//! Patient-page latency on a large registry (issue 7: p95 < 100 ms on 10,000 runs).
//!
//! `cargo run --release -p ecmo-server --example page_latency -- DB [RUNS] [REQUESTS] [MODELS_DIR]`
//! creates DB with RUNS synthetic runs if it does not exist, builds the patient list,
//! then requests `/patients/{run}` for random runs through the full router (session
//! lookup, audit append, load, scores, decision tree, HTML and SVG) and prints the
//! percentiles. The HTTP parsing of a real socket is not included (well under 1 ms).

use axum::body::Body;
use axum::http::{Request, header};
use ecmo_server::{AppState, auth, build_list_cache, router};
use ecmo_store::Store;
use ecmo_store::accounts::{Accounts, Role};
use ecmo_store::sqlite::SqliteStore;
use std::time::Instant;
use tower::ServiceExt;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let db = std::path::PathBuf::from(args.get(1).cloned().unwrap_or_else(|| "latency.db".into()));
    let runs: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let requests: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(300);
    if !db.exists() {
        let t = Instant::now();
        let dir = tempfile::tempdir().expect("temporary directory");
        ecmo_synth::write_registry(dir.path(), runs, 42, &ecmo_synth::Mix::default(), 2, &|_| {}).expect("synth");
        let mut store = SqliteStore::open(&db).expect("open");
        let r = ecmo_store::import_dir(&mut store, dir.path(), false).expect("import");
        assert!(r.committed);
        let hash = auth::hash_password("latency-test-password").expect("hash");
        store.add_account("bench", Role::Clinician, &hash, 0).expect("account");
        eprintln!("created {} with {runs} runs in {:.1} s", db.display(), t.elapsed().as_secs_f64());
    }
    let ids: Vec<String> =
        SqliteStore::open(&db).expect("open").run_summaries().expect("runs").into_iter().map(|r| r.run_id).collect();
    let mut assess = ecmo_bedside::AssessConfig::default();
    if let Some(dir) = args.get(4) {
        for (path, m) in ecmo_model::list_dir(std::path::Path::new(dir)).expect("models directory") {
            assess.models.push(m.unwrap_or_else(|e| panic!("{}: {e}", path.display())));
        }
        eprintln!("{} prediction model(s) from {dir}", assess.models.len());
    }
    let state = AppState::open_with(&db.to_string_lossy(), assess).expect("state");
    let t = Instant::now();
    build_list_cache(&state);
    eprintln!("patient list of {} runs built in {:.1} s", ids.len(), t.elapsed().as_secs_f64());
    let app = router(state.clone());
    let login = Request::post("/api/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"name":"bench","password":"latency-test-password"}"#))
        .expect("request");
    let res = app.clone().oneshot(login).await.expect("login");
    let cookie =
        res.headers()[header::SET_COOKIE].to_str().expect("cookie").split(';').next().unwrap_or("").to_string();
    // A fixed-seed LCG picks the runs: reproducible, no extra dependency.
    let mut x: u64 = 12345;
    let mut times = Vec::with_capacity(requests);
    let mut bytes = 0usize;
    for i in 0..requests + 20 {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let id = &ids[(x >> 33) as usize % ids.len()];
        let req =
            Request::get(format!("/patients/{id}")).header(header::COOKIE, &cookie).body(Body::empty()).expect("r");
        let t = Instant::now();
        let res = app.clone().oneshot(req).await.expect("page");
        assert!(res.status().is_success(), "{}", res.status());
        let body = axum::body::to_bytes(res.into_body(), 1 << 28).await.expect("body");
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        // The first requests warm the connection pool and caches.
        if i >= 20 {
            times.push(ms);
            bytes += body.len();
        }
    }
    times.sort_by(f64::total_cmp);
    let q = |p: f64| times[((times.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "patient page, {} requests on {} runs: p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms; mean page {} kB",
        times.len(),
        ids.len(),
        q(0.5),
        q(0.95),
        q(0.99),
        times[times.len() - 1],
        bytes / times.len() / 1024
    );
}
