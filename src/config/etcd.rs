//! `[store] kind = "etcd"`: endpoints, prefix, lease TTL, timeouts, TLS, auth and what an
//! authority does when it is cut off from etcd.
//!
//! Defaults, and why (etcd's own defaults: heartbeat 100 ms, election timeout 1 s):
//! - `lease_ttl = "5s"`: the leadership lease. A dead leader is replaced within about one TTL;
//!   it must exceed etcd's election timeout plus a few inter-site round trips, so an etcd
//!   leader change (≤ ~1 s) or a slow link does not depose a healthy authority. etcd leases
//!   are whole seconds and etcd raises anything below 1.5 × its election timeout.
//! - `dial_timeout = "2s"`: connecting to an endpoint; a few inter-site RTTs plus TLS.
//! - `request_timeout = "2s"`: one request (get, commit, keep-alive); above etcd's election
//!   timeout, so a request that waits out an etcd leader election still succeeds, and well
//!   below `lease_ttl`, so a hung member is noticed before the lease runs out.
//! - `on_isolation = "keep"`: a node cut off from etcd keeps answering the last committed
//!   state (and reports itself stale); `"withdraw"` stops answering DNS instead.
//! - `advertise`: the admin URL other authorities forward operator commands to; defaults to
//!   `http://<admin.listen>` with the port actually bound.

use super::ctx::{Ctx, duration};
use super::values;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

pub(super) const DEFAULT_DIAL_TIMEOUT: &str = "2s";
pub(super) const DEFAULT_REQUEST_TIMEOUT: &str = "2s";
pub(super) const DEFAULT_ON_ISOLATION: &str = "keep";

/// TLS to the etcd members (`ca_file`, and `cert_file` + `key_file` for client certificates).
#[derive(Clone, Debug, PartialEq)]
pub struct EtcdTls {
    /// CA bundle that signed the members' certificates.
    pub ca_file: Option<PathBuf>,
    /// Client certificate and its key (PEM), when the members require client auth.
    pub identity: Option<(PathBuf, PathBuf)>,
}

/// etcd user authentication.
#[derive(Clone, Debug, PartialEq)]
pub struct EtcdAuth {
    /// The etcd user.
    pub user: String,
    /// A file holding its password (first line).
    pub password_file: PathBuf,
}

/// What an authority cut off from etcd does with its DNS answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnIsolation {
    /// Keep answering the last committed state (marked stale).
    Keep,
    /// Stop answering DNS until etcd is reachable again, so resolvers ask another authority.
    Withdraw,
}

/// The etcd-only keys of `[store]`.
#[derive(Clone, Debug, PartialEq)]
pub struct EtcdOptions {
    /// Connect timeout per endpoint.
    pub dial_timeout: Duration,
    /// Timeout of one request.
    pub request_timeout: Duration,
    /// TLS, when any TLS key is set.
    pub tls: Option<EtcdTls>,
    /// User authentication, when `user` is set.
    pub auth: Option<EtcdAuth>,
    /// What to do when cut off from etcd.
    pub on_isolation: OnIsolation,
    /// The admin URL other authorities reach this node at.
    pub advertise: Option<String>,
}

