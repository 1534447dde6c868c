//! The second pass for `service.policy`: modes, quorum against the voters, timer sanity, gates.

use super::ctx::Ctx;
use super::ctx::{duration, ident, join};
use super::raw::RawPolicy;
use super::values;
use super::{AllDown, ConfirmTimeout, Failback, Mode, NodeSection, Policy, VotesSection};
use crate::model::CheckName;
use std::collections::BTreeSet;

/// Validates one service's policy at `key` (`service[i].policy`).
pub(crate) fn policy(
    ctx: &mut Ctx<'_>,
    key: &str,
    raw: &RawPolicy,
    votes: &VotesSection,
    node: &NodeSection,
) -> Policy {
    let k = |f: &str| format!("{key}.{f}");
    let mode = match raw.mode.trim() {
        "auto" => Mode::Auto,
        "confirm" => Mode::Confirm,
        "manual" => Mode::Manual,
        other => {
            ctx.bad(
                &k("mode"),
                format!("unknown mode {other:?}; known: auto, confirm, manual"),
            );
            Mode::Manual
        }
    };
    let on_confirm_timeout = match raw.on_confirm_timeout.trim() {
        "abort" => ConfirmTimeout::Abort,
        "proceed" => ConfirmTimeout::Proceed,
        other => {
            ctx.bad(
                &k("on_confirm_timeout"),
                format!("unknown value {other:?}; known: abort, proceed"),
            );
            ConfirmTimeout::Abort
        }
    };
    let failback = match raw.failback.trim() {
        "manual" => Failback::Manual,
        "auto" => Failback::Auto,
        other => {
            ctx.bad(
                &k("failback"),
                format!("unknown value {other:?}; known: manual, auto"),
            );
            Failback::Manual
        }
    };
    let all_down = match raw.all_down.trim() {
        "keep" => AllDown::Keep,
        "all" => AllDown::All,
        "none" => AllDown::None,
        other => {
            ctx.bad(
                &k("all_down"),
                format!("unknown value {other:?}; known: keep, all, none"),
            );
            AllDown::Keep
        }
    };
    // Who can vote: the listed voters, or this node alone when none are listed.
    let voters = votes.voters.len().max(1);
    let domains: BTreeSet<&str> = if votes.voters.is_empty() {
        BTreeSet::from([node.domain.as_str()])
    } else {
        votes.voters.iter().map(|v| v.domain.as_str()).collect()
    };
    let quorum = raw.quorum.map_or(voters / 2 + 1, |c| c.0);
    if quorum == 0 {
        ctx.bad(&k("quorum"), "must be at least 1");
    } else if quorum > voters {
        ctx.conflict(
            &k("quorum"),
            format!(
                "quorum {quorum} is larger than the {voters} probe(s) that can vote ({})",
                if votes.voters.len() == 1 && votes.voters[0].id == node.id {
                    "votes.voters is empty or lists only this node: this node alone votes"
                        .to_owned()
                } else {
                    join(votes.voters.iter().map(|v| &v.id))
                }
            ),
        );
    }
    let min_domains = raw.min_domains.map_or(domains.len().min(2), |c| c.0);
    if min_domains == 0 {
        ctx.bad(&k("min_domains"), "must be at least 1");
    } else if min_domains > domains.len() {
        ctx.conflict(
            &k("min_domains"),
            format!(
                "min_domains {min_domains} is larger than the {} distinct failure domain(s) of the voters ({})",
                domains.len(),
                join(&domains)
            ),
        );
    }
    let hold_down = duration(ctx, &k("hold_down"), &raw.hold_down);
    let hold_ok = values::duration(&raw.hold_down).is_ok();
    if hold_ok && hold_down.is_zero() {
        ctx.bad(
            &k("hold_down"),
            "must be above zero: one bad sample must not switch",
        );
    }
    let confirm_timeout = duration(ctx, &k("confirm_timeout"), &raw.confirm_timeout);
    if values::duration(&raw.confirm_timeout).is_ok() && confirm_timeout.is_zero() {
        ctx.bad(&k("confirm_timeout"), "must be above zero");
    }
    let failback_hold = duration(ctx, &k("failback_hold"), &raw.failback_hold);
    if hold_ok && values::duration(&raw.failback_hold).is_ok() && failback_hold < hold_down {
        ctx.conflict(
            &k("failback_hold"),
            format!(
                "failback_hold ({}) shorter than hold_down ({}): failback would be quicker than failover",
                humantime::format_duration(failback_hold),
                humantime::format_duration(hold_down)
            ),
        );
    }
    let mut gates = Vec::new();
    for (g, name) in raw.gates.iter().enumerate() {
        let name = ident(ctx, &format!("{key}.gates[{g}]"), Some(name));
        gates.push(CheckName(name));
    }
    Policy {
        mode,
        quorum,
        min_domains,
        hold_down,
        confirm_timeout,
        on_confirm_timeout,
        failback,
        failback_hold,
        hold_out_recovered: raw.hold_out_recovered,
        gates,
        all_down,
    }
}
