//! Passing finished account connections to a running channel without keeping it alive.

use std::sync::{Arc, Weak};

use async_trait::async_trait;

use crate::mcp::accounts::{ConnectListener, ConnectedNotice};

/// A [`ConnectListener`] that hands each notice to a channel's handler while the handler is
/// alive; the registry of listeners does not keep the handler alive.
pub struct WeakListener<T> {
    target: Weak<T>,
    deliver: fn(&Arc<T>, ConnectedNotice),
}

impl<T> WeakListener<T> {
    /// Hands notices to `target` through `deliver`.
    pub fn new(target: &Arc<T>, deliver: fn(&Arc<T>, ConnectedNotice)) -> Self {
        Self {
            target: Arc::downgrade(target),
            deliver,
        }
    }
}

#[async_trait]
impl<T: Send + Sync> ConnectListener for WeakListener<T> {
    async fn connected(&self, notice: ConnectedNotice) {
        if let Some(target) = self.target.upgrade() {
            (self.deliver)(&target, notice);
        }
    }
}
