//! JSON handlers. Each checks the role first, audits access to patient data, and
//! delegates to `views`, `entry` and the store.

use crate::auth::{self, Session, client_addr, now};
use crate::entry::{self, Entry};
use crate::error::{ApiError, FieldError};
use crate::state::AppState;
use crate::views::{self, ListRow, Mark, PatientView, Period, ResearchRow, Timeline};
use axum::Json;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ecmo_store::accounts::{Account, Role};
use ecmo_store::audit::{AuditEntry, verify_log};
use serde::{Deserialize, Serialize};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Access {
    Public,
    AnyUser,
    Only(&'static [Role]),
}

/// One documented route (the OpenAPI document and the access tests are built from this table).
#[derive(Debug, Clone, Copy)]
pub struct RouteDoc {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
    pub summary: &'static str,
    /// Query parameters, `(name, description)`.
    pub query: &'static [(&'static str, &'static str)],
}

const CLIN: &[Role] = &[Role::Clinician];
const RES: &[Role] = &[Role::Researcher];
const ADMIN: &[Role] = &[Role::Admin];
const LIST_QUERY: &[(&str, &str)] = &[
    ("page", "page number, from 1 (default 1)"),
    ("per_page", "rows per page, 1-500 (default 50)"),
    ("sort", "column to sort by (see the schema); default flow_start"),
    ("order", "asc or desc (default asc)"),
    ("q", "keep rows containing this text (case-insensitive)"),
    ("status", "keep rows with exactly this status"),
];
const PAGE_QUERY: &[(&str, &str)] =
    &[("page", "page number, from 1 (default 1)"), ("per_page", "entries per page, 1-500 (default 50)")];

pub const API_ROUTES: &[RouteDoc] = &[
    RouteDoc {
        method: "post",
        path: "/api/login",
        access: Access::Public,
        summary: "Log in (sets the session cookie)",
        query: &[],
    },
    RouteDoc { method: "post", path: "/api/logout", access: Access::AnyUser, summary: "Log out", query: &[] },
    RouteDoc { method: "get", path: "/api/me", access: Access::AnyUser, summary: "The logged-in account", query: &[] },
    RouteDoc { method: "get", path: "/api/openapi.json", access: Access::Public, summary: "This document", query: &[] },
    RouteDoc {
        method: "get",
        path: "/api/runs",
        access: Access::Only(CLIN),
        summary: "Patient list (identified)",
        query: LIST_QUERY,
    },
    RouteDoc {
        method: "get",
        path: "/api/runs/{run_id}",
        access: Access::Only(CLIN),
        summary: "Patient view: timelines, events, scores",
        query: &[],
    },
    RouteDoc {
        method: "post",
        path: "/api/runs/{run_id}/entries",
        access: Access::Only(CLIN),
        summary: "Record a value by hand (validated as on import)",
        query: &[],
    },
    RouteDoc {
        method: "get",
        path: "/api/research/runs",
        access: Access::Only(RES),
        summary: "Pseudonymised run list",
        query: LIST_QUERY,
    },
    RouteDoc {
        method: "get",
        path: "/api/research/runs/{pseudonym}",
        access: Access::Only(RES),
        summary: "Pseudonymised timelines of one run (hours after flow start)",
        query: &[],
    },
    RouteDoc {
        method: "get",
        path: "/api/admin/accounts",
        access: Access::Only(ADMIN),
        summary: "Accounts",
        query: &[],
    },
    RouteDoc {
        method: "post",
        path: "/api/admin/accounts",
        access: Access::Only(ADMIN),
        summary: "Create an account",
        query: &[],
    },
    RouteDoc {
        method: "post",
        path: "/api/admin/accounts/{name}/disabled",
        access: Access::Only(ADMIN),
        summary: "Disable or enable an account",
        query: &[],
    },
    RouteDoc {
        method: "get",
        path: "/api/admin/audit",
        access: Access::Only(ADMIN),
        summary: "Audit log, newest first",
        query: PAGE_QUERY,
    },
    RouteDoc {
        method: "get",
        path: "/api/admin/audit/verify",
        access: Access::Only(ADMIN),
        summary: "Verify the audit hash chain",
        query: &[],
    },
    RouteDoc {
        method: "get",
        path: "/api/admin/audit/fhir",
        access: Access::Only(ADMIN),
        summary: "Audit log as a FHIR R4 Bundle of AuditEvent",
        query: &[],
    },
    RouteDoc {
        method: "get",
        path: "/api/studies",
        access: Access::Only(RES),
        summary: "Built-in studies",
        query: &[],
    },
    RouteDoc {
        method: "get",
        path: "/api/studies/runs",
        access: Access::Only(RES),
        summary: "Study runs started from the browser, newest first",
        query: &[],
    },
    RouteDoc {
        method: "post",
        path: "/api/studies/runs",
        access: Access::Only(RES),
        summary: "Start a study in the background: {study} (built-in name) or {toml} (custom definition), optional {bootstrap}",
        query: &[],
    },
    RouteDoc {
        method: "get",
        path: "/api/studies/runs/{job_id}",
        access: Access::Only(RES),
        summary: "A study run's state and progress",
        query: &[],
    },
    RouteDoc {
        method: "get",
        path: "/api/studies/runs/{job_id}/report",
        access: Access::Only(RES),
        summary: "The study report (self-contained HTML)",
        query: &[],
    },
    RouteDoc {
        method: "get",
        path: "/api/studies/runs/{job_id}/results.json",
        access: Access::Only(RES),
        summary: "The study results (JSON)",
        query: &[],
    },
    RouteDoc {
        method: "get",
        path: "/api/models",
        access: Access::Only(RES),
        summary: "Installed prediction models with their development performance",
        query: &[],
    },
];

// ------------------------------------------------------------------ pagination

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListQuery {
    pub page: Option<String>,
    pub per_page: Option<String>,
    pub sort: Option<String>,
    pub order: Option<String>,
    pub q: Option<String>,
    pub status: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: usize,
    pub per_page: usize,
    pub total: usize,
    pub pages: usize,
}

fn parse_count(field: &str, v: &Option<String>, default: usize, max: usize) -> Result<usize, ApiError> {
    match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::bad_request(field, s, format!("expected a whole number from 1 to {max}"))),
        },
    }
}

