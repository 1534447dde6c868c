//! All integration suites in one test binary; each runs the real `switchback` binary or real peers.

mod alert;
mod alert_support;
mod check;
mod cli;
mod cluster;
mod cluster_pending;
mod cluster_relay;
mod cluster_support;
mod console;
mod dashboard_browser;
mod dns_answers;
mod dns_atomic;
mod dns_conformance;
mod dns_restart;
mod dns_secondary;
mod dns_support;
mod dns_transfer;
mod drill;
#[path = "../support/etcd.rs"]
mod etcd_support;
use etcd_support::ports;
mod failover;
#[path = "../support/fixture.rs"]
mod fixture;
mod harness;
mod pending;
mod probe_evidence;
mod probe_exec;
mod probe_kinds;
mod probe_netns;
mod probe_privilege;
mod probe_servers;
mod probe_support;
mod probe_tls;
mod push_backoff;
mod remote_probe;
mod restart;
mod route_bench;
mod route_netns;
mod route_support;
