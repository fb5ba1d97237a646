//! Studies run from the browser (ecmo-study, ecmo-report) as background jobs, and
//! the list of installed prediction models. Researchers only; the reports they get
//! name runs by pseudonym and carry no calendar date of the data.

use crate::api::ClientAddr;
use crate::auth::{Session, now};
use crate::error::{ApiError, FieldError};
use crate::pages::esc;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ecmo_scores::features::{FeatureBuilder, FeatureConfig};
use ecmo_store::accounts::Role;
use ecmo_study::{BUILTIN, RunOptions, StudyDef, StudyRun};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub const RESEARCH: &[Role] = &[Role::Researcher];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Running,
    Done,
    Failed,
}

/// One study run started from the browser.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: u64,
    pub study: String,
    pub title: String,
    pub owner: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub state: JobState,
    pub progress: String,
    pub error: Option<String>,
    pub html: Option<Arc<String>>,
    pub json: Option<Arc<String>>,
}

/// A job as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct JobView {
    pub id: u64,
    pub study: String,
    pub title: String,
    pub owner: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub state: JobState,
    pub progress: String,
    pub error: Option<String>,
    /// The HTML report, once done.
    pub report: Option<String>,
    pub results: Option<String>,
}

impl Job {
    pub fn view(&self) -> JobView {
        let done = self.state == JobState::Done;
        JobView {
            id: self.id,
            study: self.study.clone(),
            title: self.title.clone(),
            owner: self.owner.clone(),
            started_at: ecmo_store::audit::utc(self.started_at),
            finished_at: self.finished_at.map(ecmo_store::audit::utc),
            state: self.state,
            progress: self.progress.clone(),
            error: self.error.clone(),
            report: done.then(|| format!("/api/studies/runs/{}/report", self.id)),
            results: done.then(|| format!("/api/studies/runs/{}/results.json", self.id)),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct BuiltIn {
    pub name: String,
    pub title: String,
    pub source: String,
}

pub fn builtins() -> Vec<BuiltIn> {
    BUILTIN
        .iter()
        .filter_map(|(name, _)| {
            let d = StudyDef::builtin(name).ok()?;
            Some(BuiltIn { name: name.to_string(), title: d.study.title, source: d.study.source })
        })
        .collect()
}

pub async fn list_builtins(State(state): State<AppState>, session: Session) -> Result<Json<Vec<BuiltIn>>, ApiError> {
    session.require(&state, RESEARCH, "studies").await?;
    Ok(Json(builtins()))
}

/// Start a study: a built-in `study` by name, or a custom study definition in `toml`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StartStudy {
    #[serde(default)]
    pub study: Option<String>,
    #[serde(default)]
    pub toml: Option<String>,
    /// Replace the study's bootstrap resamples (1-2000; fewer for a quick look).
    #[serde(default)]
    pub bootstrap: Option<String>,
}

fn parse_request(req: &StartStudy) -> Result<(StudyDef, String, String), ApiError> {
    let custom = req.toml.as_deref().map(str::trim).filter(|t| !t.is_empty());
    let named = req.study.as_deref().map(str::trim).filter(|t| !t.is_empty());
    match (named, custom) {
        (_, Some(text)) => {
            let def = StudyDef::parse(text, "custom study").map_err(|e| {
                ApiError::unprocessable(vec![FieldError {
                    field: Some("toml".into()),
                    value: None,
                    reason: e.to_string(),
                }])
            })?;
            Ok((def, text.to_string(), "custom".into()))
        }
        (Some(name), None) => {
            let text = BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, t)| t.to_string()).ok_or_else(|| {
                let names: Vec<&str> = BUILTIN.iter().map(|(n, _)| *n).collect();
                ApiError::unprocessable(vec![FieldError {
                    field: Some("study".into()),
                    value: Some(name.into()),
                    reason: format!("no built-in study of this name (built-in: {})", names.join(", ")),
                }])
            })?;
            let def = StudyDef::parse(&text, &format!("built-in study {name}")).map_err(ApiError::internal)?;
            Ok((def, text, name.to_string()))
        }
        (None, None) => Err(ApiError::unprocessable(vec![FieldError {
            field: Some("study".into()),
            value: None,
            reason: "give a built-in study name or a study definition (TOML, docs/studies.md)".into(),
        }])),
    }
}

fn set(state: &AppState, id: u64, f: impl FnOnce(&mut Job)) {
    if let Ok(mut jobs) = state.jobs.lock()
        && let Some(j) = jobs.iter_mut().find(|j| j.id == id)
    {
        f(j);
    }
}