pub fn paging(page: &Option<String>, per_page: &Option<String>) -> Result<(usize, usize), ApiError> {
    Ok((parse_count("page", page, 1, usize::MAX)?, parse_count("per_page", per_page, 50, 500)?))
}

pub fn paginate<T: Clone>(rows: &[T], page: usize, per_page: usize) -> Page<T> {
    let total = rows.len();
    let start = (page - 1).saturating_mul(per_page).min(total);
    let end = start.saturating_add(per_page).min(total);
    Page { items: rows[start..end].to_vec(), page, per_page, total, pages: total.div_ceil(per_page).max(1) }
}

pub const SORT_KEYS: &[&str] = &[
    "flow_start",
    "run_id",
    "patient_id",
    "age_years",
    "hours_on_ecmo",
    "status",
    "current_vis",
    "last_lactate",
    "last_map",
];

fn opt_cmp(a: Option<f64>, b: Option<f64>) -> std::cmp::Ordering {
    // Missing values sort last in ascending order.
    match (a, b) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    }
}

/// Filter and sort the list (both views). `research` limits sorting and text search
/// to what a researcher may see.
pub fn select_rows(rows: &[ListRow], q: &ListQuery, research: bool) -> Result<Vec<ListRow>, ApiError> {
    let sort = q.sort.as_deref().unwrap_or("flow_start");
    // For researchers the default order (flow_start) becomes pseudonym order, which reveals no dates.
    let hidden = research && matches!(sort, "run_id" | "patient_id");
    if !SORT_KEYS.contains(&sort) || hidden {
        let keys: Vec<&str> =
            SORT_KEYS.iter().copied().filter(|k| !research || !matches!(*k, "run_id" | "patient_id")).collect();
        return Err(ApiError::bad_request("sort", sort, format!("expected one of {}", keys.join(", "))));
    }
    let desc = match q.order.as_deref().unwrap_or("asc") {
        "asc" => false,
        "desc" => true,
        o => return Err(ApiError::bad_request("order", o, "expected asc or desc")),
    };
    let needle = q.q.as_deref().map(|s| s.trim().to_lowercase()).filter(|s| !s.is_empty());
    let mut out: Vec<ListRow> = rows
        .iter()
        .filter(|r| q.status.as_deref().is_none_or(|s| s.is_empty() || r.status == s))
        .filter(|r| {
            needle.as_deref().is_none_or(|n| {
                let ids = if research {
                    r.pseudonym.to_lowercase()
                } else {
                    format!("{} {}", r.run_id, r.patient_id).to_lowercase()
                };
                ids.contains(n)
                    || r.status.contains(n)
                    || r.etiology.contains(n)
                    || r.mode.contains(n)
                    || r.cohort.as_deref().is_some_and(|c| c.to_lowercase().contains(n))
            })
        })
        .cloned()
        .collect();
    out.sort_by(|a, b| {
        let o = match sort {
            "run_id" => a.run_id.cmp(&b.run_id),
            "patient_id" => a.patient_id.cmp(&b.patient_id),
            "age_years" => opt_cmp(a.age_years, b.age_years),
            "hours_on_ecmo" => opt_cmp(a.hours_on_ecmo, b.hours_on_ecmo),
            "status" => a.status.cmp(&b.status),
            "current_vis" => opt_cmp(a.current_vis, b.current_vis),
            "last_lactate" => {
                opt_cmp(a.last_lactate.as_ref().map(|l| l.value), b.last_lactate.as_ref().map(|l| l.value))
            }
            "last_map" => opt_cmp(a.last_map.as_ref().map(|l| l.value), b.last_map.as_ref().map(|l| l.value)),
            // For researchers the natural order is by pseudonym, which reveals nothing.
            _ if research => a.pseudonym.cmp(&b.pseudonym),
            _ => std::cmp::Ordering::Equal,
        };
        if desc { o.reverse() } else { o }
    });
    Ok(out)
}

