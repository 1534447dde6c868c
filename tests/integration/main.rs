//! All integration suites in one test binary; each runs the real `switchback` binary or real peers.
mod check;
mod probe_exec;
mod probe_kinds;
mod probe_netns;
mod probe_privilege;
mod probe_servers;
mod probe_support;
mod probe_tls;