/// Read every run, run the study, render the report; updates the job as it goes.
fn run_job(
    state: &AppState,
    id: u64,
    def: StudyDef,
    text: String,
    bootstrap: Option<usize>,
) -> Result<(String, String), String> {
    let store = state.pool.get().map_err(|e| e.to_string())?;
    let total = store.counts().map_err(|e| e.to_string())?.runs;
    let cfg = FeatureConfig::default();
    let mut builder = FeatureBuilder::new();
    let rules = ecmo_study::VadRules::published();
    let mut runs = Vec::with_capacity(total as usize);
    store
        .for_each_run(&mut |rec| {
            runs.push(StudyRun::from_record(&rec, &mut builder, &cfg, &rules));
            if runs.len().is_multiple_of(250) {
                let n = runs.len();
                set(state, id, |j| j.progress = format!("reading runs: {n} of {total}"));
            }
            Ok(())
        })
        .map_err(|e| e.to_string())?;
    drop(store);
    let mut progress = |what: &str| set(state, id, |j| j.progress = format!("analysing: {what}"));
    let opts = RunOptions {
        software: "ecmo-cds (web)".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        // The report's date is today's, not the latest record's: no calendar date of the data.
        date: Some(ecmo_store::audit::utc(now())[..10].to_string()),
        data_source: "the registry (pseudonymised research view)".into(),
        bootstrap,
        progress: &mut progress,
    };
    let mut result = ecmo_study::run_study(&def, &text, &runs, opts).map_err(|e| e.to_string())?;
    if let Some(tree) = result.decision_tree.as_mut() {
        for p in &mut tree.patients {
            p.run_id = crate::pseudo::pseudonym(&state.pseudonym_key, &p.run_id);
        }
    }
    let json = serde_json::to_string_pretty(&result).map_err(|e| e.to_string())?;
    Ok((ecmo_report::render_html(&result), json))
}

/// Start a job (validated first); returns its view.
pub async fn start(state: &AppState, session: &Session, req: StartStudy) -> Result<JobView, ApiError> {
    session.require(state, RESEARCH, "studies").await?;
    let (def, text, name) = parse_request(&req)?;
    let bootstrap = match req.bootstrap.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
        None => None,
        Some(b) => match b.parse::<usize>() {
            Ok(n) if (1..=2000).contains(&n) => Some(n),
            _ => return Err(ApiError::bad_request("bootstrap", b, "expected a whole number from 1 to 2000")),
        },
    };
    let job = {
        let mut jobs = state.jobs.lock().map_err(|_| ApiError::internal("job list poisoned"))?;
        let id = jobs.iter().map(|j| j.id).max().unwrap_or(0) + 1;
        let job = Job {
            id,
            study: name.clone(),
            title: def.study.title.clone(),
            owner: session.account.name.clone(),
            started_at: now(),
            finished_at: None,
            state: JobState::Running,
            progress: "queued".into(),
            error: None,
            html: None,
            json: None,
        };
        jobs.push(job.clone());
        job
    };
    // A study reads every run of the registry (pseudonymised in what it shows).
    session.audit(state, "execute", &format!("study {name} (job {})", job.id), None, "success").await?;
    let (st, id) = (state.clone(), job.id);
    tokio::task::spawn_blocking(move || {
        let outcome = run_job(&st, id, def, text, bootstrap);
        set(&st, id, |j| {
            j.finished_at = Some(now());
            match outcome {
                Ok((html, json)) => {
                    j.state = JobState::Done;
                    j.progress = "done".into();
                    j.html = Some(Arc::new(html));
                    j.json = Some(Arc::new(json));
                }
                Err(e) => {
                    j.state = JobState::Failed;
                    j.progress = "failed".into();
                    j.error = Some(e);
                }
            }
        });
    });
    Ok(job.view())
}

pub async fn post_run(
    State(state): State<AppState>,
    session: Session,
    Json(req): Json<StartStudy>,
) -> Result<Response, ApiError> {
    Ok((StatusCode::ACCEPTED, Json(start(&state, &session, req).await?)).into_response())
}

pub fn job(state: &AppState, id: &str) -> Result<Job, ApiError> {
    let n: u64 = id.parse().map_err(|_| ApiError::bad_request("job_id", id, "expected a job number"))?;
    let jobs = state.jobs.lock().map_err(|_| ApiError::internal("job list poisoned"))?;
    jobs.iter().find(|j| j.id == n).cloned().ok_or_else(|| ApiError::not_found("job_id", id, "no such study run"))
}

pub async fn list_runs(State(state): State<AppState>, session: Session) -> Result<Json<Vec<JobView>>, ApiError> {
    session.require(&state, RESEARCH, "studies").await?;
    let jobs = state.jobs.lock().map_err(|_| ApiError::internal("job list poisoned"))?;
    Ok(Json(jobs.iter().rev().map(Job::view).collect()))
}

pub async fn get_run(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    session.require(&state, RESEARCH, "studies").await?;
    Ok(Json(job(&state, &id)?.view()))
}

