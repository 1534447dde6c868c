//! The second pass for `[[alert]]` sinks.

use super::Service;
use super::alert::{
    ALERT_KINDS, AlertFilter, AlertSink, DEFAULT_MAX_AGE, DEFAULT_TIMEOUT, RawAlert, Severity,
    SinkKind,
};
use super::ctx::{self, Ctx};
use super::raw::default_pagerduty_url;
use super::values;
use std::collections::BTreeSet;

/// `[[alert]]`: the keys each kind needs, no keys it would ignore, unique names.
pub(crate) fn alerts(
    raw: Vec<RawAlert>,
    ctx: &mut Ctx<'_>,
    services: &[Service],
) -> Vec<AlertSink> {
    let mut out = Vec::new();
    let kinds_seen: Vec<Option<String>> = raw
        .iter()
        .map(|a| a.kind.as_deref().map(|k| k.trim().to_owned()))
        .collect();
    let mut names = BTreeSet::new();
    for (i, a) in raw.into_iter().enumerate() {
        let key = format!("alert[{i}]");
        let url = |ctx: &mut Ctx<'_>, a: &RawAlert| match &a.url {
            None => {
                ctx.missing(&format!("{key}.url"));
                String::new()
            }
            Some(u) => ctx
                .parse(&format!("{key}.url"), values::url(u))
                .unwrap_or_default(),
        };
        let kind = a.kind.as_deref().map(str::trim);
        let all: &[&str] = &[
            "url",
            "headers",
            "hmac_secret_file",
            "routing_key_file",
            "command",
        ];
        let (sink, allowed): (Option<SinkKind>, &[&str]) = match kind {
            None => {
                ctx.missing(&format!("{key}.kind"));
                (None, all)
            }
            Some("webhook") => (
                Some(SinkKind::Webhook {
                    url: url(ctx, &a),
                    headers: a.headers.clone().unwrap_or_default(),
                    hmac_secret_file: a
                        .hmac_secret_file
                        .as_deref()
                        .map(|f| values::path(&ctx.base, f)),
                }),
                &["url", "headers", "hmac_secret_file"],
            ),
            Some("alertmanager") => (Some(SinkKind::Alertmanager { url: url(ctx, &a) }), &["url"]),
            Some("pagerduty") => {
                let routing_key_file = match &a.routing_key_file {
                    Some(f) => values::path(&ctx.base, f),
                    None => {
                        ctx.missing(&format!("{key}.routing_key_file"));
                        Default::default()
                    }
                };
                let url = match &a.url {
                    Some(u) => ctx
                        .parse(&format!("{key}.url"), values::url(u))
                        .unwrap_or_default(),
                    None => default_pagerduty_url(),
                };
                (
                    Some(SinkKind::Pagerduty {
                        routing_key_file,
                        url,
                    }),
                    &["url", "routing_key_file"],
                )
            }
            Some("exec") => {
                let command = a.command.clone().unwrap_or_default();
                if command.is_empty() || command[0].trim().is_empty() {
                    ctx.bad(&format!("{key}.command"), "give the program and its arguments, e.g. [\"/usr/local/bin/page\", \"--json\"]");
                }
                (Some(SinkKind::Exec { command }), &["command"])
            }
            Some(other) => {
                ctx.bad(
                    &format!("{key}.kind"),
                    format!("unknown alert kind {other:?}; known: webhook, alertmanager, pagerduty, exec"),
                );
                (None, all)
            }
        };
        for (field, set) in [
            ("url", a.url.is_some()),
            ("headers", a.headers.is_some()),
            ("hmac_secret_file", a.hmac_secret_file.is_some()),
            ("routing_key_file", a.routing_key_file.is_some()),
            ("command", a.command.is_some()),
        ] {
            if set && !allowed.contains(&field) {
                ctx.conflict(
                    &format!("{key}.{field}"),
                    format!("not used by kind = {:?}", kind.unwrap_or_default()),
                );
            }
        }
        // Default name: the kind, or `kind-i` when several sinks share a kind.
        let kind_name = kind.unwrap_or("alert").to_owned();
        let name = match &a.name {
            Some(n) => ctx::ident(ctx, &format!("{key}.name"), Some(n)),
            None if kinds_seen
                .iter()
                .filter(|k| k.as_deref() == Some(&kind_name))
                .count()
                > 1 =>
            {
                format!("{kind_name}-{i}")
            }
            None => kind_name,
        };
        if !names.insert(name.clone()) {
            ctx.conflict(
                &format!("{key}.name"),
                format!("another [[alert]] is already named {name:?}; give each sink its own name"),
            );
        }
        let timeout = match a.timeout.as_deref() {
            None => DEFAULT_TIMEOUT,
            Some(t) => match ctx.parse(&format!("{key}.timeout"), values::duration(t)) {
                Some(d) if d.is_zero() => {
                    ctx.bad(&format!("{key}.timeout"), "must be above zero");
                    DEFAULT_TIMEOUT
                }
                Some(d) => d,
                None => DEFAULT_TIMEOUT,
            },
        };
        let max_age = a.max_age.as_deref().map_or(DEFAULT_MAX_AGE, |s| {
            ctx::duration(ctx, &format!("{key}.max_age"), s)
        });
        let min_severity = a.min_severity.as_deref().map_or(Severity::Info, |s| {
            ctx.parse(&format!("{key}.min_severity"), Severity::parse(s))
                .unwrap_or(Severity::Info)
        });
        let kinds = a.kinds.clone().unwrap_or_default();
        for (j, k) in kinds.iter().enumerate() {
            if !ALERT_KINDS.contains(&k.as_str()) {
                ctx.bad(
                    &format!("{key}.kinds[{j}]"),
                    format!(
                        "unknown event kind {k:?}; known: {}",
                        ALERT_KINDS.join(", ")
                    ),
                );
            }
        }
        let filter = AlertFilter {
            min_severity,
            kinds,
            services: a.services.clone().unwrap_or_default(),
        };
        out.extend(sink.map(|kind| AlertSink {
            name,
            kind,
            filter,
            timeout,
            max_age,
        }));
    }
    filter_services(&out, services, ctx);
    out
}

/// Services named in sink filters must exist.
fn filter_services(sinks: &[AlertSink], services: &[Service], ctx: &mut Ctx<'_>) {
    for (i, s) in sinks.iter().enumerate() {
        for (j, svc) in s.filter.services.iter().enumerate() {
            if !services.iter().any(|s| s.name.as_str() == svc) {
                ctx.conflict(
                    &format!("alert[{i}].services[{j}]"),
                    format!("no [[service]] named {svc:?}"),
                );
            }
        }
    }
}
