//! Key agreement on the token (card edge v2: GENERAL AUTHENTICATE with `85`, the peer's
//! point): ECDH with the key in a slot, for decryption and key exchange.

use zeroize::Zeroizing;

use super::Token;
use crate::error::Result;
use crate::keys::PublicKey;
use crate::piv::{Pin, Slot};

impl Token {
    /// ECDH of the key in `slot` with `peer`, whose curve names the algorithm: for P-256 the
    /// shared `x` (32 bytes), for SM2 the whole shared point `04 ‖ x ‖ y` (65 bytes), from
    /// which the caller finishes SM2 decryption or key exchange (GB/T 32918.3/.4). `pin`, when
    /// given, is verified in the same transaction (a key whose policy asks for it refuses
    /// with [`crate::Error::NotAuthenticated`] otherwise). A slot without a key is
    /// [`crate::Error::NotFound`]; a key of the other curve is a
    /// [`crate::Error::InvalidInput`].
    pub fn agree(
        &mut self,
        slot: Slot,
        peer: &PublicKey,
        pin: Option<&Pin>,
    ) -> Result<Zeroizing<Vec<u8>>> {
        let (algorithm, point) = (peer.algorithm(), peer.to_sec1());
        self.session(|tx| {
            if let Some(pin) = pin {
                tx.verify_pin(pin)?;
            }
            tx.use_key(slot, algorithm, 0x85, &point)
        })
        .map(Zeroizing::new)
    }
}
