//! Reads one `[[check]]` table into a [`CheckDef`]: common keys, timing, then the kind's keys.

use super::fields::Fields;
use super::{
    CheckDef, CheckKind, DnsSpec, ExecSpec, HttpSpec, IcmpSpec, IfaceSpec, TcpSpec, Timing,
    WindowSpec,
};
use crate::config::presets;
use crate::model::{CheckName, Layer, SiteId};
use std::net::{IpAddr, SocketAddr};

const KINDS: &str = "http, https, tcp, dns, exec, icmp, iface";

/// Reads one check; `None` when it has problems (already reported).
pub(crate) fn check(f: &mut Fields<'_, '_>) -> Option<CheckDef> {
    let line = f.line();
    let name = f.req_str("name", "a unique check name");
    if name.is_some_and(|n| n.trim().is_empty()) {
        f.fail("name", "must not be empty");
    }
    let self_check = f.opt_bool("self_check").unwrap_or(false);
    let site = f.opt_str("site");
    match (self_check, site) {
        (true, Some(_)) => f.fail(
            "site",
            "a self_check measures this probe's uplink, not a site",
        ),
        (false, None) if !f.has("site") => {
            f.fail_missing("site", "the site measured, or self_check = true");
        }
        _ => {}
    }
    let layer = match f.req_str("layer", "app, host or link") {
        Some("app") => Some(Layer::App),
        Some("host") => Some(Layer::Host),
        Some("link") => Some(Layer::Link),
        Some(other) => {
            f.fail(
                "layer",
                format!("unknown layer {other:?} (expected app, host or link)"),
            );
            None
        }
        None => None,
    };
    let timing = timing(f);
    let kind = match f.req_str("kind", KINDS) {
        Some(k @ ("http" | "https")) => http(f, k).map(CheckKind::Http),
        Some("tcp") => tcp(f).map(CheckKind::Tcp),
        Some("dns") => dns(f).map(CheckKind::Dns),
        Some("exec") => exec(f).map(CheckKind::Exec),
        Some("icmp") => icmp(f, layer).map(CheckKind::Icmp),
        Some("iface") => iface(f, layer).map(CheckKind::Iface),
        Some(other) => {
            f.fail(
                "kind",
                format!("unknown kind {other:?} (expected one of {KINDS})"),
            );
            f.consume_all();
            None
        }
        None => {
            f.consume_all();
            None
        }
    };
    // A polled site check with fall 1 lets one refused connection switch the service; an
    // iface check follows the kernel's carrier state (not a sample), a self-check only abstains.
    if let (Some(t), Some(k)) = (&timing, &kind)
        && t.fall < 2
        && !self_check
        && !matches!(k, CheckKind::Iface(_))
    {
        f.fail(
            "fall",
            "must be at least 2 for a site check: with fall 1 one bad sample takes the check \
             down and can switch the service (the second sample comes fast_interval later)",
        );
    }
    if f.failed {
        return None;
    }
    Some(CheckDef {
        name: CheckName(name?.to_owned()),
        site: if self_check {
            None
        } else {
            site.map(SiteId::from)
        },
        layer: layer?,
        line,
        timing: timing?,
        kind: kind?,
    })
}