/// The cached list, or 503 while it is being built.
pub fn cached_rows(state: &AppState) -> Result<Vec<ListRow>, ApiError> {
    let cache = state.list.read().map_err(|_| ApiError::internal("list cache poisoned"))?;
    if let Some(f) = &cache.failure {
        return Err(ApiError::internal(format!("the patient list could not be built: {f}")));
    }
    if !cache.ready {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            None,
            format!(
                "the patient list is being prepared ({} of {} runs); try again shortly",
                cache.progress, cache.total
            ),
        ));
    }
    Ok(cache.rows.clone())
}

// ------------------------------------------------------------------ session

#[derive(Debug, Deserialize)]
pub struct LoginBody {
    pub name: String,
    pub password: String,
}

#[derive(Debug, Serialize)]
pub struct Me {
    pub name: String,
    pub role: Role,
}

/// The client's address for a request with no session yet.
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(client_addr(parts)))
    }
}

pub async fn login(
    State(state): State<AppState>,
    ClientAddr(from): ClientAddr,
    Json(body): Json<LoginBody>,
) -> Result<Response, ApiError> {
    let (account, token) = auth::login(&state, &body.name, &body.password, &from).await?;
    let cookie = auth::session_cookie(&state, &token);
    Ok(([(header::SET_COOKIE, cookie)], Json(Me { name: account.name, role: account.role })).into_response())
}

pub async fn logout(State(state): State<AppState>, session: Session) -> Result<Response, ApiError> {
    auth::logout(&state, &session).await?;
    Ok(([(header::SET_COOKIE, auth::clear_cookie())], StatusCode::NO_CONTENT).into_response())
}

