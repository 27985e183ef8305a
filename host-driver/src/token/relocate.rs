//! MOVE KEY and DELETE KEY (`F6`, the YubiKey 5.7 extension of card edge v2). The token
//! moves or erases only the key: each slot's certificate object stays where it is, unless
//! [`Token::move_slot`] carries it along.

use ukey_card_edge::{DELETE_KEY_TARGET, Instruction, StatusWord};

use super::{Token, Tx};
use crate::apdu::Apdu;
use crate::error::{Error, Result};
use crate::piv::{ManagementKey, Slot};

impl Token {
    /// Moves the key in `from` into the empty slot `to`, with its PIN and touch policies.
    /// A slot that holds no key, or a destination that holds one, is refused.
    pub fn move_key(&mut self, key: &ManagementKey, from: Slot, to: Slot) -> Result<()> {
        self.session(|tx| {
            tx.authenticate(key)?;
            tx.move_key(from, to)
        })
    }

    /// Moves the key in `from` into the empty slot `to`, then its certificate object: the
    /// object of `to` becomes the one of `from` (or is removed when `from` has none), and
    /// the object of `from` is removed. One transaction; the key moves first, so an
    /// interruption leaves at worst the certificate in both slots.
    pub fn move_slot(&mut self, key: &ManagementKey, from: Slot, to: Slot) -> Result<()> {
        self.session(|tx| {
            tx.authenticate(key)?;
            tx.move_key(from, to)?;
            let certificate = match tx.get_data(from.certificate_object()) {
                Ok(content) => content,
                Err(Error::NotFound { .. }) => Vec::new(),
                Err(e) => return Err(e),
            };
            tx.put_data(to.certificate_object(), &certificate)?;
            if !certificate.is_empty() {
                tx.put_data(from.certificate_object(), &[])?;
            }
            Ok(())
        })
    }

    /// Erases the key in `slot`; a slot that holds no key is refused. The slot's
    /// certificate object stays.
    pub fn delete_key(&mut self, key: &ManagementKey, slot: Slot) -> Result<()> {
        self.session(|tx| {
            tx.authenticate(key)?;
            let r = tx.send(&Apdu::new(
                Instruction::MoveKey,
                DELETE_KEY_TARGET,
                slot.reference(),
            ))?;
            match r.sw {
                StatusWord::Success => Ok(()),
                StatusWord::ReferenceNotFound => {
                    Err(Error::input(format!("slot {slot} holds no key")))
                }
                sw => Err(Error::from_status("DELETE KEY", sw)),
            }
        })
    }
}

impl Tx<'_> {
    /// MOVE KEY, once authenticated.
    fn move_key(&mut self, from: Slot, to: Slot) -> Result<()> {
        if from == to {
            return Err(Error::input("a key moves to another slot"));
        }
        let r = self.send(&Apdu::new(
            Instruction::MoveKey,
            to.reference(),
            from.reference(),
        ))?;
        match r.sw {
            StatusWord::Success => Ok(()),
            StatusWord::ReferenceNotFound => Err(Error::input(format!("slot {from} holds no key"))),
            StatusWord::IncorrectData => {
                Err(Error::input(format!("slot {to} already holds a key")))
            }
            sw => Err(Error::from_status("MOVE KEY", sw)),
        }
    }
}
