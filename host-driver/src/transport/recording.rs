//! A transport that keeps every command and response that crosses it, transaction by
//! transaction: to count what an operation costs (the signing path's test does), or to
//! show a session's APDUs when a token misbehaves.

use std::sync::{Arc, Mutex, PoisonError};

use zeroize::Zeroizing;

use super::{Link, Transport};
use crate::error::Result;

/// One command and the token's response to it, as they crossed the link. A VERIFY's
/// command holds the PIN, so both are wiped from memory when dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchange {
    /// The encoded command APDU.
    pub command: Zeroizing<Vec<u8>>,
    /// The response: data, then SW1 SW2.
    pub response: Zeroizing<Vec<u8>>,
}

impl Exchange {
    /// The command's instruction byte.
    pub fn ins(&self) -> Option<u8> {
        self.command.get(1).copied()
    }
}

/// What a [`Recording`] saw: the exchanges of each transaction, in order. Clones share one
/// log, so a test keeps one while the token owns the transport.
#[derive(Clone, Debug, Default)]
pub struct ApduLog(Arc<Mutex<Vec<Vec<Exchange>>>>);

impl ApduLog {
    /// The transactions so far, each with its exchanges.
    pub fn transactions(&self) -> Vec<Vec<Exchange>> {
        self.lock().clone()
    }

    /// Forgets what was recorded so far.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Vec<Exchange>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A transport that records what passes through another.
pub struct Recording<T> {
    inner: T,
    log: ApduLog,
}

impl<T: Transport> Recording<T> {
    /// Wraps `inner`; the log it returns fills as the token is used.
    pub fn new(inner: T) -> (Self, ApduLog) {
        let log = ApduLog::default();
        (
            Self {
                inner,
                log: log.clone(),
            },
            log,
        )
    }
}

impl<T: Transport> Transport for Recording<T> {
    fn begin(&mut self) -> Result<Box<dyn Link + '_>> {
        let link = self.inner.begin()?;
        self.log.lock().push(Vec::new());
        Ok(Box::new(RecordingLink {
            link,
            log: self.log.clone(),
        }))
    }

    fn reader(&self) -> &str {
        self.inner.reader()
    }

    fn reconnect(&mut self) -> Result<()> {
        self.inner.reconnect()
    }
}

/// The link of one recorded transaction.
struct RecordingLink<'a> {
    link: Box<dyn Link + 'a>,
    log: ApduLog,
}

impl Link for RecordingLink<'_> {
    fn exchange(&mut self, command: &[u8]) -> Result<Vec<u8>> {
        let response = self.link.exchange(command)?;
        if let Some(transaction) = self.log.lock().last_mut() {
            transaction.push(Exchange {
                command: Zeroizing::new(command.to_vec()),
                response: Zeroizing::new(response.clone()),
            });
        }
        Ok(response)
    }
}
