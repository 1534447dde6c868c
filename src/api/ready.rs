//! Readiness: a one-way latch set once the node has loaded and committed its state.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Flips to ready once and stays there (a node that was ready and lost its store stops instead).
#[derive(Clone, Debug, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// Not ready yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Latch ready.
    pub fn set_ready(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether ready.
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}
