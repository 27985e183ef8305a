//! The context command handlers work in: the store, the RNG, and RAM copies of the records.
//!
//! Every change is written to the store first and copied into RAM only once the write
//! succeeded, so a failed write (a full store, a flash error, a power cut) leaves both
//! the flash and the card's view of it as they were.

use embedded_storage::nor_flash::{MultiwriteNorFlash, NorFlash};
use rand_core::CryptoRng;

use crate::apdu::Status;
use crate::card::OpenError;
use crate::crypto::pin::SALT_LEN;
use crate::profile::Profile;
use crate::state::{
    DataObject, FACTORY_KEY, Factory, MAX_OBJECT, SECURITY_KEY, Security, Slot, SlotKey, Volatile,
};
use crate::store::{self, Contents, Store, StoreError};

/// The state every handler reads and changes.
pub struct Context<F: NorFlash + MultiwriteNorFlash, R: CryptoRng> {
    store: Store<F>,
    /// The platform's random number generator.
    pub rng: R,
    /// What the token was made with.
    pub factory: Factory,
    security: Security,
    keys: [Option<SlotKey>; 4],
    /// Security state of this session.
    pub volatile: Volatile,
}

// The largest data object must fit one store value.
const _: () = assert!(
    MAX_OBJECT <= Store::<crate::flash::RamFlash<{ crate::flash::PAGE_SIZE * 4 }>>::MAX_VALUE
);

impl From<StoreError> for Status {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Full | StoreError::TooBig => Status::NotEnoughMemory,
            StoreError::Geometry | StoreError::Corrupted | StoreError::Flash => {
                Status::MemoryFailure
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
    /// Loads the token from `flash`, making a new one from `profile` if the flash is blank,
    /// and finishing a RESET that a power cut interrupted. A flash that is neither blank nor
    /// a token's is refused as [`OpenError::Corrupted`] and not written to.
    pub fn open(flash: F, mut rng: R, profile: &Profile) -> Result<Self, OpenError> {
        profile.validate().map_err(OpenError::Profile)?;
        let mut flash = flash;
        let contents = store::inspect(&mut flash, FACTORY_KEY)?;
        let mut store = Store::open(flash)?;
        let factory = match contents {
            Contents::Found => match store.fetch(FACTORY_KEY)? {
                Some(bytes) => Factory::decode(bytes).map_err(|_| OpenError::Corrupted)?,
                None => return Err(OpenError::Corrupted),
            },
            Contents::Blank => {
                let factory = Factory {
                    profile: profile.clone(),
                };
                store.store(FACTORY_KEY, &factory.encode())?;
                factory
            }
            Contents::Foreign => return Err(OpenError::Corrupted),
        };
        let security = match store.fetch(SECURITY_KEY)? {
            Some(bytes) => Security::decode(bytes).map_err(|_| OpenError::Corrupted)?,
            None => {
                let security =
                    Security::factory(&factory.profile, [salt(&mut rng), salt(&mut rng)]);
                store.store(SECURITY_KEY, &security.encode())?;
                security
            }
        };
        let mut context = Self {
            store,
            rng,
            factory,
            security,
            keys: Default::default(),
            volatile: Volatile::default(),
        };
        if context.security.wipe_pending {
            context.finish_wipe()?;
        }
        for slot in Slot::ALL {
            context.keys[slot.index()] = match context.store.fetch(slot.store_key())? {
                Some(bytes) => Some(SlotKey::decode(bytes).map_err(|_| OpenError::Corrupted)?),
                None => None,
            };
        }
        Ok(context)
    }

    /// Gives the flash back.
    pub fn into_flash(self) -> F {
        self.store.into_flash()
    }

    /// PIN, PUK and management key as stored.
    pub fn security(&self) -> &Security {
        &self.security
    }

    /// Stores `security` in one write, then adopts it.
    pub fn save_security(&mut self, security: Security) -> Result<(), Status> {
        self.store.store(SECURITY_KEY, &security.encode())?;
        self.security = security;
        Ok(())
    }

    /// The key in `slot`, if one was generated.
    pub fn key(&self, slot: Slot) -> Option<&SlotKey> {
        self.keys[slot.index()].as_ref()
    }

    /// Stores `key` in `slot` (replacing any key there), then adopts it.
    pub fn save_key(&mut self, slot: Slot, key: SlotKey) -> Result<(), Status> {
        self.store.store(slot.store_key(), key.encode().as_ref())?;
        self.keys[slot.index()] = Some(key);
        Ok(())
    }

    /// The stored value of `object`, if any.
    pub fn object(&mut self, object: DataObject) -> Result<Option<&[u8]>, Status> {
        Ok(self.store.fetch(object.store_key())?)
    }

    /// Replaces `object` with `value`; an empty value deletes the object.
    pub fn save_object(&mut self, object: DataObject, value: &[u8]) -> Result<(), Status> {
        if value.is_empty() {
            self.store.remove(object.store_key())?;
        } else {
            self.store.store(object.store_key(), value)?;
        }
        Ok(())
    }

    /// Total and free bytes of the store.
    pub fn storage_usage(&mut self) -> Result<(u32, u32), Status> {
        Ok(self.store.usage()?)
    }

    /// A fresh random salt.
    pub fn salt(&mut self) -> [u8; SALT_LEN] {
        salt(&mut self.rng)
    }

    /// RESET: one write restores the factory PIN, PUK and management key and marks every
    /// key and object for removal; the removal follows, and is finished at the next open if
    /// power is cut before it ends.
    pub fn factory_reset(&mut self) -> Result<(), Status> {
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
        for key in keys
            .into_iter()
            .filter(|&k| k != FACTORY_KEY && k != SECURITY_KEY)
        {
            self.store.remove(key)?;
        }
        let mut security = self.security.clone();
        security.wipe_pending = false;
        self.store.store(SECURITY_KEY, &security.encode())?;
        self.security = security;
        Ok(())
    }
}

fn salt<R: CryptoRng>(rng: &mut R) -> [u8; SALT_LEN] {
    let mut salt = [0u8; SALT_LEN];
    rng.fill_bytes(&mut salt);
    salt
}
