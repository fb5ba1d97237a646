//! The web application of ecmo-cds: bedside dashboard (clinicians), pseudonymised
//! cohort view (researchers), accounts and the audit log (admins), and the JSON
//! API behind them (docs/api.md, docs/security.md).
//!
//! Handlers are thin: they check the session's role, append to the audit log,
//! and call `views` (what a page shows), `entry` (hand-recorded values through
//! the importer's validation) and the store.

pub mod api;
pub mod auth;
mod chart;
pub mod entry;
pub mod error;
pub mod fhir;
pub mod openapi;
pub mod pages;
pub mod pseudo;
pub mod state;
pub mod studies;
pub mod views;

pub use state::AppState;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use std::collections::HashMap;
use std::net::SocketAddr;

/// Every route. API routes must also be listed in `api::API_ROUTES` (a test reads this function).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/login", post(api::login))
        .route("/api/logout", post(api::logout))
        .route("/api/me", get(api::me))
        .route("/api/openapi.json", get(api::openapi))
        .route("/api/runs", get(api::runs))
        .route("/api/runs/{run_id}", get(api::run))
        .route("/api/runs/{run_id}/entries", post(api::post_entry))
        .route("/api/research/runs", get(api::research_runs))
        .route("/api/research/runs/{pseudonym}", get(api::research_run))
        .route("/api/admin/accounts", get(api::accounts).post(api::post_account))
        .route("/api/admin/accounts/{name}/disabled", post(api::set_disabled))
        .route("/api/admin/audit", get(api::audit))
        .route("/api/admin/audit/verify", get(api::audit_verify))
        .route("/api/admin/audit/fhir", get(api::audit_fhir))
        .route("/api/studies", get(studies::list_builtins))
        .route("/api/studies/runs", get(studies::list_runs).post(studies::post_run))
        .route("/api/studies/runs/{job_id}", get(studies::get_run))
        .route("/api/studies/runs/{job_id}/report", get(studies::report))
        .route("/api/studies/runs/{job_id}/results.json", get(studies::results))
        .route("/api/models", get(studies::list_models))
        .route("/", get(pages::home))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/patients", get(pages::patients))
        .route("/patients/{run_id}", get(pages::patient))
        .route("/patients/{run_id}/entries", post(pages::post_entry))
        .route("/research", get(pages::research))
        .route("/research/{pseudonym}", get(pages::research_run))
        .route("/studies", get(studies::studies_page))
        .route("/studies/runs", post(studies::post_study_page))
        .route("/studies/runs/{job_id}", get(studies::job_page))
        .route("/models", get(studies::models_page))
        .route("/admin", get(pages::admin))
        .route("/admin/accounts", post(pages::post_account))
        .route("/admin/audit", get(pages::audit))
        .route("/assets/app.css", get(pages::css))
        .route("/assets/app.js", get(pages::js))
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// Everything is served by this program: the policy allows nothing else.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    // A handler may set a stricter policy of its own (the self-contained study report).
    h.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(
        "default-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
    ));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    res
}

/// Build the patient list (blocking; run it on a blocking thread).
pub fn build_list_cache(state: &AppState) {
    let result = state.pool.get().map_err(|e| e.to_string()).and_then(|s| {
        views::build_list(&*s, &state.pseudonym_key, &mut |done, total| {
            if let Ok(mut c) = state.list.write() {
                c.progress = done;
                c.total = total;
            }
        })
        .map_err(|e| e.to_string())
    });
    if let Ok(mut c) = state.list.write() {
        match result {
            Ok(rows) => {
                c.by_run = rows.iter().enumerate().map(|(i, r)| (r.run_id.clone(), i)).collect::<HashMap<_, _>>();
                c.by_pseudonym = rows.iter().enumerate().map(|(i, r)| (r.pseudonym.clone(), i)).collect();
                c.total = rows.len();
                c.progress = rows.len();
                c.rows = rows;
                c.ready = true;
            }
            Err(e) => c.failure = Some(e),
        }
    }
}

/// Serve until interrupted (Ctrl-C / SIGTERM).
pub async fn serve(state: AppState, addr: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    println!("ecmo-cds listening on http://{local}/ (Ctrl-C stops)");
    let s = state.clone();
    tokio::task::spawn_blocking(move || build_list_cache(&s));
    axum::serve(listener, router(state).into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown())
        .await
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
