//! The second pass for `[[alert]]` sinks.

use super::AlertSink;
use super::ctx::Ctx;
use super::raw::{RawAlert, default_pagerduty_url};
use super::values;

/// `[[alert]]`: the keys each kind needs, and no keys it would ignore.
pub(crate) fn alerts(raw: Vec<RawAlert>, ctx: &mut Ctx<'_>) -> Vec<AlertSink> {
    let mut out = Vec::new();
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
        let (sink, allowed): (Option<AlertSink>, &[&str]) = match kind {
            None => {
                ctx.missing(&format!("{key}.kind"));
                (None, &["url", "routing_key_file", "command"])
            }
            Some("webhook") => (Some(AlertSink::Webhook { url: url(ctx, &a) }), &["url"]),
            Some("alertmanager") => (
                Some(AlertSink::Alertmanager { url: url(ctx, &a) }),
                &["url"],
            ),
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
                    Some(AlertSink::Pagerduty {
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
                (Some(AlertSink::Exec { command }), &["command"])
            }
            Some(other) => {
                ctx.bad(
                    &format!("{key}.kind"),
                    format!("unknown alert kind {other:?}; known: webhook, alertmanager, pagerduty, exec"),
                );
                (None, &["url", "routing_key_file", "command"])
            }
        };
        for (field, set) in [
            ("url", a.url.is_some()),
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
        out.extend(sink);
    }
    out
}
