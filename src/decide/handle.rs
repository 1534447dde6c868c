//! The seams around the decision loop: requests in ([`DecisionHandle`]), its view out
//! ([`Published`] on a watch channel for the API), durable events out ([`DurableEvent`] on a
//! broadcast stream for the pager).
//!
//! Committed decisions do not leave here: they go to the store, and enactors follow the
//! store's watch, so a follower that runs no decision loop enacts the same thing.

use crate::model::{Observation, Timestamp};
use crate::policy::{Command, CommandError, Event, Output, ServiceStatus, VotesView};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

/// What the decision loop shows after every input: the engine's live view, for the admin API
/// and dashboard (never for enactors: they follow committed state).
#[derive(Clone, Debug)]
pub struct Published {
    /// Every service's status.
    pub status: Vec<ServiceStatus>,
    /// The current votes.
    pub votes: VotesView,
}

/// A policy event, sent only once its audit record is durable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DurableEvent {
    /// The engine's `now` when it happened.
    pub at: Timestamp,
    /// What happened.
    pub event: Event,
}

/// Why an operator command failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandFailure {
    /// The decision core refused it (unknown service/site, nothing pending, target down, ...).
    #[error(transparent)]
    Refused(#[from] CommandError),
    /// Its decision could not be persisted; the node stops (fail-stop, nothing was enacted).
    /// Holds the store error's text: the error itself ends the node's run.
    #[error("store: {0}")]
    Store(String),
    /// The decision loop is gone (shutting down).
    #[error("the decision task has stopped")]
    Stopped,
    /// Another authority leads (cluster store): send the command there.
    #[error("this node does not lead; {}", match leader {
        Some(l) => format!("{} does", l.node),
        None => "no leader is known".to_owned(),
    })]
    NotLeader {
        /// The leader, when known.
        leader: Option<crate::store::LeaderInfo>,
    },
}

/// One request to the decision loop.
#[derive(Debug)]
pub(crate) enum Request {
    /// An operator command and where to send its outputs.
    Command {
        /// The command.
        command: Command,
        /// Its outputs once committed, or why not.
        reply: oneshot::Sender<Result<Vec<Output>, CommandFailure>>,
    },
}

/// Sends work to the decision loop; cheap to clone.
#[derive(Clone, Debug)]
pub struct DecisionHandle {
    pub(crate) requests: mpsc::Sender<Request>,
    /// This node's own observations (its probe role): trusted, they never left the process.
    pub observations: mpsc::Sender<Observation>,
    /// The latest published view.
    pub published: watch::Receiver<Published>,
    pub(crate) events: broadcast::Sender<DurableEvent>,
    /// How a node that does not lead shows the committed records (cluster store).
    pub(crate) following: Option<Following>,
}

/// What a cluster node needs to show the committed records as they are at a request, while
/// another node leads (the published view may lag the records by a moment).
#[derive(Clone, Debug)]
pub(crate) struct Following {
    pub(crate) leading: std::sync::Arc<std::sync::atomic::AtomicBool>,
    pub(crate) records: watch::Receiver<crate::store::Records>,
    pub(crate) cfg: std::sync::Arc<crate::config::Config>,
    pub(crate) clock: super::Clock,
}

impl DecisionHandle {
    /// Run an operator command; resolves once its decision (if any) is durably committed.
    pub async fn command(&self, command: Command) -> Result<Vec<Output>, CommandFailure> {
        let (reply, rx) = oneshot::channel();
        self.requests
            .send(Request::Command { command, reply })
            .await
            .map_err(|_| CommandFailure::Stopped)?;
        rx.await.map_err(|_| CommandFailure::Stopped)?
    }

    /// The view to answer with now: the loop's while it leads, else the committed records as
    /// they are at this moment (what this node's enactors follow).
    pub fn view(&self) -> Published {
        match &self.following {
            Some(f) if !f.leading.load(std::sync::atomic::Ordering::Acquire) => {
                super::follower_view(&f.cfg, &f.records.borrow(), f.clock)
            }
            _ => self.published.borrow().clone(),
        }
    }

    /// Every policy event from now on, each after its audit record is durable. A receiver
    /// that lags behind is told how many it missed (the audit log has them all).
    pub fn events(&self) -> broadcast::Receiver<DurableEvent> {
        self.events.subscribe()
    }
}