pub async fn me(session: Session) -> Json<Me> {
    Json(Me { name: session.account.name, role: session.account.role })
}

pub async fn openapi() -> Json<serde_json::Value> {
    Json(crate::openapi::document())
}

// ------------------------------------------------------------------ clinician

pub async fn runs(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<ListQuery>,
) -> Result<Json<Page<ListRow>>, ApiError> {
    session.require(&state, CLIN, "the identified patient list").await?;
    let (page, per_page) = paging(&q.page, &q.per_page)?;
    let rows = select_rows(&cached_rows(&state)?, &q, false)?;
    session.audit(&state, "read", "patient list", None, "success").await?;
    Ok(Json(paginate(&rows, page, per_page)))
}

/// Load and audit one run's patient view.
pub async fn load_patient(state: &AppState, session: &Session, run_id: &str) -> Result<PatientView, ApiError> {
    session.require(state, CLIN, "identified patient data").await?;
    let id = run_id.to_string();
    let loaded = state.db(move |s| Ok(s.load_run(&id)?)).await;
    let record = match loaded {
        Ok(r) => r,
        Err(e) => {
            session.audit(state, "read", &format!("run {run_id}"), None, &format!("refused: {}", e.reason())).await?;
            return Err(e);
        }
    };
    session.audit(state, "read", &format!("run {run_id}"), Some(&record.patient.id), "success").await?;
    let st = state.clone();
    tokio::task::spawn_blocking(move || views::patient_view(&record, &st.assess)).await.map_err(ApiError::internal)
}

pub async fn run(
    State(state): State<AppState>,
    session: Session,
    Path(run_id): Path<String>,
) -> Result<Json<PatientView>, ApiError> {
    Ok(Json(load_patient(&state, &session, &run_id).await?))
}

/// Validate and store an entry; refresh the run's list row. Audited either way: an accepted
/// entry and its audit entry are committed together (entry::record).
pub async fn record_entry(
    state: &AppState,
    session: &Session,
    run_id: &str,
    e: Entry,
) -> Result<Result<entry::Accepted, Vec<FieldError>>, ApiError> {
    session.require(state, CLIN, "identified patient data").await?;
    let (id, who, at) = (run_id.to_string(), session.account.name.clone(), ecmo_store::audit::utc(now()));
    let what = format!("run {run_id}: {} {} at {}", e.kind, e.code, e.time);
    let mut audit = session.audit_record("create", &what, None, "");
    let outcome = state
        .db(move |s| {
            audit.patient_id = s.load_run(&id).map(|r| r.patient.id).ok();
            Ok(entry::record(s, &id, &e, &who, &at, &audit)?)
        })
        .await?;
    if outcome.is_ok() {
        refresh_row(state, run_id).await?;
    }
    Ok(outcome)
}

/// Recompute one run's list row after a change.
pub async fn refresh_row(state: &AppState, run_id: &str) -> Result<(), ApiError> {
    let id = run_id.to_string();
    let key = state.pseudonym_key;
    let old = state.list.read().ok().and_then(|c| c.by_run.get(run_id).map(|i| c.rows[*i].clone()));
    let Some(old) = old else { return Ok(()) };
    let row = state
        .db(move |s| {
            let record = s.load_run(&id)?;
            Ok(views::refreshed_row(&old, &record, &key))
        })
        .await?;
    if let Ok(mut cache) = state.list.write()
        && let Some(i) = cache.by_run.get(run_id).copied()
    {
        cache.rows[i] = row;
    }
    Ok(())
}

pub async fn post_entry(
    State(state): State<AppState>,
    session: Session,
    Path(run_id): Path<String>,
    Json(e): Json<Entry>,
) -> Result<Response, ApiError> {
    match record_entry(&state, &session, &run_id, e).await? {
        Ok(accepted) => Ok((StatusCode::CREATED, Json(accepted)).into_response()),
        Err(errors) => Err(ApiError::unprocessable(errors)),
    }
}

