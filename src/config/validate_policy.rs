//! The second pass for `service.policy`: modes, quorum against the voters, timer sanity, gates.

use super::ctx::Ctx;
use super::ctx::{duration, ident, join};
use super::presets;
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
    let preset = match raw.preset.as_deref().map(str::trim) {
        None => presets::standard(),
        Some(name) => presets::preset(name).unwrap_or_else(|| {
            ctx.bad(
                &k("preset"),
                format!("unknown preset {name:?}; known: {}", presets::names()),
            );
            presets::standard()
        }),
    };
    let pp = preset.policy;
    let (hold_down, hold_ok) = match &raw.hold_down {
        Some(s) => (
            duration(ctx, &k("hold_down"), s),
            values::duration(s).is_ok(),
        ),
        None => (pp.hold_down, true),
    };
    if hold_ok && hold_down.is_zero() {
        ctx.bad(
            &k("hold_down"),
            "must be above zero: the active site must stay down a while before a switch",
        );
    }
    let confirm_timeout = duration(ctx, &k("confirm_timeout"), &raw.confirm_timeout);
    if values::duration(&raw.confirm_timeout).is_ok() && confirm_timeout.is_zero() {
        ctx.bad(&k("confirm_timeout"), "must be above zero");
    }
    let (failback_hold, fbh_ok) = match &raw.failback_hold {
        Some(s) => (
            duration(ctx, &k("failback_hold"), s),
            values::duration(s).is_ok(),
        ),
        None => (pp.failback_hold, true),
    };
    if hold_ok && fbh_ok && failback_hold < hold_down * FAILBACK_FLOOR {
        ctx.conflict(
            &k("failback_hold"),
            format!(
                "failback_hold ({}) is below {FAILBACK_FLOOR} x hold_down ({}): a flapping primary \
                 would flip the answer back and forth; make it at least {}",
                humantime::format_duration(failback_hold),
                humantime::format_duration(hold_down),
                humantime::format_duration(hold_down * FAILBACK_FLOOR)
            ),
        );
    }
    let mut damping = pp.damping;
    if let Some(s) = &raw.damping_half_life {
        let hl = duration(ctx, &k("damping_half_life"), s);
        if values::duration(s).is_ok() && hl < failback_hold {
            ctx.conflict(
                &k("damping_half_life"),
                format!(
                    "damping_half_life ({}) is below failback_hold ({}): a flapping service would \
                     be released before it could even fail back",
                    humantime::format_duration(hl),
                    humantime::format_duration(failback_hold)
                ),
            );
        }
        damping.half_life = hl;
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
        damping,
    }
}

/// `failback_hold` must be at least this many `hold_down`s.
pub(crate) const FAILBACK_FLOOR: u32 = 3;