fn timing(f: &mut Fields<'_, '_>) -> Option<Timing> {
    let preset = match f.opt_str("preset") {
        None => presets::standard(),
        Some(name) => match presets::preset(name) {
            Some(p) => p,
            None => {
                f.fail(
                    "preset",
                    format!("unknown preset {name:?}; known: {}", presets::names()),
                );
                presets::standard()
            }
        },
    };
    let p = preset.check;
    let interval = f.opt_dur("interval").unwrap_or(p.interval);
    let scaled = interval != p.interval;
    // An interval without a preset's other keys keeps the old proportions (timeout half,
    // jitter a tenth); the preset's own interval keeps its tuned values.
    let timeout = f
        .opt_dur("timeout")
        .unwrap_or(if scaled { interval / 2 } else { p.timeout });
    let fast_interval = f
        .opt_dur("fast_interval")
        .or(if scaled { None } else { p.fast_interval });
    let jitter = f
        .opt_dur("jitter")
        .unwrap_or(if scaled { interval / 10 } else { p.jitter });
    let rise = f.opt_int("rise", 1, 1000).map_or(p.rise, |n| n as u32);
    let fall = f.opt_int("fall", 1, 1000).map_or(p.fall, |n| n as u32);
    let loss_window = f
        .opt_int("loss_window", 1, 10_000)
        .map_or(p.window, |n| n as u32);
    let down_ratio = f.opt_num("down_ratio", 0.0, 1.0).unwrap_or(p.down_ratio);
    let up_ratio = f.opt_num("up_ratio", 0.0, 1.0).unwrap_or(p.up_ratio);
    let silence = f
        .opt_int("silence", 1, 10_000)
        .map_or(p.silence, |n| n as u32);
    if timeout >= interval {
        f.fail(
            "timeout",
            format!("{timeout:?} must be below interval ({interval:?}), or runs would overlap"),
        );
    }
    if fast_interval.is_some_and(|fi| fi > interval) {
        f.fail("fast_interval", "must not exceed interval");
    }
    if jitter >= interval {
        f.fail("jitter", "must be below interval");
    }
    if up_ratio >= down_ratio {
        f.fail(
            "up_ratio",
            format!("{up_ratio} must be below down_ratio ({down_ratio}): no hysteresis otherwise"),
        );
    }
    if f64::from(loss_window) * down_ratio < 2.0 {
        f.fail(
            "down_ratio",
            format!(
                "loss_window {loss_window} x down_ratio {down_ratio} is below 2 failures: one lost \
                 packet would take the check down"
            ),
        );
    }
    Some(Timing {
        interval,
        fast_interval,
        timeout,
        rise,
        fall,
        loss_window,
        down_ratio,
        up_ratio,
        silence,
        jitter,
    })
}

fn http(f: &mut Fields<'_, '_>, kind: &str) -> Option<HttpSpec> {
    let url = f.req_str("url", "the URL requested");
    if let Some(u) = url {
        match reqwest::Url::parse(u) {
            Ok(p) if p.scheme() != kind => {
                f.fail(
                    "url",
                    format!("scheme {:?} does not match kind {kind:?}", p.scheme()),
                );
            }
            Ok(_) => {}
            Err(e) => f.fail("url", format!("invalid URL {u:?}: {e}")),
        }
    }
    let method = f.opt_str("method").unwrap_or("GET").to_ascii_uppercase();
    if reqwest::Method::from_bytes(method.as_bytes()).is_err() {
        f.fail("method", format!("invalid HTTP method {method:?}"));
    }
    let expect_status = f
        .opt_int_list("expect_status", 100, 599)
        .map(|l| l.into_iter().map(|n| n as u16).collect::<Vec<_>>())
        .unwrap_or_else(|| vec![200]);
    if expect_status.is_empty() {
        f.fail("expect_status", "must list at least one status");
    }
    let body = f.opt_str("body").map(str::to_owned);
    let body_regex = match f.opt_str("body_regex") {
        Some(r) => match regex::Regex::new(r) {
            Ok(re) => Some(re),
            Err(e) => {
                f.fail("body_regex", format!("invalid regex: {e}"));
                None
            }
        },
        None => None,
    };
    let host = f.opt_str("host").map(str::to_owned);
    let tls_verify = f.opt_bool("tls_verify").unwrap_or(true);
    let ca_file = f.opt_str("ca_file").map(Into::into);
    Some(HttpSpec {
        url: url?.to_owned(),
        method,
        expect_status,
        body,
        body_regex,
        host,
        tls_verify,
        ca_file,
    })
}

