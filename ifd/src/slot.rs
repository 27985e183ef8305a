//! One card slot of a reader: the token in it (if any), its power state, and the card
//! events pcscd's polling thread waits for.
//!
//! Power events are those of the other links (`ukey_sim::Link`): power up, power down and
//! reset each reset the applet, which forgets its security state (a verified PIN, an
//! authenticated management key).

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use ukey_sim::{Link, Token, TokenOptions};

use crate::abi::{
    IFD_COMMUNICATION_ERROR, IFD_ERROR_INSUFFICIENT_BUFFER, IFD_ERROR_POWER_ACTION,
    IFD_ICC_NOT_PRESENT,
};
use crate::refusal::Refusal;

/// What `IFDHPowerICC` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Power {
    /// Cold reset: power the card up.
    Up,
    /// Power the card down.
    Down,
    /// Warm reset (powers the card up if it is not).
    Reset,
}

/// A slot: how a token is made for it, and what it holds.
pub struct Slot {
    /// The token options of this slot, without an image.
    template: TokenOptions,
    /// The image `insert SLOT` takes when none is named.
    configured_image: Option<PathBuf>,
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    inserted: Option<Inserted>,
    /// What `IFDHICCPresence` last told pcscd.
    reported_present: bool,
    /// A token was pulled out while pcscd believed the slot full, and pcscd has not been
    /// told yet: it must see the slot empty once, even if another token is in it by now,
    /// or it would take the new token for the old one.
    removal_unseen: bool,
    /// pcscd asked its polling function to return.
    polling_stopped: bool,
    /// pcscd closed the channel: nothing may be inserted any more.
    closed: bool,
}

struct Inserted {
    token: Token,
    image: PathBuf,
    /// The ATR while the card is powered.
    atr: Option<Vec<u8>>,
}

impl Slot {
    /// An empty slot whose tokens are opened with `template` (its `image` is ignored).
    pub fn new(template: TokenOptions, configured_image: Option<PathBuf>) -> Self {
        Self {
            template,
            configured_image,
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        }
    }

    /// Plugs in the token kept in `image` (or the configured image): opens it, creating it
    /// from the slot's profile if new. A slot holds one token; a locked or bad image is
    /// refused and left as it was.
    pub fn insert(&self, image: Option<&Path>) -> Result<PathBuf, String> {
        let image = image
            .or(self.configured_image.as_deref())
            .ok_or("no image named, and the slot has none configured")?
            .to_path_buf();
        let mut state = self.lock();
        if state.closed {
            return Err("the reader is closing".to_string());
        }
        if let Some(inserted) = &state.inserted {
            return Err(format!(
                "the slot holds a token ({}); remove it first",
                inserted.image.display()
            ));
        }
        let options = TokenOptions {
            image: Some(image.clone()),
            ..self.template.clone()
        };
        let token = Token::open(&options).map_err(|error| error.to_string())?;
        state.inserted = Some(Inserted {
            token,
            image: image.clone(),
            atr: None,
        });
        self.changed.notify_all();
        Ok(image)
    }

    /// Pulls the token out: its image is flushed and unlocked. Returns its image.
    pub fn remove(&self) -> Result<PathBuf, String> {
        let inserted = {
            let mut state = self.lock();
            let inserted = state.inserted.take().ok_or("the slot is empty")?;
            state.removal_unseen |= state.reported_present;
            self.changed.notify_all();
            inserted
        };
        unplug(inserted)
    }

    /// The image of the token in the slot, if any.
    pub fn image(&self) -> Option<PathBuf> {
        self.lock()
            .inserted
            .as_ref()
            .map(|inserted| inserted.image.clone())
    }

    /// Whether a token is in the slot, as `IFDHICCPresence` reports it to pcscd: absent
    /// once after a removal pcscd has not seen, whatever the slot holds now.
    pub fn presence(&self) -> bool {
        let mut state = self.lock();
        let present = state.inserted.is_some() && !state.removal_unseen;
        state.removal_unseen = false;
        state.reported_present = present;
        present
    }