/// The etcd-only keys of an etcd `[store]`.
pub(super) fn options(raw: &RawStore, ctx: &mut Ctx<'_>, lease_ttl: Duration) -> EtcdOptions {
    let dial_timeout = positive(ctx, "store.dial_timeout", &raw.dial_timeout);
    let request_timeout = positive(ctx, "store.request_timeout", &raw.request_timeout);
    if !request_timeout.is_zero() && !lease_ttl.is_zero() && request_timeout >= lease_ttl {
        ctx.conflict(
            "store.request_timeout",
            "must be below store.lease_ttl (a hung request would outlive the leadership lease)",
        );
    }
    let base = ctx.base.clone();
    let file = |f: &Option<String>| f.as_deref().map(|f| values::path(&base, f));
    let ca_file = file(&raw.ca_file);
    let (cert, key) = (file(&raw.cert_file), file(&raw.key_file));
    let identity = match (cert, key) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        (Some(_), None) => {
            ctx.conflict("store.cert_file", "needs store.key_file too");
            None
        }
        (None, Some(_)) => {
            ctx.conflict("store.key_file", "needs store.cert_file too");
            None
        }
    };
    let tls = (ca_file.is_some() || identity.is_some()).then_some(EtcdTls { ca_file, identity });
    let auth = match (&raw.user, file(&raw.password_file)) {
        (Some(user), Some(password_file)) if !user.trim().is_empty() => Some(EtcdAuth {
            user: user.trim().to_owned(),
            password_file,
        }),
        (Some(_), Some(_)) => {
            ctx.bad("store.user", "empty");
            None
        }
        (Some(_), None) => {
            ctx.conflict("store.user", "needs store.password_file");
            None
        }
        (None, Some(_)) => {
            ctx.conflict("store.password_file", "needs store.user");
            None
        }
        (None, None) => None,
    };
    let on_isolation = match raw.on_isolation.trim() {
        "keep" => OnIsolation::Keep,
        "withdraw" => OnIsolation::Withdraw,
        other => {
            ctx.bad(
                "store.on_isolation",
                format!("{other:?}: want \"keep\" or \"withdraw\""),
            );
            OnIsolation::Keep
        }
    };
    let advertise = raw
        .advertise
        .as_deref()
        .and_then(|a| ctx.parse("store.advertise", values::url(a)));
    EtcdOptions {
        dial_timeout,
        request_timeout,
        tls,
        auth,
        on_isolation,
        advertise,
    }
}

/// The etcd-only keys given to an embedded store: each is an error (never silently ignored).
pub(super) fn refuse_on_embedded(raw: &RawStore, ctx: &mut Ctx<'_>) {
    let set = [
        (
            "store.dial_timeout",
            raw.dial_timeout != DEFAULT_DIAL_TIMEOUT,
        ),
        (
            "store.request_timeout",
            raw.request_timeout != DEFAULT_REQUEST_TIMEOUT,
        ),
        ("store.ca_file", raw.ca_file.is_some()),
        ("store.cert_file", raw.cert_file.is_some()),
        ("store.key_file", raw.key_file.is_some()),
        ("store.user", raw.user.is_some()),
        ("store.password_file", raw.password_file.is_some()),
        (
            "store.on_isolation",
            raw.on_isolation != DEFAULT_ON_ISOLATION,
        ),
        ("store.advertise", raw.advertise.is_some()),
    ];
    for (key, given) in set {
        if given {
            ctx.conflict(
                key,
                "only used with kind = \"etcd\" (this store is embedded)",
            );
        }
    }
}

fn positive(ctx: &mut Ctx<'_>, key: &str, s: &str) -> Duration {
    let d = duration(ctx, key, s);
    if d.is_zero() && values::duration(s).is_ok() {
        ctx.bad(key, "must be above zero");
    }
    d
}

/// `[store]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawStore {
    pub(crate) kind: String,
    pub(crate) endpoints: Vec<String>,
    pub(crate) prefix: String,
    pub(crate) lease_ttl: String,
    // The etcd-only keys; defaults and meaning in `config::etcd`.
    pub(crate) dial_timeout: String,
    pub(crate) request_timeout: String,
    pub(crate) ca_file: Option<String>,
    pub(crate) cert_file: Option<String>,
    pub(crate) key_file: Option<String>,
    pub(crate) user: Option<String>,
    pub(crate) password_file: Option<String>,
    pub(crate) on_isolation: String,
    pub(crate) advertise: Option<String>,
}

impl Default for RawStore {
    fn default() -> Self {
        Self {
            kind: default_store_kind(),
            endpoints: Vec::new(),
            prefix: default_store_prefix(),
            lease_ttl: default_lease_ttl(),
            dial_timeout: DEFAULT_DIAL_TIMEOUT.into(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT.into(),
            ca_file: None,
            cert_file: None,
            key_file: None,
            user: None,
            password_file: None,
            on_isolation: DEFAULT_ON_ISOLATION.into(),
            advertise: None,
        }
    }
}

fn default_store_kind() -> String {
    "embedded".into()
}
fn default_store_prefix() -> String {
    "/switchback/".into()
}
fn default_lease_ttl() -> String {
    "5s".into()
}
