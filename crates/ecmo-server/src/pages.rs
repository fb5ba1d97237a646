//! Server-rendered pages. They call the same functions as the JSON API (`api.rs`),
//! so a page shows nothing the API would not give the same account.

use crate::api::{self, ClientAddr, ListQuery, NewAccount, PageQuery};
use crate::auth::{self, Session};
use crate::chart;
use crate::entry::{self, Entry};
use crate::error::{ApiError, FieldError};
use crate::state::AppState;
use crate::views::{Latest, ListRow, Mark, PatientView, Timeline};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use ecmo_scores::ScoreResult;
use ecmo_scores::series::Derived;
use ecmo_store::accounts::Role;
use serde::Deserialize;
use std::fmt::Write as _;

pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Percent-encoding for query values in links.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

fn num(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r.fract() == 0.0 { format!("{r:.0}") } else { format!("{r:.1}") }
}

fn opt_num(v: Option<f64>) -> String {
    v.map(num).unwrap_or_else(|| "—".into())
}

fn latest(l: &Option<Latest>) -> String {
    match l {
        Some(l) => format!(
            r#"{} {}<span class="when">at {}{} h</span>"#,
            num(l.value),
            esc(l.unit),
            if l.hours >= 0.0 { "+" } else { "" },
            num(l.hours)
        ),
        None => "—".into(),
    }
}

/// The page frame.
pub fn layout(title: &str, session: Option<&Session>, body: &str) -> Html<String> {
    let nav = match session {
        None => String::new(),
        Some(s) => {
            let links = match s.role() {
                Role::Clinician => r#"<a href="/patients">Patients</a>"#,
                Role::Researcher => {
                    r#"<a href="/research">Cohort</a> <a href="/studies">Studies</a> <a href="/models">Models</a>"#
                }
                Role::Admin => r#"<a href="/admin">Accounts</a> <a href="/admin/audit">Audit log</a>"#,
            };
            format!(
                r#"<nav>{links}<span class="who">{} ({})</span><form method="post" action="/logout" class="inline"><button type="submit">Log out</button></form></nav>"#,
                esc(&s.account.name),
                s.role()
            )
        }
    };
    Html(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{} · ecmo-cds</title><link rel="stylesheet" href="/assets/app.css"><script src="/assets/app.js" defer></script></head>
<body><header><a class="brand" href="/">ecmo-cds</a>{nav}</header><main>{body}</main>
<footer>Decision support for VA-ECMO. Every value shows its time and source; check against the chart before acting.</footer></body></html>"#,
        esc(title)
    ))
}

