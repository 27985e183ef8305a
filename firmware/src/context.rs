//! The context command handlers work in: the store, the RNG, and RAM copies of the records.
//!
//! Every change is written to the store first and copied into RAM only once the write
//! succeeded, so a failed write (a full store, a flash error, a power cut) leaves both
//! the flash and the card's view of it as they were.

use embedded_storage::nor_flash::{MultiwriteNorFlash, NorFlash};
use rand_core::CryptoRng;
use ukey_card_edge::{Slot, StatusWord};

use crate::crypto::pin::SALT_LEN;
use crate::opened::{OpenError, Opened};
use crate::profile::Profile;
use crate::state::{
    DataObject, FACTORY_KEY, Factory, MAX_OBJECT, MOVE_KEY, SECURITY_COPIES, SECURITY_KEY,
    Security, SlotKey, Volatile,
};
use crate::store::{Contents, Store, StoreError};

mod recover;

/// Where a card keeps its context: an explicit zero tag for [`Place::Empty`] and no niche,
/// so an empty card is all zero bytes and a board's `static` card lands in `.bss`, rather
/// than costing its size a second time in flash as `.data`.
#[repr(u8)]
pub enum Place<C> {
    /// No token loaded.
    Empty = 0,
    /// A loaded token.
    Open(C) = 1,
}

impl<C> Place<C> {
    /// The loaded token, if any.
    pub fn get_mut(&mut self) -> Option<&mut C> {
        match self {
            Self::Open(context) => Some(context),
            Self::Empty => None,
        }
    }
}

/// The state every handler reads and changes.
pub struct Context<F: NorFlash + MultiwriteNorFlash, R: CryptoRng> {
    store: Store<F>,
    /// The platform's random number generator.
    pub rng: R,
    /// What the token was made with.
    pub factory: Factory,
    security: Security,
    /// The generation of `security`'s stored copies; the next change writes the one after.
    generation: u32,
    /// A version-1 security record is still stored, to be removed by the next change.
    single_record: bool,
    keys: [Option<SlotKey>; 4],
    /// Security state of this session.
    pub volatile: Volatile,
}

// The largest data object must fit one store value.
const _: () = assert!(
    MAX_OBJECT <= Store::<crate::flash::RamFlash<{ crate::flash::PAGE_SIZE * 4 }>>::MAX_VALUE
);

impl From<StoreError> for StatusWord {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Full | StoreError::TooBig => StatusWord::NotEnoughMemory,
            StoreError::Geometry | StoreError::Corrupted | StoreError::Flash => {
                StatusWord::MemoryFailure
            }
        }
    }
}

impl From<StoreError> for OpenError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Geometry | StoreError::TooBig | StoreError::Full => {
                OpenError::FlashGeometry
            }
            StoreError::Corrupted => OpenError::Corrupted,
            StoreError::Flash => OpenError::Flash,
        }
    }
}

impl<F: NorFlash + MultiwriteNorFlash, R: CryptoRng> Context<F, R> {
    /// Loads the token from `flash` into `place`, making a new one from `profile` if the flash
    /// is blank, and finishing a RESET that a power cut interrupted. A flash that is neither
    /// blank nor a token's is refused as [`OpenError::Corrupted`] and not written to.
    ///
    /// The context (over 4 KiB, most of it the store's record buffer) is built in `place`
    /// and read into there, never passed by value, so opening costs a microcontroller little
    /// stack. Until the records are read it holds the profile with PIN and PUK blocked
    /// ([`Security::blocked`]); on error `place` is left [`Place::Empty`].
    pub fn open_in(
        place: &mut Place<Self>,
        flash: F,
        rng: R,
        profile: &Profile,
    ) -> Result<Opened, OpenError> {
        *place = Place::Empty;
        profile.validate().map_err(OpenError::Profile)?;
        *place = Place::Open(Self {
            store: Store::open(flash)?,
            rng,
            factory: Factory {
                profile: profile.clone(),
            },
            security: Security::blocked(profile),
            generation: 0,
            single_record: false,
            keys: Default::default(),
            volatile: Volatile::default(),
        });
        match place {
            Place::Open(context) => context.load().inspect_err(|_| *place = Place::Empty),
            // Set just above; never taken.
            Place::Empty => Err(OpenError::Corrupted),
        }
    }

