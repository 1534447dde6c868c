//! The operator's console: what the dashboard and `GET /v1/services/{name}` show beyond the
//! engine's status — enactment per enactor, drills, and a timeline of notable records.
//!
//! `GET /v1/dashboard` is one compact JSON document with an `ETag`; the page polls it with
//! `If-None-Match`, so a refresh that finds nothing new costs a 304 and no body.

use super::words::{Said, describe};
use super::{ApiError, ApiState};
use crate::decide::DurableEvent;
use crate::drill::{DrillReport, Drills};
use crate::enact::Reports;
use crate::model::ServiceId;
use crate::policy::{AuditEntry, AuditRecord, Command, DrillNote, Input, Output};
use crate::store::{AuditLog, HistoryQuery};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;

/// How many timeline entries the console keeps (newest first).
const TIMELINE: usize = 200;
/// How many of them the dashboard shows.
const TIMELINE_SHOWN: usize = 60;
/// How many drills the dashboard lists.
const DRILLS_SHOWN: usize = 10;

/// The console's own state, shared by the handlers.
#[derive(Clone, Default)]
pub struct Console {
    /// Every enactor's latest result per service.
    pub reports: Reports,
    /// Drills (an authority with a decision loop).
    pub drills: Option<Drills>,
    /// Every authority of the cluster (status and the dashboard's `cluster`).
    pub roster: crate::store::Roster,
    timeline: Arc<Mutex<VecDeque<Said>>>,
}

impl Console {
    /// A console showing `reports` and running `drills`.
    pub fn new(reports: Reports, drills: Option<Drills>) -> Self {
        Self {
            reports,
            drills,
            roster: crate::store::Roster::default(),
            timeline: Arc::default(),
        }
    }

