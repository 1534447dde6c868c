//! Parsers for the string-typed values of the raw schema: durations, addresses, CIDRs, DNS
//! names and URLs. Each returns a problem text quoting the value, for `file:line: key: problem`.

use hickory_server::proto::rr::Name;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `"250ms"`, `"5s"`, `"10m"` (humantime syntax).
pub(crate) fn duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|e| format!("bad duration {s:?} ({e}); write e.g. \"250ms\", \"5s\", \"10m\""))
}

/// An IPv4 or IPv6 address without port.
pub(crate) fn ip(s: &str) -> Result<IpAddr, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("bad IP address {s:?}; write e.g. \"10.1.0.10\" or \"2001:db8::10\""))
}

/// `ip:port` or `[ipv6]:port`.
pub(crate) fn socket(s: &str) -> Result<SocketAddr, String> {
    s.trim().parse().map_err(|_| {
        format!("bad socket address {s:?}; write e.g. \"127.0.0.1:5353\" or \"[::1]:5353\"")
    })
}

/// A CIDR prefix; a bare address means a host prefix (/32 or /128).
pub(crate) fn net(s: &str) -> Result<IpNet, String> {
    let t = s.trim();
    if let Ok(n) = t.parse::<IpNet>() {
        return Ok(n);
    }
    t.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("bad CIDR prefix {s:?}; write e.g. \"10.9.0.10/32\""))
}

/// A DNS name, normalised to lower case with a trailing dot.
pub(crate) fn dns_name(s: &str) -> Result<String, String> {
    let t = s.trim();
    if t.is_empty() || t == "." {
        return Err(format!("bad DNS name {s:?}: empty"));
    }
    let name = Name::from_ascii(t).map_err(|e| format!("bad DNS name {s:?}: {e}"))?;
    let mut out = name.to_lowercase().to_ascii();
    if !out.ends_with('.') {
        out.push('.');
    }
    Ok(out)
}

/// Whether normalised `name` is `zone` or below it (both lower case with trailing dot).
pub(crate) fn in_zone(name: &str, zone: &str) -> bool {
    name == zone || zone == "." || name.ends_with(&format!(".{zone}"))
}

/// An `http://` or `https://` URL with a host.
pub(crate) fn url(s: &str) -> Result<String, String> {
    match reqwest::Url::parse(s.trim()) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
            Ok(s.trim().to_owned())
        }
        Ok(_) => Err(format!(
            "bad URL {s:?}: want http:// or https:// with a host"
        )),
        Err(e) => Err(format!("bad URL {s:?}: {e}")),
    }
}

/// A path, resolved against `base` (the config file's folder) when relative.
pub(crate) fn path(base: &Path, s: &str) -> PathBuf {
    let p = Path::new(s);
    if p.is_absolute() {
        p.to_owned()
    } else {
        base.join(p)
    }
}

/// A DNS TTL: whole seconds, at most 2^31-1 (RFC 2181 §8).
pub(crate) fn ttl(d: Duration) -> Result<Duration, String> {
    if d.subsec_nanos() != 0 {
        return Err(format!(
            "DNS TTLs are whole seconds, got {}",
            humantime::format_duration(d)
        ));
    }
    if d.as_secs() > i32::MAX as u64 {
        return Err("DNS TTL above 2^31-1 seconds".into());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(duration("10m"), Ok(Duration::from_secs(600)));
        assert!(duration("5 parsecs").is_err());
        assert!(duration("5").is_err());
    }

    #[test]
    fn addresses() {
        assert!(ip("10.1.0.1").is_ok());
        assert!(ip("10.1.0.256").is_err());
        assert!(socket("[::1]:53").is_ok());
        assert!(socket("127.0.0.1").is_err());
        assert_eq!(net("10.9.0.10").map(|n| n.prefix_len()), Ok(32));
        assert!(net("10.9.0.0/33").is_err());
    }

    #[test]
    fn names_and_zones() {
        assert_eq!(dns_name("CRM.Boss.Example"), Ok("crm.boss.example.".into()));
        assert_eq!(
            dns_name("crm.boss.example."),
            Ok("crm.boss.example.".into())
        );
        assert!(dns_name("").is_err());
        assert!(dns_name("a..b").is_err());
        assert!(in_zone("crm.boss.example.", "boss.example."));
        assert!(in_zone("boss.example.", "boss.example."));
        assert!(!in_zone("crm.notboss.example.", "boss.example."));
        assert!(!in_zone("crm.other.", "boss.example."));
    }

    #[test]
    fn urls_and_ttls() {
        assert!(url("http://10.0.0.1:2379").is_ok());
        assert!(url("10.0.0.1:2379").is_err());
        assert!(url("ftp://x").is_err());
        assert!(ttl(Duration::from_millis(1500)).is_err());
        assert!(ttl(Duration::from_secs(30)).is_ok());
    }
}