    /// Reads the records, making them from the factory state first on a blank flash.
    fn load(&mut self) -> Result<Opened, OpenError> {
        let new = match self.store.inspect(FACTORY_KEY, Factory::LEN)? {
            Contents::Found => match self
                .store
                .finish_interrupted_erases()
                .and_then(|_| self.store.fetch(FACTORY_KEY))?
            {
                Some(bytes) => {
                    self.factory = Factory::decode(bytes).map_err(|_| OpenError::Corrupted)?;
                    false
                }
                None => return Err(OpenError::Corrupted),
            },
            Contents::Blank => {
                self.store.store(FACTORY_KEY, &self.factory.encode())?;
                true
            }
            Contents::FirstWriteCut => {
                self.store.clear()?;
                self.store.store(FACTORY_KEY, &self.factory.encode())?;
                true
            }
            Contents::Foreign => return Err(OpenError::Corrupted),
        };
        let damage = self.load_security()?;
        if self.security.wipe_pending {
            self.finish_wipe()?;
        }
        for slot in Slot::ALL {
            self.keys[slot.index()] = match self.store.fetch(SlotKey::store_key(slot))? {
                Some(bytes) => Some(SlotKey::decode(bytes).map_err(|_| OpenError::Corrupted)?),
                None => None,
            };
        }
        if let Some(record) = self.store.fetch(MOVE_KEY)? {
            let (from, to) = match record {
                [from, to] => (Slot::from_reference(*from), Slot::from_reference(*to)),
                _ => return Err(OpenError::Corrupted),
            };
            match (from, to) {
                (Some(from), Some(to)) => self.finish_move(from, to)?,
                _ => return Err(OpenError::Corrupted),
            }
        }
        if new {
            return Ok(Opened::New);
        }
        // Opening may have repaired the store (finished an erase or a migration, rewritten
        // the security copies, finished a move). On a damaged flash a repair can leave what
        // the next opening refuses: refuse it now, so that a token that opened once opens
        // again.
        if self.store.inspect(FACTORY_KEY, Factory::LEN)? != Contents::Found {
            return Err(OpenError::Corrupted);
        }
        Ok(Opened::Existing(damage))
    }

    /// Gives the flash back.
    pub fn into_flash(self) -> F {
        self.store.into_flash()
    }

    /// PIN, PUK and management key as stored.
    pub fn security(&self) -> &Security {
        &self.security
    }

    /// Stores `security` as the next generation, then adopts it. The first copy's write is
    /// the change: once it is in the flash, opening reads the new state.
    pub fn save_security(&mut self, security: Security) -> Result<(), StatusWord> {
        Ok(self.store_security(security)?)
    }

    /// [`Context::save_security`] with the store's own error; drops a version-1 record
    /// once its successor is stored.
    fn store_security(&mut self, security: Security) -> Result<(), StoreError> {
        let generation = self.generation.saturating_add(1);
        self.write_copies(generation, &security)?;
        self.generation = generation;
        self.security = security;
        if self.single_record {
            self.store.remove(SECURITY_KEY)?;
            self.single_record = false;
        }
        Ok(())
    }

    /// Writes both copies of `security` as generation `generation`, in order.
    fn write_copies(&mut self, generation: u32, security: &Security) -> Result<(), StoreError> {
        let bytes = security.encode(generation);
        for key in SECURITY_COPIES {
            self.store.store(key, &bytes)?;
        }
        Ok(())
    }

    /// The key in `slot`, if one was generated.
    pub fn key(&self, slot: Slot) -> Option<&SlotKey> {
        self.keys[slot.index()].as_ref()
    }