// ------------------------------------------------------------------ researcher

pub async fn research_runs(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<ListQuery>,
) -> Result<Json<Page<ResearchRow>>, ApiError> {
    session.require(&state, RES, "pseudonymised research data").await?;
    let (page, per_page) = paging(&q.page, &q.per_page)?;
    let rows = select_rows(&cached_rows(&state)?, &q, true)?;
    session.audit(&state, "read", "pseudonymised run list", None, "success").await?;
    let p = paginate(&rows, page, per_page);
    Ok(Json(Page {
        items: p.items.iter().map(ListRow::research).collect(),
        page: p.page,
        per_page: p.per_page,
        total: p.total,
        pages: p.pages,
    }))
}

/// One run as a researcher sees it: hours after flow start only, no ids, no free text.
#[derive(Debug, Serialize)]
pub struct ResearchView {
    pub pseudonym: String,
    pub sex: String,
    pub age_years: Option<f64>,
    pub mode: String,
    pub etiology: String,
    pub timelines: Vec<Timeline>,
    pub events: Vec<Mark>,
    pub supports: Vec<Period>,
}

pub async fn research_view(state: &AppState, session: &Session, pseudonym: &str) -> Result<ResearchView, ApiError> {
    session.require(state, RES, "pseudonymised research data").await?;
    let run_id = {
        let cache = state.list.read().map_err(|_| ApiError::internal("list cache poisoned"))?;
        cache.by_pseudonym.get(pseudonym).map(|i| cache.rows[*i].run_id.clone())
    };
    let Some(run_id) = run_id else {
        return Err(ApiError::not_found("pseudonym", pseudonym, "no run has this pseudonym"));
    };
    let record = state.db(move |s| Ok(s.load_run(&run_id)?)).await?;
    // The audit names the real patient: the log is the admin's, not the researcher's.
    session
        .audit(state, "read", &format!("pseudonymised run {pseudonym}"), Some(&record.patient.id), "success")
        .await?;
    let (p, st) = (pseudonym.to_string(), state.clone());
    tokio::task::spawn_blocking(move || {
        let v = views::patient_view(&record, &st.assess);
        ResearchView {
            pseudonym: p,
            sex: v.sex,
            age_years: v.age_years.map(f64::floor),
            mode: v.mode,
            etiology: v.etiology,
            timelines: v.timelines,
            // Free-text details may name people or places: researchers see the kind only.
            events: v.events.into_iter().map(|m| Mark { label: m.kind.replace('_', " "), ..m }).collect(),
            supports: v.supports,
        }
    })
    .await
    .map_err(ApiError::internal)
}

pub async fn research_run(
    State(state): State<AppState>,
    session: Session,
    Path(pseudonym): Path<String>,
) -> Result<Json<ResearchView>, ApiError> {
    Ok(Json(research_view(&state, &session, &pseudonym).await?))
}

// ------------------------------------------------------------------ admin

pub async fn accounts(State(state): State<AppState>, session: Session) -> Result<Json<Vec<Account>>, ApiError> {
    session.require(&state, ADMIN, "accounts").await?;
    Ok(Json(state.db(|s| Ok(s.accounts()?)).await?))
}

#[derive(Debug, Deserialize)]
pub struct NewAccount {
    pub name: String,
    pub role: String,
    pub password: String,
}

pub fn check_name(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request("name", name, "1-64 characters: letters, digits, '.', '_', '-', '@'"))
    }
}

pub async fn create_account(state: &AppState, session: &Session, new: NewAccount) -> Result<Account, ApiError> {
    session.require(state, ADMIN, "accounts").await?;
    check_name(&new.name)?;
    let role: Role = new.role.parse().map_err(|e: String| ApiError::bad_request("role", &new.role, e))?;
    let pw = new.password;
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&pw))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::bad_request("password", "", e))?;
    let name = new.name.clone();
    // The account and its audit entry are one transaction: no account appears unaudited.
    let audit = session.audit_record("create", &format!("account {} ({role})", new.name), None, "success");
    let (account, _) = state.db(move |s| Ok(s.add_account_audited(&name, role, &hash, now(), &audit)?)).await?;
    Ok(account)
}

