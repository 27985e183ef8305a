//! Reading the security record back when a token opens, and what is reported when it was
//! damaged (card-edge.md and docs/reliability.md, "Damaged or lost security record").
//!
//! Every change writes a new generation twice, copy A then copy B ([`SECURITY_COPIES`]).
//! The store hands out each key's newest record that passes its check, so a damaged copy
//! shows as an older generation: the newest of the copies (and of a version-1 record) wins,
//! its twin is rewritten, and the walk over damaged records tells whether the newest state
//! itself was lost.

use embedded_storage::nor_flash::{MultiwriteNorFlash, NorFlash};
use rand_core::CryptoRng;

use super::Context;
use crate::opened::{Damage, OpenError, SecurityRecord};
use crate::state::{SECURITY_COPIES, SECURITY_KEY, Security};
use crate::store::{Seen, StoreError};

/// The security records' store keys, as [`Audit`] counts them: copy A, copy B, version 1.
const RECORDS: [u16; 3] = [SECURITY_COPIES[0], SECURITY_COPIES[1], SECURITY_KEY];

/// What the walk over every record found.
#[derive(Default)]
struct Audit {
    /// Records whose check failed.
    failed: u16,
    /// For each of [`RECORDS`]: whether its newest record (intact or not) failed its check.
    newest_failed: [bool; 3],
}

impl Audit {
    fn see(&mut self, seen: Seen) {
        let (key, failed) = match seen {
            Seen::Intact(key) => (Some(key), false),
            Seen::Damaged(key) => {
                self.failed = self.failed.saturating_add(1);
                (key, true)
            }
        };
        if let Some(index) = RECORDS.iter().position(|&record| Some(record) == key) {
            self.newest_failed[index] = failed;
        }
    }
}

impl<F: NorFlash + MultiwriteNorFlash, R: CryptoRng> Context<F, R> {
    /// Reads PIN, PUK and management key: the newest generation of either copy. A flash
    /// without any makes them: from the factory profile if the token holds no key or
    /// object (it is new, or a power cut stopped its making), blocked otherwise.
    pub(super) fn load_security(&mut self) -> Result<Damage, OpenError> {
        let mut stored = [None, None, None];
        for (record, key) in stored.iter_mut().zip(RECORDS) {
            *record = self.fetch_security(key)?;
        }
        let mut audit = Audit::default();
        self.store.audit(|seen| audit.see(seen))?;
        self.single_record = stored[2].is_some();
        let generations = stored
            .each_ref()
            .map(|record| record.as_ref().map(|(g, _)| *g));
        let newest = stored
            .into_iter()
            .flatten()
            .max_by_key(|(generation, _)| *generation);
        let security = match newest {
            Some((generation, security)) => {
                let [a, b, _] = generations;
                let report = if audit.newest_failed[0] && audit.newest_failed[1]
                    || generation == 0 && audit.newest_failed[2]
                {
                    SecurityRecord::RolledBack
                } else if written_in_order(a, b) {
                    SecurityRecord::Intact
                } else {
                    SecurityRecord::FromTwin
                };
                if generation > 0 && (a, b) != (Some(generation), Some(generation)) {
                    self.write_copies(generation, &security)?;
                }
                self.generation = generation;
                self.security = security;
                report
            }
            None if !self.has_contents()? => {
                let salts = [self.salt(), self.salt()];
                self.store_security(Security::factory(&self.factory.profile, salts))?;
                SecurityRecord::Intact
            }
            None => {
                let mut random = [0u8; 32];
                self.rng.fill_bytes(&mut random);
                let lost = Security::lost(&self.factory.profile, &random);
                self.store_security(lost.ok_or(OpenError::Corrupted)?)?;
                SecurityRecord::Lost
            }
        };
        Ok(Damage {
            failed_records: audit.failed,
            security,
        })
    }

    /// The newest intact record under `key` that decodes, with its generation.
    fn fetch_security(&mut self, key: u16) -> Result<Option<(u32, Security)>, StoreError> {
        Ok(self
            .store
            .fetch(key)?
            .and_then(|bytes| Security::decode(bytes).ok()))
    }
}

/// Whether copies of generations `a` and `b` are what writing A then B leaves, power cuts
/// included: the same generation, A one ahead (cut before B), or neither.
fn written_in_order(a: Option<u32>, b: Option<u32>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a == b || a == b.saturating_add(1),
        (Some(a), None) => a == 1,
        (None, None) => true,
        (None, Some(_)) => false,
    }
}