    /// Waits up to `timeout` until the slot's content differs from what pcscd was last
    /// told (or a removal is unseen), or pcscd stops polling: the body of pcscd's polling
    /// thread.
    pub fn wait_for_event(&self, timeout: Duration) {
        let state = self.lock();
        let _ = self
            .changed
            .wait_timeout_while(state, timeout, |state| {
                state.inserted.is_some() == state.reported_present
                    && !state.removal_unseen
                    && !state.polling_stopped
            })
            .unwrap_or_else(PoisonError::into_inner);
    }

    /// Makes [`Slot::wait_for_event`] return now and at once from now on, until
    /// [`Slot::open`].
    pub fn stop_polling(&self) {
        self.lock().polling_stopped = true;
        self.changed.notify_all();
    }

    /// pcscd opened the slot's channel: its polling thread may wait again.
    pub fn open(&self) {
        let mut state = self.lock();
        state.polling_stopped = false;
        state.closed = false;
    }

    /// pcscd closed the slot's channel: pull out the token (flushing its image), and
    /// refuse insertions from now on.
    pub fn close(&self) -> Result<(), String> {
        let inserted = {
            let mut state = self.lock();
            state.closed = true;
            state.polling_stopped = true;
            self.changed.notify_all();
            state.inserted.take()
        };
        inserted.map_or(Ok(()), |inserted| unplug(inserted).map(drop))
    }

    /// Powers the card up, down or resets it; the ATR when powered.
    pub fn power(&self, action: Power) -> Result<Option<Vec<u8>>, Refusal> {
        let mut state = self.lock();
        let Some(inserted) = state.inserted.as_mut() else {
            return match action {
                Power::Down => Ok(None),
                Power::Up | Power::Reset => {
                    Err(Refusal::new(IFD_ERROR_POWER_ACTION, "no token in the slot"))
                }
            };
        };
        let powered = match action {
            Power::Up => inserted.token.power_on().map(Some),
            Power::Reset => inserted.token.reset().map(Some),
            Power::Down => inserted.token.power_off().map(|()| None),
        };
        inserted.atr = None;
        let atr =
            powered.map_err(|error| Refusal::new(IFD_ERROR_POWER_ACTION, error.to_string()))?;
        inserted.atr.clone_from(&atr);
        Ok(atr)
    }

    /// The ATR of the powered card; `None` when the slot is empty or the card unpowered.
    pub fn atr(&self) -> Option<Vec<u8>> {
        self.lock()
            .inserted
            .as_ref()
            .and_then(|inserted| inserted.atr.clone())
    }

    /// Sends `command` to the powered card and writes its response (data, SW1 SW2) into
    /// `response`; returns the response's length.
    pub fn transmit(&self, command: &[u8], response: &mut [u8]) -> Result<usize, Refusal> {
        let mut state = self.lock();
        let inserted = state
            .inserted
            .as_mut()
            .ok_or_else(|| Refusal::new(IFD_ICC_NOT_PRESENT, "no token in the slot"))?;
        if inserted.atr.is_none() {
            return Err(Refusal::new(
                IFD_COMMUNICATION_ERROR,
                "the card is not powered",
            ));
        }
        let answer = inserted
            .token
            .transmit(command)
            .map_err(|error| Refusal::new(IFD_COMMUNICATION_ERROR, error.to_string()))?;
        let capacity = response.len();
        let room = response.get_mut(..answer.len()).ok_or_else(|| {
            Refusal::new(
                IFD_ERROR_INSUFFICIENT_BUFFER,
                format!(
                    "a {}-byte response does not fit pcscd's {}-byte buffer",
                    answer.len(),
                    capacity
                ),
            )
        })?;
        room.copy_from_slice(&answer);
        Ok(answer.len())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Closes a token taken out of its slot: flushes and unlocks its image.
fn unplug(inserted: Inserted) -> Result<PathBuf, String> {
    let Inserted { token, image, .. } = inserted;
    token
        .close()
        .map_err(|error| format!("{} was removed, but {error}", image.display()))?;
    Ok(image)
}