    /// Fill the timeline from the audit log: the latest notable records of every service.
    pub async fn seed(&self, audit: &dyn AuditLog, services: &[ServiceId]) {
        let mut all = Vec::new();
        for s in services {
            let q = HistoryQuery {
                service: Some(s.clone()),
                limit: Some(20),
            };
            match audit.history(&q).await {
                Ok(records) => all.extend(records.iter().filter_map(describe)),
                Err(e) => tracing::warn!(error = %e, "console: cannot read history"),
            }
        }
        all.sort_by(|a, b| {
            (b.at, &a.kind, &a.service, &a.text).cmp(&(a.at, &b.kind, &b.service, &b.text))
        });
        // A start record is about every service it holds: keep it once.
        all.dedup();
        all.truncate(TIMELINE);
        *self.lock() = all.into();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Said>> {
        self.timeline.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn push(&self, record: &AuditRecord) {
        if let Some(said) = describe(record) {
            let mut t = self.lock();
            t.push_front(said);
            t.truncate(TIMELINE);
        }
    }

    /// An operator command the decision loop accepted (who, what) goes on the timeline.
    pub fn command(&self, at: crate::model::Timestamp, command: &Command) {
        self.push(&AuditRecord::input(at, Input::Command(command.clone())));
    }

    /// Put durable policy events and drill notes on the timeline until `shutdown`.
    pub async fn follow(
        self,
        mut events: broadcast::Receiver<DurableEvent>,
        mut notes: Option<broadcast::Receiver<DrillNote>>,
        shutdown: CancellationToken,
    ) {
        loop {
            let note = async {
                match notes.as_mut() {
                    Some(n) => n.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => return,
                e = events.recv() => match e {
                    Ok(e) => self.push(&AuditRecord::output(e.at, Output::Event(e.event))),
                    Err(RecvError::Lagged(n)) => tracing::warn!(missed = n, "console lags events"),
                    Err(RecvError::Closed) => return,
                },
                n = note => match n {
                    Ok(n) => self.push(&AuditRecord {
                        at: crate::model::Timestamp::now(),
                        entry: AuditEntry::Drill(n),
                    }),
                    Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => notes = None,
                },
            }
        }
    }

    fn timeline(&self, service: Option<&ServiceId>, n: usize) -> Vec<Said> {
        self.lock()
            .iter()
            .filter(|s| service.is_none_or(|id| s.service == id.as_str()))
            .take(n)
            .cloned()
            .collect()
    }

    fn drills(&self) -> Vec<DrillReport> {
        self.drills.as_ref().map(Drills::all).unwrap_or_default()
    }

    /// Every enactor's latest result for one service: `{dns: {epoch, error, took_us,
    /// verification}}`.
    fn enactment(&self, service: &ServiceId) -> Value {
        let mut out = serde_json::Map::new();
        for enactor in self.reports.enactors() {
            out.insert(enactor.to_owned(), Value::Null);
        }
        for (enactor, by_service) in self.reports.snapshot() {
            if let Some(a) = by_service.get(service) {
                out.insert(
                    enactor.to_owned(),
                    serde_json::to_value(a).unwrap_or(Value::Null),
                );
            }
        }
        Value::Object(out)
    }
}

fn drill_summary(r: &DrillReport) -> Value {
    json!({
        "id": r.id, "service": r.service, "from": r.from, "to": r.to, "by": r.by,
        "started_at": r.started_at, "finished_at": r.finished_at, "outcome": r.outcome,
        "rto_ms": r.rto_ms, "back_rto_ms": r.back_rto_ms, "failures": r.failures,
    })
}

/// The dashboard document (without the server time, so equal states hash equally).
pub(crate) fn dashboard_doc(s: &ApiState) -> Result<Value, ApiError> {
    let published = s.inner.decide.published.borrow().clone();
    let console = &s.inner.console;
    let mut services = Vec::with_capacity(published.status.len());
    for st in &published.status {
        let mut v = super::read::status_json(st)?;
        if let Some(obj) = v.as_object_mut() {
            obj.insert("enactment".into(), console.enactment(&st.service));
            obj.remove("held_out");
        }
        services.push(v);
    }
    let votes: Vec<Value> = published
        .votes
        .nodes
        .iter()
        .map(|n| {
            json!({"node": n.node, "domain": n.domain, "at": n.at, "state": n.state,
                   "self_detail": n.self_detail, "sites": n.sites})
        })
        .collect();
    let drills: Vec<Value> = console
        .drills()
        .iter()
        .take(DRILLS_SHOWN)
        .map(drill_summary)
        .collect();
    Ok(json!({
        "node": s.inner.cfg.node.id,
        "ready": s.inner.readiness.is_ready(),
        "stale_after_ms": u64::try_from(s.inner.cfg.votes.stale_after.as_millis()).unwrap_or(u64::MAX),
        "services": services,
        "votes": {"nodes": votes, "silent": published.votes.silent},
        "timeline": console.timeline(None, TIMELINE_SHOWN),
        "drills": drills,
        "enactors": console.reports.enactors(),
        "cluster": super::cluster::status(
            &s.inner.cfg,
            &s.inner.standing.borrow(),
            &console.roster.members(),
        ),
    }))
}

/// Query of `GET /v1/dashboard`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DashboardParams {
    /// Long poll: answer once the document's ETag differs from this one (or after
    /// [`LONG_POLL`]); the decision loop's published view wakes the wait.
    wait: Option<String>,
}

/// The longest a long poll of `/v1/dashboard` waits.
const LONG_POLL: std::time::Duration = std::time::Duration::from_secs(25);

fn tagged(s: &ApiState) -> Result<(String, String), ApiError> {
    let body = dashboard_doc(s)?.to_string();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut h);
    Ok((format!("\"{:016x}\"", h.finish()), body))
}

/// `GET /v1/dashboard[?wait=ETAG]`: the dashboard's document, with an `ETag` (304 when
/// unchanged); the server's time in `X-Switchback-Now` (ms) so the page can age votes by the
/// node's clock.
pub(crate) async fn dashboard(
    State(s): State<ApiState>,
    headers: HeaderMap,
    params: Result<axum::extract::Query<DashboardParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let axum::extract::Query(p) = params.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let mut published = s.inner.decide.published.clone();
    published.mark_unchanged();
    let mut roster = s.inner.console.roster.subscribe();
    roster.mark_unchanged();
    let mut standing = s.inner.standing.clone();
    standing.mark_unchanged();
    let (mut etag, mut body) = tagged(&s)?;
    if let Some(wait) = p.wait {
        let deadline = tokio::time::Instant::now() + LONG_POLL;
        while etag == wait {
            let changed = async {
                tokio::select! {
                    c = published.changed() => c,
                    c = roster.changed() => c,
                    c = standing.changed() => c,
                }
            };
            match tokio::time::timeout_at(deadline, changed).await {
                Ok(Ok(())) => (etag, body) = tagged(&s)?,
                _ => break,
            }
        }
    }
    let now = s.inner.clock.now().0.to_string();
    let mut out = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        out.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&now) {
        out.insert("x-switchback-now", v);
    }
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag);
    if unchanged {
        return Ok((StatusCode::NOT_MODIFIED, out).into_response());
    }
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok((StatusCode::OK, out, body).into_response())
}

/// `GET /v1/services/{name}`: one service's status, enactment, drills and recent timeline.
pub(crate) async fn service(
    State(s): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = ServiceId(name.clone());
    let published = s.inner.decide.published.borrow().clone();
    let Some(st) = published.status.iter().find(|st| st.service == id) else {
        return Err(ApiError::UnknownService(name));
    };
    let mut v = super::read::status_json(st)?;
    let console = &s.inner.console;
    if let Some(obj) = v.as_object_mut() {
        obj.insert("enactment".into(), console.enactment(&id));
        let drills: Vec<Value> = console
            .drills()
            .iter()
            .filter(|d| d.service == id)
            .take(DRILLS_SHOWN)
            .map(drill_summary)
            .collect();
        obj.insert("drills".into(), Value::Array(drills));
        obj.insert(
            "timeline".into(),
            serde_json::to_value(console.timeline(Some(&id), 20)).unwrap_or_default(),
        );
    }
    Ok(Json(json!({ "service": v })))
}
