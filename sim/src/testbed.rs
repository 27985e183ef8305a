//! A private pcscd with tokens in its vpcd readers: the entry point for other crates' tests
//! and benches.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;
use std::thread;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::pcscd::Pcscd;
use crate::sim::Sim;
use crate::token::TokenOptions;
use crate::trace::TraceLog;
use crate::vpcd;

/// How long [`Testbed::insert`] and [`Testbed::remove`] wait for pcscd to notice.
const SEEN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long pcscd is given to record a card it has just powered on.
const SETTLE: Duration = Duration::from_millis(10);

/// A private pcscd and the tokens playing in its readers. Dropping it stops every token
/// (flushing their images) and then pcscd, and waits for them all.
///
/// ```no_run
/// use ukey_sim::{Testbed, TokenOptions};
///
/// let bed = Testbed::with_token(&TokenOptions::default())?;
/// let status = bed.command("opensc-tool").args(["-r", &bed.reader(0)?, "-n"]).status();
/// # Ok::<(), ukey_sim::Error>(())
/// ```
#[derive(Debug)]
pub struct Testbed {
    sims: Vec<Option<Sim>>,
    pcscd: Pcscd,
}

impl Testbed {
    /// A private pcscd with `readers` vpcd readers (two slots each) and no card inserted.
    pub fn start(readers: usize) -> Result<Self> {
        let pcscd = Pcscd::start(readers)?;
        let sims = (0..pcscd.slots()).map(|_| None).collect();
        Ok(Self { sims, pcscd })
    }

    /// A private pcscd with one vpcd reader and a token in its slot 0, already seen by
    /// pcscd.
    pub fn with_token(options: &TokenOptions) -> Result<Self> {
        let mut bed = Self::start(1)?;
        bed.insert(0, options)?;
        Ok(bed)
    }

    /// Starts a token in `slot` (0-based over all readers) and waits until pcscd sees it,
    /// as when a token is plugged in.
    pub fn insert(&mut self, slot: usize, options: &TokenOptions) -> Result<()> {
        self.insert_with(slot, |addr| Sim::start(options, addr))
    }

    /// Like [`Testbed::insert`], with the token's trace (every power event, APDU and status
    /// word, as `ukey-sim -v` prints them) kept in the returned log instead of printed, for
    /// a test to show when a client fails.
    pub fn insert_traced(&mut self, slot: usize, options: &TokenOptions) -> Result<TraceLog> {
        let log = TraceLog::new();
        self.insert_with(slot, |addr| Sim::start_traced(options, addr, log.clone()))?;
        Ok(log)
    }

    fn insert_with(&mut self, slot: usize, start: impl FnOnce(&str) -> Result<Sim>) -> Result<()> {
        let addr = self.pcscd.vpcd_addr(slot).ok_or_else(|| no_slot(slot))?;
        let place = self.sims.get_mut(slot).ok_or_else(|| no_slot(slot))?;
        if place.is_some() {
            return Err(Error::Vpcd(format!("slot {slot} already holds a token")));
        }
        let sim = start(&addr)?;
        sim.wait_seen(SEEN_TIMEOUT)?;
        // pcscd records the card as present right after it reads the ATR the token just
        // sent (and as absent right after a failed poll); leave it that moment before a
        // client asks.
        thread::sleep(SETTLE);
        *place = Some(sim);
        Ok(())
    }

    /// Stops the token in `slot`, as when it is pulled out: its image is flushed, and once
    /// this returns pcscd shows no card in the reader.
    pub fn remove(&mut self, slot: usize) -> Result<()> {
        let addr = self.pcscd.vpcd_addr(slot).ok_or_else(|| no_slot(slot))?;
        let sim = self
            .sims
            .get_mut(slot)
            .and_then(Option::take)
            .ok_or_else(|| Error::Vpcd(format!("slot {slot} holds no token")))?;
        sim.stop()?;
        vpcd::wait_polled(&addr, SEEN_TIMEOUT)?;
        thread::sleep(SETTLE);
        Ok(())
    }

    /// The PC/SC reader name of `slot`, for `-r` options and `SCardConnect`.
    pub fn reader(&self, slot: usize) -> Result<String> {
        self.pcscd.reader_name(slot).ok_or_else(|| no_slot(slot))
    }

    /// The pcscd socket: the value of `PCSCLITE_CSOCK_NAME` for clients.
    pub fn socket(&self) -> PathBuf {
        self.pcscd.socket()
    }

    /// A command for `program` with `PCSCLITE_CSOCK_NAME` set to this testbed's pcscd.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        self.pcscd.command(program)
    }

    /// The private pcscd.
    pub fn pcscd(&self) -> &Pcscd {
        &self.pcscd
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        self.sims.clear();
    }
}

fn no_slot(slot: usize) -> Error {
    Error::Vpcd(format!("the testbed has no slot {slot}"))
}