/// An error as a page (401 goes to the login page).
pub fn error_page(session: Option<&Session>, e: ApiError) -> Response {
    if e.status == StatusCode::UNAUTHORIZED {
        return Redirect::to("/login").into_response();
    }
    let body = format!(r#"<h1>{}</h1><p class="error">{}</p>"#, e.status, esc(e.reason()));
    (e.status, layout("Error", session, &body)).into_response()
}

// ------------------------------------------------------------------ login

pub async fn login_form() -> Html<String> {
    login_page(None, "")
}

fn login_page(error: Option<&str>, name: &str) -> Html<String> {
    let err = error.map(|e| format!(r#"<p class="error" role="alert">{}</p>"#, esc(e))).unwrap_or_default();
    layout(
        "Log in",
        None,
        &format!(
            r#"<section class="login"><h1>Log in</h1>{err}<form method="post" action="/login">
<label>Name <input name="name" autocomplete="username" required value="{}"></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Log in</button></form></section>"#,
            esc(name)
        ),
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    name: String,
    password: String,
}

pub async fn login(State(state): State<AppState>, ClientAddr(from): ClientAddr, Form(f): Form<LoginForm>) -> Response {
    match auth::login(&state, &f.name, &f.password, &from).await {
        Ok((_, token)) => {
            ([(header::SET_COOKIE, auth::session_cookie(&state, &token))], Redirect::to("/")).into_response()
        }
        Err(e) => (e.status, login_page(Some(e.reason()), &f.name)).into_response(),
    }
}

pub async fn logout(State(state): State<AppState>, session: Session) -> Response {
    let _ = auth::logout(&state, &session).await;
    ([(header::SET_COOKIE, auth::clear_cookie())], Redirect::to("/login")).into_response()
}

pub async fn home(session: Session) -> Redirect {
    Redirect::to(match session.role() {
        Role::Clinician => "/patients",
        Role::Researcher => "/research",
        Role::Admin => "/admin",
    })
}

// ------------------------------------------------------------------ lists

fn list_controls(base: &str, q: &ListQuery, statuses: &[&str]) -> String {
    let mut opts = String::from(r#"<option value="">any status</option>"#);
    for s in statuses {
        let sel = if q.status.as_deref() == Some(*s) { " selected" } else { "" };
        let _ = write!(opts, r#"<option{sel}>{}</option>"#, esc(s));
    }
    format!(
        r#"<form class="filters" method="get" action="{base}"><label>Filter <input name="q" value="{}" placeholder="id, etiology, cohort, status"></label>
<label>Status <select name="status">{opts}</select></label><input type="hidden" name="sort" value="{}"><input type="hidden" name="order" value="{}"><button type="submit">Apply</button></form>"#,
        esc(q.q.as_deref().unwrap_or("")),
        esc(q.sort.as_deref().unwrap_or("flow_start")),
        esc(q.order.as_deref().unwrap_or("asc"))
    )
}

fn query_string(q: &ListQuery, sort: &str, order: &str, page: usize) -> String {
    format!(
        "?q={}&status={}&sort={}&order={}&page={page}&per_page={}",
        enc(q.q.as_deref().unwrap_or("")),
        enc(q.status.as_deref().unwrap_or("")),
        enc(sort),
        enc(order),
        enc(q.per_page.as_deref().unwrap_or("50"))
    )
}

fn sort_header(base: &str, q: &ListQuery, key: &str, label: &str) -> String {
    let current = q.sort.as_deref().unwrap_or("flow_start") == key;
    let asc = q.order.as_deref().unwrap_or("asc") == "asc";
    let next = if current && asc { "desc" } else { "asc" };
    let arrow = if current { if asc { " ▲" } else { " ▼" } } else { "" };
    let aria = if current { if asc { "ascending" } else { "descending" } } else { "none" };
    format!(
        r#"<th aria-sort="{aria}"><a href="{base}{}">{}{arrow}</a></th>"#,
        query_string(q, key, next, 1),
        esc(label)
    )
}

fn pager(base: &str, q: &ListQuery, page: usize, pages: usize, total: usize) -> String {
    let sort = q.sort.as_deref().unwrap_or("flow_start");
    let order = q.order.as_deref().unwrap_or("asc");
    let prev = if page > 1 {
        format!(r#"<a href="{base}{}">‹ previous</a>"#, query_string(q, sort, order, page - 1))
    } else {
        String::new()
    };
    let next = if page < pages {
        format!(r#"<a href="{base}{}">next ›</a>"#, query_string(q, sort, order, page + 1))
    } else {
        String::new()
    };
    format!(r#"<p class="pager">{prev} page {page} of {pages} ({total} runs) {next}</p>"#)
}

const STATUSES: &[&str] = &[
    "on ECMO",
    "decannulated",
    "decannulated, died later",
    "died on ECMO",
    "bridged to VAD",
    "bridged to heart transplant",
];

pub async fn patients(State(state): State<AppState>, session: Session, Query(q): Query<ListQuery>) -> Response {
    let page = match patient_rows(&state, &session, &q).await {
        Ok(p) => p,
        Err(e) => return error_page(Some(&session), e),
    };
    let base = "/patients";
    let mut t = String::from(r#"<table class="list"><thead><tr>"#);
    for (k, l) in [
        ("run_id", "Run"),
        ("patient_id", "Patient"),
        ("age_years", "Age, sex"),
        ("flow_start", "Mode, etiology, flow start"),
        ("hours_on_ecmo", "Time on ECMO"),
        ("current_vis", "Current VIS"),
        ("last_lactate", "Last lactate"),
        ("last_map", "Last MAP"),
        ("status", "Status"),
    ] {
        t.push_str(&sort_header(base, &q, k, l));
    }
    t.push_str("<th>Decision tree</th></tr></thead><tbody>");
    for r in &page.items {
        let _ = write!(
            t,
            r#"<tr><td><a href="/patients/{}">{}</a></td><td>{}</td><td>{} {}</td><td>{}-ECMO, {}<br><span class="when">{}</span></td><td>{} h</td><td>{}<span class="when">at +{} h</span></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            enc(&r.run_id),
            esc(&r.run_id),
            esc(&r.patient_id),
            opt_num(r.age_years.map(f64::floor)),
            esc(&r.sex),
            esc(&r.mode.to_uppercase()),
            esc(&r.etiology.replace('_', " ")),
            esc(&r.flow_start),
            opt_num(r.hours_on_ecmo),
            opt_num(r.current_vis),
            num(r.current_at_hours),
            latest(&r.last_lactate),
            latest(&r.last_map),
            esc(&r.status),
            decision_cell(r),
        );
    }
    t.push_str("</tbody></table>");
    let body = format!(
        r#"<h1>Patients</h1><p class="note">Current values are those in force at each run's latest record (VIS: Gaies 2010, from the infusion rates then running).</p>{}{}{t}{}"#,
        list_controls(base, &q, STATUSES),
        pager(base, &q, page.page, page.pages, page.total),
        pager(base, &q, page.page, page.pages, page.total)
    );
    layout("Patients", Some(&session), &body).into_response()
}

fn decision_cell(r: &ListRow) -> String {
    match &r.decision_status {
        Some(s) => esc(s),
        None => r#"<span class="muted">not assessed</span>"#.into(),
    }
}

async fn patient_rows(state: &AppState, session: &Session, q: &ListQuery) -> Result<api::Page<ListRow>, ApiError> {
    session.require(state, &[Role::Clinician], "the identified patient list").await?;
    let (page, per_page) = api::paging(&q.page, &q.per_page)?;
    let rows = api::select_rows(&api::cached_rows(state)?, q, false)?;
    session.audit(state, "read", "patient list", None, "success").await?;
    Ok(api::paginate(&rows, page, per_page))
}

// ------------------------------------------------------------------ patient page

fn charts(timelines: &[Timeline], marks: &[Mark], latest: f64) -> String {
    let range = chart::hour_range(timelines, marks, latest);
    let mut s = String::from(
        r#"<section class="charts"><h2>Timelines</h2><p class="note">Hours after ECMO flow start. Vertical lines: events (hover for details).</p>"#,
    );
    for t in timelines {
        let _ = write!(
            s,
            r#"<figure data-series="{}"><figcaption>{} <span class="unit">{}</span></figcaption>{}</figure>"#,
            esc(&t.key),
            esc(&t.label),
            esc(&t.unit),
            chart::svg(t, marks, range)
        );
    }
    s.push_str("</section>");
    s
}

fn events_table(marks: &[Mark]) -> String {
    let mut s = String::from(r#"<section><h2>Events</h2><table class="events"><tr><th>Time</th><th>Event</th></tr>"#);
    for m in marks {
        let _ = write!(
            s,
            "<tr><td>{}{} h</td><td>{}</td></tr>",
            if m.hours >= 0.0 { "+" } else { "" },
            num(m.hours),
            esc(&m.label)
        );
    }
    s.push_str("</table></section>");
    s
}

fn score_block(title: &str, window: &str, r: &ScoreResult) -> String {
    let total = match r.total {
        Some(t) => num(t),
        None => format!("not computable (missing: {})", esc(&r.missing.join(", "))),
    };
    let class = r.class.as_deref().map(|c| format!(" — {}", esc(c))).unwrap_or_default();
    let risk = r.risk.as_deref().map(|c| format!(r#"<p class="risk">{}</p>"#, esc(c))).unwrap_or_default();
    let mut s = format!(
        r#"<details class="score"><summary><strong>{}</strong> {total}{class} <span class="when">{}</span></summary>{risk}<table><tr><th>Component</th><th>Points</th><th>Value</th><th>Time</th><th>Source</th></tr>"#,
        esc(title),
        esc(window)
    );
    for c in &r.components {
        let value = match (c.value, &c.unit) {
            (Some(v), Some(u)) => format!("{} {}", num(v), esc(u)),
            (Some(v), None) => num(v),
            _ => c.note.as_deref().map(esc).unwrap_or_default(),
        };
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{value}</td><td>{}</td><td>{}</td></tr>",
            esc(&c.name),
            num(c.points),
            c.time.map(|t| t.to_string()).unwrap_or_default(),
            esc(c.source.as_deref().unwrap_or(""))
        );
    }
    s.push_str("</table>");
    if !r.assumed.is_empty() {
        let _ = write!(s, r#"<p class="note">Assumed normal: {}</p>"#, esc(&r.assumed.join(", ")));
    }
    let _ = write!(s, r#"<p class="note">{}</p></details>"#, esc(r.definition));
    s
}

fn derived_row(label: &str, d: &Derived<f64>) -> String {
    let value = match d.value {
        Some(v) => format!("{} {}", num(v), esc(d.unit)),
        None => format!(r#"<span class="muted">not available ({})</span>"#, esc(d.undefined.as_deref().unwrap_or(""))),
    };
    let sources: Vec<String> = d
        .provenance
        .iter()
        .take(4)
        .map(|r| {
            format!(
                "{} {} {} at {}{} h{}",
                esc(&r.code.replace('_', " ")),
                num(r.value),
                esc(&r.unit),
                if r.hours >= 0.0 { "+" } else { "" },
                num(r.hours),
                r.source.as_deref().map(|s| format!(" ({})", esc(s))).unwrap_or_default()
            )
        })
        .collect();
    let more = if d.provenance.len() > 4 { format!("; and {} more", d.provenance.len() - 4) } else { String::new() };
    format!("<tr><td>{}</td><td>{value}</td><td class=\"src\">{}{more}</td></tr>", esc(label), sources.join("; "))
}

fn scores_section(v: &PatientView) -> String {
    let sc = &v.scores;
    let mut s = String::from(
        r#"<section class="scores"><h2>Scores</h2><p class="note">Computed on the complete record; each with its components, the values used and their sources.</p>"#,
    );
    s.push_str(&score_block("SOFA", "worst values, first 24 h of ECMO", &sc.sofa_first_24h));
    s.push_str(&score_block("APACHE II", "worst values, first 24 h of ECMO", &sc.apache2_first_24h));
    s.push_str(&score_block("SAVE", "6 h before flow start", &sc.save));
    s.push_str(&score_block("ENCOURAGE", "6 h before flow start", &sc.encourage));
    s.push_str(r#"<table class="derived"><tr><th>Variable</th><th>Value</th><th>Based on</th></tr>"#);
    for (label, d) in [
        ("VIS at flow start", &sc.vis_at_0h),
        ("VIS at 24 h", &sc.vis_at_24h),
        ("VIS maximum, first 24 h", &sc.vis_max_simultaneous_24h),
        ("Lactate at admission", &sc.lactate_admission),
        ("Lactate at 24 h", &sc.lactate_at_24h),
        ("Lactate maximum, first 24 h", &sc.lactate_max_24h),
        ("Lactate clearance admission-48 h", &sc.lactate_clearance_admission_48h),
        ("MAP lowest, first 24 h", &sc.map_first_24h.min),
        ("MAP at 24 h", &sc.map_at_24h),
        ("Fluid balance, day 1", &sc.fluid_balance_day1),
        ("NSE at 24 h", &sc.nse_at_24h),
    ] {
        s.push_str(&derived_row(label, d));
    }
    s.push_str("</table></section>");
    s
}

fn pct(p: f64) -> String {
    format!("{:.0} %", p * 100.0)
}

fn models_section(a: &ecmo_bedside::Assessment) -> String {
    let mut s = String::from(r#"<section class="predictions"><h2>Predictions</h2>"#);
    if a.models.is_empty() {
        s.push_str(r#"<p class="muted">No prediction model is installed (fit one with <code>ecmo model fit</code> and start the server with <code>--models DIR</code>).</p>"#);
    }
    for m in &a.models {
        let o = &m.outcome;
        let headline = match &o.prediction {
            Some(p) => format!(
                r#"<p class="probability"><strong>{}</strong> probability of {} <span class="ci">(95 % CI {} – {})</span></p>"#,
                pct(p.probability),
                esc(&o.outcome),
                pct(p.ci_low),
                pct(p.ci_high)
            ),
            None => r#"<p class="error">No probability: a blocking guard applies (below).</p>"#.to_string(),
        };
        let _ = write!(
            s,
            r#"<article class="model" data-model="{}"><h3>{} <span class="muted">{} v{}</span></h3>{headline}"#,
            esc(&o.model_id),
            esc(&o.model_title),
            esc(&o.model_id),
            esc(&o.model_version)
        );
        if !o.guards.is_empty() {
            s.push_str(r#"<ul class="guards">"#);
            for g in &o.guards {
                let sev = format!("{:?}", g.severity).to_lowercase();
                let _ = write!(s, r#"<li class="guard guard-{sev}"><strong>{sev}</strong>: {}</li>"#, esc(&g.message));
            }
            s.push_str("</ul>");
        }
        if let Some(p) = &o.prediction {
            s.push_str("<table><tr><th>Predictor</th><th>Value</th><th>Transform</th><th>Coefficient</th><th>Log-odds</th><th>OR</th></tr>");
            for c in &p.contributions {
                let _ = write!(
                    s,
                    "<tr><td><strong>{}</strong><br><small>{}</small></td><td>{} {}</td><td>{}</td><td>{:.4}</td><td>{:+.3}</td><td>{:.3}</td></tr>",
                    esc(&c.name),
                    esc(&c.label),
                    num(c.value),
                    esc(&c.unit),
                    esc(&c.transform),
                    c.coefficient,
                    c.log_odds,
                    c.odds_ratio
                );
            }
            s.push_str("</table>");
        }
        let inputs: Vec<String> = o
            .inputs
            .iter()
            .map(|i| {
                format!(
                    "{} = {}{}",
                    esc(&i.name),
                    i.value.map(num).unwrap_or_else(|| "missing".into()),
                    i.time.as_deref().map(|t| format!(" ({})", esc(t))).unwrap_or_default()
                )
            })
            .collect();
        let _ = write!(
            s,
            r#"<p class="note">Inputs: {}. Population: {}. Developed on n = {} ({} events), AUC {:.2}{}.</p></article>"#,
            inputs.join("; "),
            esc(&m.population),
            m.development.n,
            m.development.events,
            m.development.auc_apparent,
            m.development.auc_optimism_corrected.map(|a| format!(" (optimism-corrected {a:.2})")).unwrap_or_default()
        );
    }
    s.push_str("</section>");
    s
}

fn readiness_section(r: &ecmo_bedside::readiness::Readiness) -> String {
    let mut s = format!(
        r#"<section class="readiness"><h2>{}</h2><table><tr><th>Item</th><th>Status</th><th>Value</th><th>Criterion</th><th>Finding</th></tr>"#,
        esc(&r.title)
    );
    for i in &r.items {
        let _ = write!(
            s,
            r#"<tr class="status-{}"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            i.status.label().replace(' ', "-"),
            esc(&i.label),
            i.status.label(),
            i.value.map(|v| format!("{} {}", num(v), esc(&i.unit))).unwrap_or_else(|| "—".into()),
            esc(&i.criterion),
            esc(&i.finding)
        );
    }
    let _ = write!(
        s,
        r#"</table><p class="note">Thresholds {} v{}.</p></section>"#,
        esc(&r.thresholds_id),
        esc(&r.thresholds_version)
    );
    s
}

fn assessment_section(a: &ecmo_bedside::Assessment) -> String {
    let caveats: String = a.caveats.iter().map(|c| format!(r#"<p class="caveat">{}</p>"#, esc(c))).collect();
    format!(
        r#"<section class="assessment"><h2>Bedside assessment <span class="when">as of {} (+{} h on ECMO)</span></h2>{caveats}{}{}{}</section>"#,
        a.as_of,
        num(a.hours_on_ecmo),
        models_section(a),
        decision_section(&a.vad),
        readiness_section(&a.readiness)
    )
}

fn decision_section(d: &ecmo_bedside::VadDecision) -> String {
    let mut s = format!(
        r#"<section class="decision"><h2>Decision tree: {}</h2><p><strong>{}</strong></p><p>{}</p><ol class="steps">"#,
        esc(&d.rules_title),
        esc(d.recommendation.headline()),
        esc(&d.summary)
    );
    for st in &d.steps {
        let evidence: Vec<String> = st
            .records
            .iter()
            .take(4)
            .map(|r| {
                format!(
                    "{} {} {} at {}{} h",
                    esc(&r.code.replace('_', " ")),
                    num(r.value),
                    esc(&r.unit),
                    if r.hours >= 0.0 { "+" } else { "" },
                    num(r.hours)
                )
            })
            .collect();
        let _ = write!(
            s,
            r#"<li class="step step-{}"><strong>{}</strong> — {}: {}<span class="when">{}</span></li>"#,
            st.status.label().replace(' ', "-"),
            esc(&st.title),
            st.status.label(),
            esc(&st.finding),
            evidence.join("; ")
        );
    }
    let _ = write!(
        s,
        r#"</ol><p class="note">As of the latest record (+{} h on ECMO). Rules {} v{}: {}. </p></section>"#,
        num(d.hours_on_ecmo),
        esc(&d.rules_id),
        esc(&d.rules_version),
        esc(&d.source)
    );
    s
}

fn field_error(errors: &[FieldError], field: &str) -> String {
    errors
        .iter()
        .filter(|e| e.field.as_deref() == Some(field))
        .map(|e| {
            format!(r#"<span class="field-error" role="alert" data-field="{}">{}</span>"#, esc(field), esc(&e.reason))
        })
        .collect()
}

fn entry_form(run_id: &str, e: &Entry, errors: &[FieldError], saved: Option<&str>) -> String {
    let mut codes = String::new();
    for (group, list) in [("event", entry::EVENT_CODES), ("observation", entry::OBSERVATION_CODES)] {
        let _ = write!(codes, r#"<optgroup label="{group}">"#);
        for c in list {
            let sel = if e.code == *c { " selected" } else { "" };
            let _ = write!(codes, r#"<option value="{c}" data-kind="{group}"{sel}>{}</option>"#, c.replace('_', " "));
        }
        codes.push_str("</optgroup>");
    }
    let general: String = errors
        .iter()
        .filter(|x| {
            x.field.as_deref().is_none_or(|f| !["kind", "code", "time", "value", "unit", "detail"].contains(&f))
        })
        .map(|x| format!(r#"<p class="error" role="alert">{}</p>"#, esc(&x.reason)))
        .collect();
    let ok = saved.map(|m| format!(r#"<p class="saved" role="status">{}</p>"#, esc(m))).unwrap_or_default();
    let kind_sel = |k: &str| if e.kind == k { " selected" } else { "" };
    let val = |v: &Option<String>| esc(v.as_deref().unwrap_or(""));
    format!(
        r#"<section id="entry"><h2>Record a value</h2><p class="note">Checked with the same rules as a registry import (units, plausible ranges, times within the run).</p>{ok}{general}
<form method="post" action="/patients/{}/entries" class="entry">
<label>Kind <select name="kind"><option value="event"{}>event</option><option value="observation"{}>observation</option></select>{}</label>
<label>What <select name="code">{codes}</select>{}</label>
<label>Time <input name="time" value="{}" placeholder="YYYY-MM-DD HH:MM">{}</label>
<label>Value <input name="value" value="{}" inputmode="decimal">{}</label>
<label>Unit <input name="unit" value="{}" placeholder="e.g. ug/L">{}</label>
<label>Detail <input name="detail" value="{}" placeholder="e.g. opens, 30_days">{}</label>
<button type="submit">Save</button></form></section>"#,
        enc(run_id),
        kind_sel("event"),
        kind_sel("observation"),
        field_error(errors, "kind"),
        field_error(errors, "code"),
        esc(&e.time),
        field_error(errors, "time"),
        val(&e.value),
        field_error(errors, "value"),
        val(&e.unit),
        field_error(errors, "unit"),
        val(&e.detail),
        field_error(errors, "detail"),
    )
}

fn patient_page(
    session: &Session,
    v: &PatientView,
    entry: &Entry,
    errors: &[FieldError],
    saved: Option<&str>,
) -> Html<String> {
    let decannulation = v.decannulation.as_deref().map(|d| format!(", decannulated {}", esc(d))).unwrap_or_default();
    let body = format!(
        r#"<h1>Run {} <span class="muted">patient {}</span></h1>
<p class="facts">{} {}, {} kg · {}-ECMO, {} · flow start {}{} · latest record at +{} h</p>
{}
{}{}{}{}"#,
        esc(&v.run_id),
        esc(&v.patient_id),
        opt_num(v.age_years.map(f64::floor)),
        esc(&v.sex),
        num(v.weight_kg),
        esc(&v.mode.to_uppercase()),
        esc(&v.etiology.replace('_', " ")),
        esc(&v.flow_start),
        decannulation,
        num(v.latest_record_hours),
        assessment_section(&v.assessment),
        charts(&v.timelines, &v.events, v.latest_record_hours),
        entry_form(&v.run_id, entry, errors, saved),
        scores_section(v),
        events_table(&v.events),
    );
    layout(&format!("Run {}", v.run_id), Some(session), &body)
}

#[derive(Deserialize, Default)]
pub struct Saved {
    saved: Option<String>,
}

pub async fn patient(
    State(state): State<AppState>,
    session: Session,
    Path(run_id): Path<String>,
    Query(s): Query<Saved>,
) -> Response {
    match api::load_patient(&state, &session, &run_id).await {
        Ok(v) => {
            let saved = s.saved.map(|w| format!("Saved: {w}"));
            let entry = Entry { kind: "event".into(), ..Entry::default() };
            patient_page(&session, &v, &entry, &[], saved.as_deref()).into_response()
        }
        Err(e) => error_page(Some(&session), e),
    }
}

pub async fn post_entry(
    State(state): State<AppState>,
    session: Session,
    Path(run_id): Path<String>,
    Form(e): Form<Entry>,
) -> Response {
    let e = Entry {
        value: e.value.filter(|v| !v.trim().is_empty()),
        unit: e.unit.filter(|v| !v.trim().is_empty()),
        detail: e.detail.filter(|v| !v.trim().is_empty()),
        ..e
    };
    match api::record_entry(&state, &session, &run_id, e.clone()).await {
        Ok(Ok(a)) => {
            let what = format!("{} at {}", a.code.replace('_', " "), a.time);
            Redirect::to(&format!("/patients/{}?saved={}#entry", enc(&run_id), enc(&what))).into_response()
        }
        Ok(Err(errors)) => match api::load_patient(&state, &session, &run_id).await {
            Ok(v) => (StatusCode::UNPROCESSABLE_ENTITY, patient_page(&session, &v, &e, &errors, None)).into_response(),
            Err(err) => error_page(Some(&session), err),
        },
        Err(err) => error_page(Some(&session), err),
    }
}

// ------------------------------------------------------------------ research

pub async fn research(State(state): State<AppState>, session: Session, Query(q): Query<ListQuery>) -> Response {
    let result = async {
        session.require(&state, &[Role::Researcher], "pseudonymised research data").await?;
        let (page, per_page) = api::paging(&q.page, &q.per_page)?;
        let rows = api::select_rows(&api::cached_rows(&state)?, &q, true)?;
        session.audit(&state, "read", "pseudonymised run list", None, "success").await?;
        Ok::<_, ApiError>(api::paginate(&rows, page, per_page))
    }
    .await;
    let page = match result {
        Ok(p) => p,
        Err(e) => return error_page(Some(&session), e),
    };
    let base = "/research";
    let mut t = String::from(r#"<table class="list"><thead><tr><th>Pseudonym</th>"#);
    for (k, l) in [
        ("age_years", "Age, sex"),
        ("hours_on_ecmo", "Time on ECMO"),
        ("current_vis", "Final VIS"),
        ("last_lactate", "Last lactate"),
        ("last_map", "Last MAP"),
        ("status", "Outcome"),
    ] {
        t.push_str(&sort_header(base, &q, k, l));
    }
    t.push_str("<th>Mode, etiology, cohort</th></tr></thead><tbody>");
    for r in page.items.iter().map(ListRow::research) {
        let _ = write!(
            t,
            r#"<tr><td><a href="/research/{}">{}</a></td><td>{} {}</td><td>{} h</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}-ECMO, {}, {}</td></tr>"#,
            enc(&r.pseudonym),
            esc(&r.pseudonym),
            opt_num(r.age_years),
            esc(&r.sex),
            opt_num(r.hours_on_ecmo),
            opt_num(r.current_vis),
            latest(&r.last_lactate),
            latest(&r.last_map),
            esc(&r.status),
            esc(&r.mode.to_uppercase()),
            esc(&r.etiology.replace('_', " ")),
            esc(r.cohort.as_deref().unwrap_or(""))
        );
    }
    t.push_str("</tbody></table>");
    let body = format!(
        r#"<h1>Cohort</h1><p class="note">Pseudonymised: runs are named by a keyed hash; no names, ids, birth data or calendar dates are shown. Times are hours after ECMO flow start.</p>{}{}{t}"#,
        list_controls(base, &q, STATUSES),
        pager(base, &q, page.page, page.pages, page.total)
    );
    layout("Cohort", Some(&session), &body).into_response()
}

pub async fn research_run(State(state): State<AppState>, session: Session, Path(p): Path<String>) -> Response {
    match api::research_view(&state, &session, &p).await {
        Ok(v) => {
            let latest = v.timelines.iter().flat_map(|t| t.points.iter().map(|p| p[0])).fold(0.0, f64::max);
            let body = format!(
                r#"<h1>Run {}</h1><p class="facts">{} {} · {}-ECMO, {}</p>{}{}"#,
                esc(&v.pseudonym),
                opt_num(v.age_years),
                esc(&v.sex),
                esc(&v.mode.to_uppercase()),
                esc(&v.etiology.replace('_', " ")),
                charts(&v.timelines, &v.events, latest),
                events_table(&v.events)
            );
            layout(&v.pseudonym, Some(&session), &body).into_response()
        }
        Err(e) => error_page(Some(&session), e),
    }
}

// ------------------------------------------------------------------ admin

pub async fn admin(State(state): State<AppState>, session: Session) -> Response {
    admin_page(&state, &session, None, None).await
}

async fn admin_page(state: &AppState, session: &Session, error: Option<&ApiError>, done: Option<&str>) -> Response {
    if let Err(e) = session.require(state, &[Role::Admin], "accounts").await {
        return error_page(Some(session), e);
    }
    let accounts = match state.db(|s| Ok(ecmo_store::accounts::Accounts::accounts(&*s)?)).await {
        Ok(a) => a,
        Err(e) => return error_page(Some(session), e),
    };
    let mut t = String::from("<table><tr><th>Name</th><th>Role</th><th>State</th><th>Created</th></tr>");
    for a in &accounts {
        let _ = write!(
            t,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&a.name),
            a.role,
            if a.disabled { "disabled" } else { "active" },
            ecmo_store::audit::utc(a.created_at)
        );
    }
    t.push_str("</table>");
    let err = error.map(|e| format!(r#"<p class="error" role="alert">{}</p>"#, esc(e.reason()))).unwrap_or_default();
    let ok = done.map(|d| format!(r#"<p class="saved" role="status">{}</p>"#, esc(d))).unwrap_or_default();
    let body = format!(
        r#"<h1>Accounts</h1>{t}<h2>New account</h2>{err}{ok}<form method="post" action="/admin/accounts" class="entry">
<label>Name <input name="name" required></label><label>Role <select name="role"><option>clinician</option><option>researcher</option><option>admin</option></select></label>
<label>Password <input name="password" type="password" required minlength="{}"></label><button type="submit">Create</button></form>"#,
        auth::MIN_PASSWORD
    );
    layout("Accounts", Some(session), &body).into_response()
}

pub async fn post_account(State(state): State<AppState>, session: Session, Form(f): Form<NewAccount>) -> Response {
    let name = f.name.clone();
    match api::create_account(&state, &session, f).await {
        Ok(a) => admin_page(&state, &session, None, Some(&format!("Created {} ({})", name, a.role))).await,
        Err(e) if e.status == StatusCode::FORBIDDEN => error_page(Some(&session), e),
        Err(e) => admin_page(&state, &session, Some(&e), None).await,
    }
}

pub async fn audit(State(state): State<AppState>, session: Session, Query(q): Query<PageQuery>) -> Response {
    let page = match api::audit_page(&state, &session, &q).await {
        Ok(p) => p,
        Err(e) => return error_page(Some(&session), e),
    };
    let verified = match api::verify(&state, &session).await {
        Ok(v) if v.intact => format!(r#"<p class="saved">Hash chain intact ({} entries).</p>"#, v.entries),
        Ok(v) => format!(r#"<p class="error">Hash chain broken: {}</p>"#, esc(v.problem.as_deref().unwrap_or(""))),
        Err(e) => return error_page(Some(&session), e),
    };
    let mut t = String::from(
        "<table class=\"audit\"><tr><th>#</th><th>When (UTC)</th><th>Who</th><th>Role</th><th>Action</th><th>What</th><th>Patient</th><th>Outcome</th><th>From</th><th>Hash</th></tr>",
    );
    for e in &page.items {
        let r = &e.record;
        let _ = write!(
            t,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            e.seq,
            ecmo_store::audit::utc(r.at),
            esc(&r.who),
            esc(&r.role),
            esc(&r.action),
            esc(&r.what),
            esc(r.patient_id.as_deref().unwrap_or("")),
            esc(&r.outcome),
            esc(&r.from),
            &e.hash[..12.min(e.hash.len())]
        );
    }
    t.push_str("</table>");
    let prev = if page.page > 1 {
        format!(r#"<a href="/admin/audit?page={}">‹ newer</a>"#, page.page - 1)
    } else {
        String::new()
    };
    let next = if page.page < page.pages {
        format!(r#"<a href="/admin/audit?page={}">older ›</a>"#, page.page + 1)
    } else {
        String::new()
    };
    let body = format!(
        r#"<h1>Audit log</h1>{verified}<p><a href="/api/admin/audit/fhir" download="audit-fhir.json">Download as FHIR AuditEvent (JSON)</a></p><p class="pager">{prev} page {} of {} {next}</p>{t}"#,
        page.page, page.pages
    );
    layout("Audit log", Some(&session), &body).into_response()
}

// ------------------------------------------------------------------ assets

pub async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")],
        include_str!("../assets/app.css"),
    )
        .into_response()
}

pub async fn js() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")],
        include_str!("../assets/app.js"),
    )
        .into_response()
}