fn tcp(f: &mut Fields<'_, '_>) -> Option<TcpSpec> {
    if !f.has("target") {
        f.fail_missing("target", "ip:port to connect to");
    }
    let target = f.opt_parse::<SocketAddr>("target", "ip:port");
    let send = f.opt_str("send").map(str::to_owned);
    let expect = f.opt_str("expect").map(str::to_owned);
    Some(TcpSpec {
        target: target?,
        send,
        expect,
    })
}

fn dns(f: &mut Fields<'_, '_>) -> Option<DnsSpec> {
    if !f.has("server") {
        f.fail_missing("server", "ip:port of the DNS server asked");
    }
    let server = f.opt_parse::<SocketAddr>("server", "ip:port");
    let query = f.req_str("query", "the name asked for").map(str::to_owned);
    let qtype = f.opt_str("qtype").unwrap_or("A").to_ascii_uppercase();
    if qtype
        .parse::<hickory_server::proto::rr::RecordType>()
        .is_err()
    {
        f.fail("qtype", format!("unknown record type {qtype:?}"));
    }
    let expect_rcode = f
        .opt_str("expect_rcode")
        .unwrap_or("NOERROR")
        .to_ascii_uppercase();
    if super::rcode::rcode_named(&expect_rcode).is_none() {
        f.fail(
            "expect_rcode",
            format!("unknown response code {expect_rcode:?}"),
        );
    }
    let expect_address = f.opt_parse::<IpAddr>("expect_address", "IP address");
    Some(DnsSpec {
        server: server?,
        query: query?,
        qtype,
        expect_rcode,
        expect_address,
    })
}

fn exec(f: &mut Fields<'_, '_>) -> Option<ExecSpec> {
    if !f.has("command") {
        f.fail_missing("command", "[program, args...], run without a shell");
    }
    let command = f.opt_str_list("command");
    if command
        .as_ref()
        .is_some_and(|c| c.is_empty() || c[0].is_empty())
    {
        f.fail("command", "must name a program");
    }
    let target = f.opt_str("target").map(str::to_owned);
    let env = f.opt_str_table("env").unwrap_or_default();
    Some(ExecSpec {
        command: command?,
        target,
        env,
    })
}

fn icmp(f: &mut Fields<'_, '_>, layer: Option<Layer>) -> Option<IcmpSpec> {
    if !f.has("target") {
        f.fail_missing("target", "the IPv4 or IPv6 address pinged");
    }
    let target = f.opt_parse::<IpAddr>("target", "IP address");
    let window_keys = ["window", "max_loss", "max_rtt", "max_p95", "max_jitter"];
    let has_window = window_keys.iter().any(|k| f.has(k));
    let window = if has_window {
        if layer != Some(Layer::Link) {
            f.fail(
                "window",
                "window thresholds apply to link-layer icmp checks only",
            );
        }
        let size = f.opt_int("window", 1, 10_000).unwrap_or(20) as usize;
        let max_loss = f.opt_num("max_loss", 0.0, 100.0).unwrap_or(100.0);
        let max_rtt = f.opt_dur("max_rtt");
        let max_p95 = f.opt_dur("max_p95");
        let max_jitter = f.opt_dur("max_jitter");
        Some(WindowSpec {
            size,
            max_loss,
            max_rtt,
            max_p95,
            max_jitter,
        })
    } else {
        None
    };
    Some(IcmpSpec {
        target: target?,
        window,
    })
}

fn iface(f: &mut Fields<'_, '_>, layer: Option<Layer>) -> Option<IfaceSpec> {
    if layer.is_some_and(|l| l != Layer::Link) {
        f.fail("layer", "iface checks measure the link layer");
    }
    let name = f.req_str("iface", "the interface name");
    if name.is_some_and(|n| n.is_empty() || n.len() > 15) {
        f.fail("iface", "interface names are 1 to 15 bytes");
    }
    Some(IfaceSpec {
        iface: name?.to_owned(),
    })
}
