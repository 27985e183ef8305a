//! One private pcscd per test binary, shared by the sessions that run at the same time:
//! each session's token takes a free slot, and the last session to end stops pcscd.

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};

use ukey_sim::{Testbed, TokenOptions, TraceLog};

/// vpcd readers of the shared pcscd (two slots each): as many tokens as tests that run at
/// once on this machine's two cores, and room to spare; more sessions wait for a slot.
const READERS: usize = 2;

/// The pcscd of the sessions alive now, if any.
static SHARED: Mutex<Weak<SharedBed>> = Mutex::new(Weak::new());

/// A private pcscd whose slots the sessions share.
pub(crate) struct SharedBed {
    slots: Mutex<Slots>,
    freed: Condvar,
    socket: PathBuf,
}

struct Slots {
    bed: Testbed,
    busy: Vec<bool>,
}

/// A token placed in a slot of the shared pcscd.
pub(crate) struct Placed {
    pub(crate) slot: usize,
    pub(crate) reader: String,
    pub(crate) trace: TraceLog,
}

impl SharedBed {
    /// The pcscd the live sessions use, or a new one if there is none.
    pub(crate) fn get() -> ukey_sim::Result<Arc<Self>> {
        let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(bed) = shared.upgrade() {
            return Ok(bed);
        }
        let bed = Testbed::start(READERS)?;
        let socket = bed.socket();
        let busy = vec![false; bed.pcscd().slots()];
        let bed = Arc::new(Self {
            slots: Mutex::new(Slots { bed, busy }),
            freed: Condvar::new(),
            socket,
        });
        *shared = Arc::downgrade(&bed);
        Ok(bed)
    }

    /// Starts a token in a free slot (waiting for one) and waits until pcscd sees it; its
    /// trace is kept in memory.
    pub(crate) fn insert(&self, options: &TokenOptions) -> ukey_sim::Result<Placed> {
        let mut slots = self.lock();
        let slot = loop {
            match slots.busy.iter().position(|busy| !busy) {
                Some(slot) => break slot,
                None => {
                    slots = self
                        .freed
                        .wait(slots)
                        .unwrap_or_else(PoisonError::into_inner);
                }
            }
        };
        let reader = slots.bed.reader(slot)?;
        let trace = slots.bed.insert_traced(slot, options)?;
        if let Some(busy) = slots.busy.get_mut(slot) {
            *busy = true;
        }
        Ok(Placed {
            slot,
            reader,
            trace,
        })
    }

    /// Pulls the token out of `slot` and frees the slot.
    pub(crate) fn remove(&self, slot: usize) -> ukey_sim::Result<()> {
        let mut slots = self.lock();
        let removed = slots.bed.remove(slot);
        if let Some(busy) = slots.busy.get_mut(slot) {
            *busy = false;
        }
        self.freed.notify_one();
        removed
    }

    /// The pcscd socket: `PCSCLITE_CSOCK_NAME` for clients.
    pub(crate) fn socket(&self) -> PathBuf {
        self.socket.clone()
    }

    /// pcscd's own log so far.
    pub(crate) fn pcscd_log(&self) -> String {
        self.lock().bed.pcscd().log()
    }

    fn lock(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