fn finished(j: &Job) -> Result<(), ApiError> {
    match j.state {
        JobState::Done => Ok(()),
        JobState::Running => Err(ApiError::new(
            StatusCode::CONFLICT,
            Some("job_id"),
            Some(&j.id.to_string()),
            format!("the study is still running ({})", j.progress),
        )),
        JobState::Failed => Err(ApiError::new(
            StatusCode::CONFLICT,
            Some("job_id"),
            Some(&j.id.to_string()),
            format!("the study failed: {}", j.error.as_deref().unwrap_or("")),
        )),
    }
}

/// A finished job's output, for a researcher; the reading is audited.
async fn finished_job(state: &AppState, session: &Session, id: &str, what: &str) -> Result<Job, ApiError> {
    session.require(state, RESEARCH, "studies").await?;
    let j = job(state, id)?;
    finished(&j)?;
    session.audit(state, "read", &format!("study {what} {} (job {})", j.study, j.id), None, "success").await?;
    Ok(j)
}

/// The self-contained HTML report (inline styles and SVG; no scripts).
pub async fn report(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let j = finished_job(&state, &session, &id, "report").await?;
    let html = j.html.map(|h| h.as_str().to_string()).unwrap_or_default();
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'; img-src data:".into()),
        ],
        html,
    )
        .into_response())
}

pub async fn results(
    State(state): State<AppState>,
    session: Session,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let j = finished_job(&state, &session, &id, "results").await?;
    let json = j.json.map(|h| h.as_str().to_string()).unwrap_or_default();
    let disposition = format!("attachment; filename=\"{}-results.json\"", j.study);
    Ok(([(header::CONTENT_TYPE, "application/json".to_string()), (header::CONTENT_DISPOSITION, disposition)], json)
        .into_response())
}

/// An installed prediction model, as listed (no covariance matrix).
#[derive(Debug, Serialize)]
pub struct ModelSummary {
    pub id: String,
    pub version: String,
    pub title: String,
    pub outcome: String,
    pub population: String,
    pub predictors: Vec<String>,
    pub development: ecmo_model::Development,
    pub caveats: Vec<String>,
}

pub fn models(state: &AppState) -> Vec<ModelSummary> {
    state
        .assess
        .models
        .iter()
        .map(|m| ModelSummary {
            id: m.id.clone(),
            version: m.version.clone(),
            title: m.title.clone(),
            outcome: m.outcome.description.clone(),
            population: m.population.description.clone(),
            predictors: m.predictors.iter().map(|p| p.name.clone()).collect(),
            development: m.development.clone(),
            caveats: m.caveats.clone(),
        })
        .collect()
}

pub async fn list_models(State(state): State<AppState>, session: Session) -> Result<Json<Vec<ModelSummary>>, ApiError> {
    session.require(&state, RESEARCH, "fitted models").await?;
    Ok(Json(models(&state)))
}

// ------------------------------------------------------------------ pages

