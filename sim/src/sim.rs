//! A token played in a vpcd reader, in the foreground (the `ukey-sim` command) or in a
//! thread of its own (tests, benches).

use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::control::Control;
use crate::error::{Error, Result};
use crate::token::{Token, TokenOptions};
use crate::trace::{self, TraceLog};
use crate::vpcd;

/// Plays `token` in the vpcd reader at `addr` until `control` is stopped, then closes it
/// (flushing its image), whatever ended the run.
pub fn serve(mut token: Token, addr: &str, control: &Control, verbose: bool) -> Result<()> {
    let served = vpcd::run(&mut token, addr, control, verbose);
    let closed = token.close();
    served.and(closed)
}

/// A token playing in a vpcd reader from a thread of its own. Dropping it stops the token
/// (the reader shows no card) and waits for its thread.
#[derive(Debug)]
pub struct Sim {
    control: Control,
    thread: Option<JoinHandle<Result<()>>>,
}

impl Sim {
    /// Opens the token (errors, such as a locked image, come back here) and starts playing
    /// it in the vpcd reader at `addr`.
    pub fn start(options: &TokenOptions, addr: &str) -> Result<Self> {
        Self::spawn(options, addr, None)
    }

    /// Like [`Sim::start`], with the token's trace (every power event, APDU and status
    /// word, as `-v` prints them) written to `log` instead of stderr.
    pub fn start_traced(options: &TokenOptions, addr: &str, log: TraceLog) -> Result<Self> {
        let verbose = TokenOptions {
            verbose: true,
            ..options.clone()
        };
        Self::spawn(&verbose, addr, Some(log))
    }

    fn spawn(options: &TokenOptions, addr: &str, log: Option<TraceLog>) -> Result<Self> {
        let token = Token::open(options)?;
        let control = Control::new();
        let handle = control.clone();
        let addr = addr.to_string();
        // A traced token's connection messages would go to stderr, apart from its trace.
        let verbose = options.verbose && log.is_none();
        let thread = thread::Builder::new()
            .name("ukey-sim".into())
            .spawn(move || {
                if let Some(log) = log {
                    trace::capture(log);
                }
                serve(token, &addr, &handle, verbose)
            })
            .map_err(|error| Error::io("starting the token's thread", error))?;
        Ok(Self {
            control,
            thread: Some(thread),
        })
    }

    /// The handle on the running token.
    pub fn control(&self) -> &Control {
        &self.control
    }

    /// Waits until pcscd has seen the card (powered it on and read its ATR).
    pub fn wait_seen(&self, timeout: Duration) -> Result<()> {
        if self.control.wait_seen(timeout) {
            return Ok(());
        }
        match &self.thread {
            Some(thread) if thread.is_finished() => {
                Err(Error::Vpcd("the token stopped before pcscd saw it".into()))
            }
            _ => Err(Error::Vpcd(format!(
                "pcscd did not power the card on within {timeout:?}"
            ))),
        }
    }

    /// Stops the token and reports how its run ended.
    pub fn stop(mut self) -> Result<()> {
        self.finish()
    }

    fn finish(&mut self) -> Result<()> {
        self.control.stop();
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .map_err(|_| Error::Vpcd("the token's thread panicked".into()))?,
            None => Ok(()),
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}
