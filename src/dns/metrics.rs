//! Counters the DNS authority keeps for `/metrics`; lock-free so the hot path can bump them.

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters shared by every serving task.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) queries: AtomicU64,
    pub(crate) fast_answers: AtomicU64,
    pub(crate) malformed_dropped: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) transfers: AtomicU64,
    pub(crate) transfers_refused: AtomicU64,
    pub(crate) notifies_sent: AtomicU64,
    pub(crate) notifies_acked: AtomicU64,
    pub(crate) notifies_failed: AtomicU64,
    pub(crate) snapshots: AtomicU64,
    /// Responses sent, by RCODE (the low four bits of the header's fourth byte).
    pub(crate) rcodes: [AtomicU64; 16],
}

/// One reading of the counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DnsCounters {
    /// Requests received over UDP and TCP (malformed ones included).
    pub queries: u64,
    /// Requests answered by the pre-rendered fast path.
    pub fast_answers: u64,
    /// Packets dropped because they could not be parsed as a DNS request.
    pub malformed_dropped: u64,
    /// Answers with RCODE REFUSED (outside our zones, transfers not allowed).
    pub refused: u64,
    /// Zone transfers (AXFR or IXFR) served.
    pub transfers: u64,
    /// Zone transfers refused by the allow-list or TSIG.
    pub transfers_refused: u64,
    /// NOTIFY messages sent (retries included).
    pub notifies_sent: u64,
    /// NOTIFYs acknowledged by a secondary.
    pub notifies_acked: u64,
    /// NOTIFYs given up after all retries.
    pub notifies_failed: u64,
    /// Snapshots swapped in after a change.
    pub snapshots: u64,
    /// Responses sent, by RCODE.
    pub rcodes: [u64; 16],
}

impl Counters {
    /// Adds one to a counter.
    pub(crate) fn bump(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n` to a counter.
    pub(crate) fn add(c: &AtomicU64, n: u64) {
        if n > 0 {
            c.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Counts one response by its RCODE (a reply too short to have one is not counted).
    pub(crate) fn response(counts: &mut [u64; 16], reply: &[u8]) {
        if let Some(b) = reply.get(3) {
            counts[usize::from(b & 0x0f)] += 1;
        }
    }

    /// Adds a batch's per-RCODE response counts.
    pub(crate) fn add_responses(&self, counts: &[u64; 16]) {
        for (c, n) in self.rcodes.iter().zip(counts) {
            Self::add(c, *n);
        }
    }

    /// Reads every counter.
    pub(crate) fn read(&self) -> DnsCounters {
        let r = |c: &AtomicU64| c.load(Ordering::Relaxed);
        DnsCounters {
            queries: r(&self.queries),
            fast_answers: r(&self.fast_answers),
            malformed_dropped: r(&self.malformed_dropped),
            refused: r(&self.refused),
            transfers: r(&self.transfers),
            transfers_refused: r(&self.transfers_refused),
            notifies_sent: r(&self.notifies_sent),
            notifies_acked: r(&self.notifies_acked),
            notifies_failed: r(&self.notifies_failed),
            snapshots: r(&self.snapshots),
            rcodes: std::array::from_fn(|i| r(&self.rcodes[i])),
        }
    }
}

impl DnsCounters {
    /// Write the counters in the Prometheus text format.
    pub fn render(&self, out: &mut String) {
        use std::fmt::Write;
        let rows: [(&str, &str, u64); 10] = [
            (
                "dns_queries_total",
                "DNS requests received (UDP and TCP).",
                self.queries,
            ),
            (
                "dns_fast_answers_total",
                "DNS requests answered from pre-rendered answers.",
                self.fast_answers,
            ),
            (
                "dns_malformed_dropped_total",
                "DNS packets dropped as unparseable.",
                self.malformed_dropped,
            ),
            (
                "dns_refused_total",
                "DNS answers with REFUSED.",
                self.refused,
            ),
            (
                "dns_transfers_total",
                "Zone transfers served.",
                self.transfers,
            ),
            (
                "dns_transfers_refused_total",
                "Zone transfers refused by ACL or TSIG.",
                self.transfers_refused,
            ),
            (
                "dns_notifies_sent_total",
                "NOTIFY messages sent, retries included.",
                self.notifies_sent,
            ),
            (
                "dns_notifies_acked_total",
                "NOTIFYs acknowledged by a secondary.",
                self.notifies_acked,
            ),
            (
                "dns_notifies_failed_total",
                "NOTIFYs given up after every retry.",
                self.notifies_failed,
            ),
            (
                "dns_snapshots_total",
                "Zone snapshots swapped in.",
                self.snapshots,
            ),
        ];
        for (name, help, value) in rows {
            let name = format!("switchback_{name}");
            crate::metrics::family(out, &name, "counter", help);
            let _ = writeln!(out, "{name} {value}");
        }
        let name = "switchback_dns_responses_total";
        crate::metrics::family(out, name, "counter", "DNS responses sent, by RCODE.");
        for (code, n) in self.rcodes.iter().enumerate() {
            if *n > 0 || code == 0 {
                let rcode = RCODES.get(code).copied().unwrap_or("UNKNOWN");
                let _ = writeln!(out, "{name}{{rcode=\"{rcode}\"}} {n}");
            }
        }
    }
}

/// RCODE names by value (RFC 1035, 2136).
const RCODES: [&str; 16] = [
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
    "NXRRSET", "NOTAUTH", "NOTZONE", "RCODE11", "RCODE12", "RCODE13", "RCODE14", "RCODE15",
];
