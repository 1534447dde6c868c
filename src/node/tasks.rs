//! The node's tasks: spawned into one `JoinSet`, each under its own span; the first to end
//! (or the shutdown token) ends the node, and the rest drain under a grace period.

use super::NodeError;
use std::future::Future;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info_span};

/// How long tasks get to finish after shutdown is requested.
pub const GRACE: Duration = Duration::from_secs(5);

/// The running tasks and the token that stops them.
pub(crate) struct Tasks {
    set: JoinSet<Result<(), NodeError>>,
    shutdown: CancellationToken,
}

impl Tasks {
    pub(crate) fn new(shutdown: CancellationToken) -> Self {
        Self {
            set: JoinSet::new(),
            shutdown,
        }
    }

    /// The token every task stops on.
    pub(crate) fn token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Run `task` under the span `name`; its error ends the node.
    pub(crate) fn spawn<F, E>(&mut self, name: &'static str, task: F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<NodeError>,
    {
        self.set.spawn(
            async move { task.await.map_err(Into::into) }
                .instrument(info_span!("task", task = name)),
        );
    }

    /// Wait for the shutdown token or the first task to end, then stop and drain the rest
    /// within [`GRACE`]; the first error (or an unexpected end) is the node's result.
    pub(crate) async fn wait(mut self) -> Result<(), NodeError> {
        let mut result = Ok(());
        tokio::select! {
            () = self.shutdown.cancelled() => {}
            Some(joined) = self.set.join_next() => {
                result = flatten(joined);
                if result.is_ok() && !self.shutdown.is_cancelled() {
                    result = Err(NodeError::TaskEnded);
                }
            }
        }
        self.shutdown.cancel();
        let drain = async {
            while let Some(joined) = self.set.join_next().await {
                if let Err(e) = flatten(joined) {
                    tracing::error!(error = %e, "task failed during shutdown");
                    if result.is_ok() {
                        result = Err(e);
                    }
                }
            }
        };
        if tokio::time::timeout(GRACE, drain).await.is_err() {
            tracing::warn!(grace = ?GRACE, "tasks did not stop in time; aborting them");
            self.set.abort_all();
        }
        tracing::info!("node stopped");
        result
    }
}

fn flatten(joined: Result<Result<(), NodeError>, tokio::task::JoinError>) -> Result<(), NodeError> {
    joined.map_err(|e| NodeError::Join(e.to_string()))?
}