fn page(state: &AppState, session: &Session, error: Option<&ApiError>) -> String {
    let mut s = String::from(
        r#"<h1>Studies</h1><p class="note">A study reads every run of the registry; its report shows aggregates, runs named by pseudonym.</p>"#,
    );
    if let Some(e) = error {
        let _ = std::fmt::Write::write_fmt(
            &mut s,
            format_args!(r#"<p class="error" role="alert">{}</p>"#, esc(e.reason())),
        );
    }
    s.push_str(r#"<table><tr><th>Study</th><th>Reproduces</th><th></th></tr>"#);
    for b in builtins() {
        s.push_str(&format!(
            r#"<tr><td>{}</td><td>{}</td><td><form method="post" action="/studies/runs" class="inline"><input type="hidden" name="study" value="{}"><label class="inline">bootstrap <input name="bootstrap" size="4" placeholder="default"></label> <button type="submit">Run {}</button></form></td></tr>"#,
            esc(&b.title),
            esc(&b.source),
            esc(&b.name),
            esc(&b.name)
        ));
    }
    s.push_str(r#"</table><h2>Custom study</h2><form method="post" action="/studies/runs" class="custom"><label>Study definition (TOML, docs/studies.md) <textarea name="toml" rows="10" cols="90"></textarea></label><button type="submit">Run custom study</button></form><h2>Runs</h2><table class="jobs"><tr><th>#</th><th>Study</th><th>By</th><th>Started (UTC)</th><th>State</th><th>Progress</th><th></th></tr>"#);
    let jobs: Vec<Job> = state.jobs.lock().map(|j| j.iter().rev().cloned().collect()).unwrap_or_default();
    for j in jobs {
        let links = if j.state == JobState::Done {
            format!(
                r#"<a href="/api/studies/runs/{0}/report">report</a> · <a href="/api/studies/runs/{0}/report" download="{1}-report.html">download</a> · <a href="/api/studies/runs/{0}/results.json">results.json</a>"#,
                j.id,
                esc(&j.study)
            )
        } else {
            esc(j.error.as_deref().unwrap_or(""))
        };
        s.push_str(&format!(
            r#"<tr data-job="{}"><td><a href="/studies/runs/{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td class="state">{:?}</td><td class="progress">{}</td><td>{links}</td></tr>"#,
            j.id,
            j.id,
            j.id,
            esc(&j.title),
            esc(&j.owner),
            ecmo_store::audit::utc(j.started_at),
            j.state,
            esc(&j.progress)
        ));
    }
    s.push_str("</table>");
    let _ = session;
    s
}

pub async fn studies_page(State(state): State<AppState>, session: Session) -> Response {
    if let Err(e) = session.require(&state, RESEARCH, "studies").await {
        return crate::pages::error_page(Some(&session), e);
    }
    crate::pages::layout("Studies", Some(&session), &page(&state, &session, None)).into_response()
}

pub async fn post_study_page(
    State(state): State<AppState>,
    session: Session,
    _addr: ClientAddr,
    axum::Form(req): axum::Form<StartStudy>,
) -> Response {
    match start(&state, &session, req).await {
        Ok(j) => axum::response::Redirect::to(&format!("/studies/runs/{}", j.id)).into_response(),
        Err(e) if e.status == StatusCode::FORBIDDEN || e.status == StatusCode::UNAUTHORIZED => {
            crate::pages::error_page(Some(&session), e)
        }
        Err(e) => (e.status, crate::pages::layout("Studies", Some(&session), &page(&state, &session, Some(&e))))
            .into_response(),
    }
}

pub async fn job_page(State(state): State<AppState>, session: Session, Path(id): Path<String>) -> Response {
    if let Err(e) = session.require(&state, RESEARCH, "studies").await {
        return crate::pages::error_page(Some(&session), e);
    }
    let j = match job(&state, &id) {
        Ok(j) => j,
        Err(e) => return crate::pages::error_page(Some(&session), e),
    };
    let body = match j.state {
        JobState::Done => format!(
            r#"<p class="saved" role="status">Done.</p><p><a href="/api/studies/runs/{0}/report">Open the report</a> · <a href="/api/studies/runs/{0}/report" download="{1}-report.html">download it</a> · <a href="/api/studies/runs/{0}/results.json">results.json</a></p>"#,
            j.id,
            esc(&j.study)
        ),
        JobState::Failed => {
            format!(r#"<p class="error" role="alert">The study failed: {}</p>"#, esc(j.error.as_deref().unwrap_or("")))
        }
        JobState::Running => format!(
            r#"<p role="status" data-poll="/api/studies/runs/{}">Running: <span class="progress">{}</span></p><p class="note">This page follows the progress (reload it if scripts are off).</p>"#,
            j.id,
            esc(&j.progress)
        ),
    };
    let html =
        format!(r#"<h1>Study run {}: {}</h1>{body}<p><a href="/studies">All studies</a></p>"#, j.id, esc(&j.title));
    crate::pages::layout("Study run", Some(&session), &html).into_response()
}

pub async fn models_page(State(state): State<AppState>, session: Session) -> Response {
    if let Err(e) = session.require(&state, RESEARCH, "fitted models").await {
        return crate::pages::error_page(Some(&session), e);
    }
    let mut s = String::from(r#"<h1>Prediction models</h1>"#);
    let list = models(&state);
    if list.is_empty() {
        s.push_str(r#"<p class="muted">No model installed. Fit one with <code>ecmo model fit STUDY --db DB --out models/NAME.json</code> and start the server with <code>--models models</code>.</p>"#);
    } else {
        s.push_str("<table><tr><th>Model</th><th>Outcome</th><th>Predictors</th><th>n (events)</th><th>AUC apparent</th><th>AUC optimism-corrected</th><th>Calibration slope</th></tr>");
        for m in &list {
            let d = &m.development;
            s.push_str(&format!(
                "<tr><td>{} <span class=\"muted\">{} v{}</span></td><td>{}</td><td>{}</td><td>{} ({})</td><td>{:.3}</td><td>{}</td><td>{:.3}</td></tr>",
                esc(&m.title),
                esc(&m.id),
                esc(&m.version),
                esc(&m.outcome),
                esc(&m.predictors.join(", ")),
                d.n,
                d.events,
                d.auc_apparent,
                d.auc_optimism_corrected.map(|a| format!("{a:.3}")).unwrap_or_else(|| "—".into()),
                d.calibration_slope
            ));
        }
        s.push_str("</table>");
    }
    crate::pages::layout("Models", Some(&session), &s).into_response()
}