    /// Stores `key` in `slot` (replacing any key there), then adopts it.
    pub fn save_key(&mut self, slot: Slot, key: SlotKey) -> Result<(), StatusWord> {
        self.store
            .store(SlotKey::store_key(slot), key.encode().as_ref())?;
        self.keys[slot.index()] = Some(key);
        Ok(())
    }

    /// MOVE KEY: the key in `from` goes to `to`. One write names the move; the key is then
    /// stored under `to` and removed from `from`, and the mark removed. A power cut after
    /// the mark is written is finished at the next open, so the key is found in one slot.
    pub fn move_key(&mut self, from: Slot, to: Slot) -> Result<(), StatusWord> {
        self.store
            .store(MOVE_KEY, &[from.reference(), to.reference()])?;
        Ok(self.finish_move(from, to)?)
    }

    /// Copies the key in `from` (if still there) to `to`, empties `from`, and removes the
    /// mark of the move.
    fn finish_move(&mut self, from: Slot, to: Slot) -> Result<(), StoreError> {
        if let Some(key) = &self.keys[from.index()] {
            self.store
                .store(SlotKey::store_key(to), key.encode().as_ref())?;
            self.store.remove(SlotKey::store_key(from))?;
            self.keys[to.index()] = self.keys[from.index()].take();
        }
        self.store.remove(MOVE_KEY)
    }

    /// DELETE KEY: the key in `slot` is gone, in one removal.
    pub fn delete_key(&mut self, slot: Slot) -> Result<(), StatusWord> {
        self.store.remove(SlotKey::store_key(slot))?;
        self.keys[slot.index()] = None;
        Ok(())
    }

    /// The stored value of `object`, if any.
    pub fn object(&mut self, object: DataObject) -> Result<Option<&[u8]>, StatusWord> {
        Ok(self.store.fetch(object.store_key())?)
    }

    /// Replaces `object` with `value`; an empty value deletes the object.
    pub fn save_object(&mut self, object: DataObject, value: &[u8]) -> Result<(), StatusWord> {
        if value.is_empty() {
            self.store.remove(object.store_key())?;
        } else {
            self.store.store(object.store_key(), value)?;
        }
        Ok(())
    }

    /// Total and free bytes of the store.
    pub fn storage_usage(&mut self) -> Result<(u32, u32), StatusWord> {
        Ok(self.store.usage()?)
    }

    /// A fresh random salt.
    pub fn salt(&mut self) -> [u8; SALT_LEN] {
        salt(&mut self.rng)
    }

    /// RESET: one write restores the factory PIN, PUK and management key and marks every
    /// key and object for removal; the removal follows, and is finished at the next open if
    /// power is cut before it ends.
    pub fn factory_reset(&mut self) -> Result<(), StatusWord> {
        let salts = [self.salt(), self.salt()];
        let mut security = Security::factory(&self.factory.profile, salts);
        security.wipe_pending = true;
        self.save_security(security)?;
        self.keys = Default::default();
        self.finish_wipe()?;
        Ok(())
    }

    /// Removes every record but the factory and security records, then clears the mark.
    fn finish_wipe(&mut self) -> Result<(), StoreError> {
        let mut keys = heapless::Vec::new();
        self.store.keys(&mut keys)?;
        for key in keys.into_iter().filter(|&k| is_content(k)) {
            self.store.remove(key)?;
        }
        let mut security = self.security.clone();
        security.wipe_pending = false;
        self.store_security(security)
    }

    /// Whether any key or object record is stored.
    fn has_contents(&mut self) -> Result<bool, StoreError> {
        let mut keys = heapless::Vec::new();
        self.store.keys(&mut keys)?;
        Ok(keys.into_iter().any(is_content))
    }
}

/// Whether store key `key` holds a key or an object (not the factory or security record).
fn is_content(key: u16) -> bool {
    key != FACTORY_KEY && key != SECURITY_KEY && !SECURITY_COPIES.contains(&key)
}

fn salt<R: CryptoRng>(rng: &mut R) -> [u8; SALT_LEN] {
    let mut salt = [0u8; SALT_LEN];
    rng.fill_bytes(&mut salt);
    salt
}