pub async fn post_account(
    State(state): State<AppState>,
    session: Session,
    Json(new): Json<NewAccount>,
) -> Result<Response, ApiError> {
    Ok((StatusCode::CREATED, Json(create_account(&state, &session, new).await?)).into_response())
}

#[derive(Debug, Deserialize)]
pub struct Disabled {
    pub disabled: bool,
}

pub async fn set_disabled(
    State(state): State<AppState>,
    session: Session,
    Path(name): Path<String>,
    Json(body): Json<Disabled>,
) -> Result<StatusCode, ApiError> {
    session.require(&state, ADMIN, "accounts").await?;
    if name == session.account.name && body.disabled {
        return Err(ApiError::bad_request("name", &name, "you cannot disable your own account"));
    }
    let n = name.clone();
    let what = format!("account {name}: {}", if body.disabled { "disabled" } else { "enabled" });
    let audit = session.audit_record("update", &what, None, "success");
    let entry = state.db(move |s| Ok(s.set_account_disabled_audited(&n, body.disabled, &audit)?)).await?;
    if entry.is_none() {
        return Err(ApiError::not_found("name", &name, "no account with this name"));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    pub page: Option<String>,
    pub per_page: Option<String>,
}

/// One page of the audit log, newest first.
pub async fn audit_page(state: &AppState, session: &Session, q: &PageQuery) -> Result<Page<AuditEntry>, ApiError> {
    session.require(state, ADMIN, "the audit log").await?;
    let (page, per_page) = paging(&q.page, &q.per_page)?;
    session.audit(state, "read", "audit log", None, "success").await?;
    state
        .db(move |s| {
            let n = s.audit_len()?;
            let total = n.max(0) as usize;
            let last = n - ((page - 1).saturating_mul(per_page)).min(total) as i64;
            let first = (last - per_page as i64 + 1).max(1);
            let mut items = if last >= 1 { s.audit_range(first, last)? } else { Vec::new() };
            items.reverse();
            Ok(Page { items, page, per_page, total, pages: total.div_ceil(per_page).max(1) })
        })
        .await
}

pub async fn audit(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<AuditEntry>>, ApiError> {
    Ok(Json(audit_page(&state, &session, &q).await?))
}

#[derive(Debug, Serialize)]
pub struct Verification {
    pub intact: bool,
    pub entries: i64,
    pub problem: Option<String>,
}

pub async fn verify(state: &AppState, session: &Session) -> Result<Verification, ApiError> {
    session.require(state, ADMIN, "the audit log").await?;
    let v = state
        .db(|s| {
            let n = s.audit_len()?;
            Ok(match verify_log(&*s)? {
                Ok(n) => Verification { intact: true, entries: n, problem: None },
                Err(b) => Verification { intact: false, entries: n, problem: Some(b.to_string()) },
            })
        })
        .await?;
    session
        .audit(state, "execute", "audit chain verification", None, if v.intact { "success" } else { "chain broken" })
        .await?;
    Ok(v)
}

pub async fn audit_verify(State(state): State<AppState>, session: Session) -> Result<Json<Verification>, ApiError> {
    Ok(Json(verify(&state, &session).await?))
}

pub async fn audit_fhir(State(state): State<AppState>, session: Session) -> Result<Json<serde_json::Value>, ApiError> {
    session.require(&state, ADMIN, "the audit log").await?;
    let bundle = state.db(|s| Ok(crate::fhir::export(&*s)?)).await?;
    session.audit(&state, "export", "audit log (FHIR AuditEvent)", None, "success").await?;
    Ok(Json(bundle))
}
