//! The seams around the decision task: requests in ([`DecisionHandle`]), committed state out
//! ([`Published`] on a watch channel that enactors and the API subscribe to).

use crate::model::{Committed, Observation, ServiceId};
use crate::policy::{Command, CommandError, Output, ServiceStatus, VotesView};
use std::collections::BTreeMap;
use tokio::sync::{mpsc, oneshot, watch};

/// What the decision task publishes after every input, only once its commits are durable.
#[derive(Clone, Debug)]
pub struct Published {
    /// Every service's committed decision and operator state (what enactors follow).
    pub committed: BTreeMap<ServiceId, Committed>,
    /// Every service's status (for the API and dashboard).
    pub status: Vec<ServiceStatus>,
    /// The current votes.
    pub votes: VotesView,
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
    /// The decision task is gone (shutting down).
    #[error("the decision task has stopped")]
    Stopped,
}

/// One request to the decision task.
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

/// Sends work to the decision task; cheap to clone.
#[derive(Clone, Debug)]
pub struct DecisionHandle {
    pub(crate) requests: mpsc::Sender<Request>,
    /// Verified observations (from the API's `POST /v1/observations` or a local probe role).
    pub observations: mpsc::Sender<Observation>,
    /// The latest published state.
    pub published: watch::Receiver<Published>,
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
}
