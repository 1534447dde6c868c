//! The clap definitions: subcommands, their flags and the demo config location.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// `switchback`: keeps BOSS service names and VIPs on a working data centre.
#[derive(Debug, Parser)]
#[command(name = "switchback", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Log line format on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormatArg {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `on` or `off` for `maintenance`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    /// Freeze the service.
    On,
    /// Unfreeze it.
    Off,
}

/// Arguments of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Config file; without it, the loopback demo config shipped in the repo.
    #[arg(short = 'c', long = "config")]
    pub config: Option<PathBuf>,
    /// Log format (overrides `[log] format`).
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormatArg>,
}

/// How operator verbs reach a node's admin API.
#[derive(Clone, Debug, Args)]
pub struct AdminArgs {
    /// Admin API base URL.
    #[arg(
        long,
        global = true,
        env = "SWITCHBACK_ADMIN",
        default_value = "http://127.0.0.1:9530"
    )]
    pub admin: String,
    /// Bearer token for writes.
    #[arg(long, global = true, env = "SWITCHBACK_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// File holding the bearer token (used when --token is not given).
    #[arg(long, global = true)]
    pub token_file: Option<PathBuf>,
    /// Print the raw JSON answer instead of a human summary.
    #[arg(long, global = true)]
    pub json: bool,
    /// Who runs this write, recorded in the audit log (default: your login name).
    #[arg(long, global = true, env = "SWITCHBACK_OPERATOR")]
    pub by: Option<String>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a node (probe and/or authority roles, per config).
    Serve(ServeArgs),
    /// Validate a config with its probes and zones; exit 1 on problems.
    Check {
        /// Config file.
        #[arg(short = 'c', long = "config")]
        config: PathBuf,
    },
    /// Show each service's active site, epoch, mode and health.
    Status {
        /// Admin connection.
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Show the current votes (latest observation per probe).
    Votes {
        /// Admin connection.
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Move a service to a site.
    Switch {
        /// The service.
        service: String,
        /// Target site.
        #[arg(long)]
        to: String,
        /// Why (kept in the audit log).
        #[arg(long)]
        reason: String,
        /// Switch even if the target site is not seen up.
        #[arg(long)]
        force: bool,
        /// Admin connection.
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Approve a service's pending (confirm-mode) switch.
    Approve {
        /// The service.
        service: String,
        /// Admin connection.
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Reject a service's pending switch.
    Reject {
        /// The service.
        service: String,
        /// Admin connection.
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Freeze or unfreeze automatic decisions for a service.
    Maintenance {
        /// The service.
        service: String,
        /// on or off.
        #[arg(value_enum)]
        state: OnOff,
        /// Admin connection.
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Let a held-out (recovered) site be chosen again.
    Readmit {
        /// The service.
        service: String,
        /// The site to re-admit.
        site: String,
        /// Admin connection.
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Show the audit log, newest first.
    History {
        /// Only this service.
        service: Option<String>,
        /// At most this many records.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Admin connection.
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Run a DR drill: switch to another site, verify, hold, switch back, report.
    Drill {
        /// The service.
        service: String,
        /// Target site (default: the other serving site).
        #[arg(long)]
        to: Option<String>,
        /// How long to stay on the target, e.g. 30s, 5m.
        #[arg(long, default_value = "30s")]
        hold: String,
        /// Start it and return at once (the dashboard and `GET /v1/drills` follow it).
        #[arg(long)]
        no_wait: bool,
        /// Admin connection.
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// List drills (running and finished), newest first.
    Drills {
        /// Admin connection.
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Re-read and validate the node's config, probes and zones; a bad one is refused.
    Reload {
        /// Admin connection.
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Run every check of the config's probes files once and print a table (check, site,
    /// layer, state, RTT, detail); exits 1 when a definition is invalid or a check is down.
    Probe {
        /// Config file.
        #[arg(short = 'c', long = "config")]
        config: PathBuf,
        /// Run each check once and exit (the continuous prober runs inside `serve`).
        #[arg(long, required = true)]
        once: bool,
    },
    /// Prove the pager wiring (`alert test -c FILE [--sink NAME] [--resolve]`) or acknowledge
    /// an open condition (`alert ack KEY`).
    Alert {
        /// What to do.
        #[command(subcommand)]
        command: AlertCommand,
    },
}

/// `switchback alert …`.
#[derive(Debug, Subcommand)]
pub enum AlertCommand {
    /// Send a test event through every sink (or one) and say which acknowledged.
    Test {
        /// Config file.
        #[arg(short = 'c', long = "config")]
        config: PathBuf,
        /// Only this sink (its `name`).
        #[arg(long)]
        sink: Option<String>,
        /// Send the resolve of the test condition instead (closes the test incident).
        #[arg(long)]
        resolve: bool,
    },
    /// Acknowledge an open condition at the pager (PagerDuty `acknowledge`; webhook and exec
    /// sinks get `action = acknowledge`; Alertmanager has no acknowledge and is not sent one).
    Ack {
        /// The condition's key as the alert carries it, e.g. `failover/crm`.
        key: String,
        /// Admin connection.
        #[command(flatten)]
        admin: AdminArgs,
    },
}

/// The demo config: `deploy/demo/switchback.toml` under the current directory if present,
/// else under the source tree this binary was built from.
pub fn demo_config_path() -> PathBuf {
    let rel = PathBuf::from("deploy/demo/switchback.toml");
    if rel.is_file() {
        rel
    } else {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn switch_parses_flags() {
        let cli = Cli::try_parse_from([
            "switchback",
            "switch",
            "crm",
            "--to",
            "sh",
            "--reason",
            "drill",
            "--force",
            "--admin",
            "http://127.0.0.1:1",
        ])
        .unwrap();
        let Command::Switch {
            service,
            to,
            reason,
            force,
            admin,
        } = cli.command
        else {
            panic!("not a switch: {:?}", cli.command);
        };
        assert_eq!(
            (service.as_str(), to.as_str(), reason.as_str()),
            ("crm", "sh", "drill")
        );
        assert!(force);
        assert_eq!(admin.admin, "http://127.0.0.1:1");
    }

    #[test]
    fn maintenance_wants_on_or_off() {
        assert!(Cli::try_parse_from(["switchback", "maintenance", "crm", "maybe"]).is_err());
        assert!(Cli::try_parse_from(["switchback", "maintenance", "crm", "on"]).is_ok());
    }
}
