//! The handle that stops a running token and tells when pcscd has seen it: it wakes the
//! token wherever it waits, in a blocking read on the vpcd socket or between reconnection
//! attempts.

use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// A cloneable handle on a token played in a vpcd reader. [`Control::stop`] may be called
/// from any thread (a signal-handling thread, a test's `Drop`).
#[derive(Clone, Debug, Default)]
pub struct Control(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    stopped: bool,
    seen: bool,
    socket: Option<TcpStream>,
}

impl Control {
    /// A handle on a token that has not been stopped.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the token to stop: shuts down the socket it reads from and wakes it if it waits.
    pub fn stop(&self) {
        let mut state = self.lock();
        state.stopped = true;
        if let Some(socket) = state.socket.take() {
            let _ = socket.shutdown(Shutdown::Both);
        }
        self.0.changed.notify_all();
    }

    /// Whether a stop was asked for.
    pub fn is_stopped(&self) -> bool {
        self.lock().stopped
    }

    /// Waits until pcscd has powered the card on and read its ATR, which it does when it
    /// sees a card inserted: from then on PC/SC clients see the card. Returns whether that
    /// happened within `timeout`.
    pub fn wait_seen(&self, timeout: Duration) -> bool {
        let state = self.lock();
        let (state, _) = self
            .0
            .changed
            .wait_timeout_while(state, timeout, |state| !state.seen && !state.stopped)
            .unwrap_or_else(PoisonError::into_inner);
        state.seen
    }

    /// Records whether pcscd has seen the card.
    pub(crate) fn set_seen(&self, seen: bool) {
        let mut state = self.lock();
        if state.seen != seen {
            state.seen = seen;
            self.0.changed.notify_all();
        }
    }

    /// Sleeps for `duration` unless a stop is asked for first.
    pub(crate) fn sleep(&self, duration: Duration) {
        let state = self.lock();
        let _ = self
            .0
            .changed
            .wait_timeout_while(state, duration, |state| !state.stopped);
    }

    /// Registers the socket that [`Control::stop`] shuts down; if a stop was already asked
    /// for, shuts it down at once.
    pub(crate) fn watch(&self, socket: TcpStream) {
        let mut state = self.lock();
        if state.stopped {
            let _ = socket.shutdown(Shutdown::Both);
        } else {
            state.socket = Some(socket);
        }
    }

    /// Forgets the registered socket; pcscd no longer sees the card.
    pub(crate) fn unwatch(&self) {
        let mut state = self.lock();
        state.socket = None;
        state.seen = false;
        self.0.changed.notify_all();
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
