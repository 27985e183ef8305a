//! Bringing a token to what a trial's command needs, with commands run to completion and
//! checked against the model: a PIN or PUK with tries left (unblocking, or RESET when both
//! are blocked), the management key authenticated, the PIN verified, or for RESET both
//! PIN and PUK blocked.

use super::commands::{Command, Kind};
use super::dice::Dice;
use super::model::{Factory, Reference, Token};
use super::session;
use super::token_process::TokenProcess;

/// Brings `state` on `token` to what a command of `kind` needs; returns the state then.
pub fn prepare(
    token: &mut TokenProcess,
    kind: Kind,
    state: Token,
    factory: &Factory,
    dice: &mut Dice,
) -> Result<Token, String> {
    let mut prep = Prep {
        token,
        factory,
        dice,
        state,
    };
    match kind {
        Kind::VerifyWrong | Kind::VerifyRight | Kind::ChangePin => prep.pin_usable()?,
        Kind::ChangePuk => prep.puk_usable()?,
        Kind::ResetRetryCounter => {
            prep.puk_usable()?;
            if prep.dice.chance(1, 3) {
                prep.block(Reference::Pin)?;
            }
        }
        Kind::GenerateP256
        | Kind::GenerateSm2
        | Kind::PutCertificate
        | Kind::PutLabel
        | Kind::SetManagementKey => prep.authenticate()?,
        Kind::SetPinRetries => {
            prep.pin_usable()?;
            prep.authenticate()?;
            let pin = prep.state.pin.value.clone();
            prep.run(Command::Verify { pin })?;
        }
        Kind::Reset => {
            prep.block(Reference::Pin)?;
            prep.block(Reference::Puk)?;
        }
    }
    Ok(prep.state)
}

struct Prep<'a> {
    token: &'a mut TokenProcess,
    factory: &'a Factory,
    dice: &'a mut Dice,
    state: Token,
}

impl Prep<'_> {
    fn run(&mut self, command: Command) -> Result<(), String> {
        self.state = session::run(self.token, &command, &self.state, self.factory)
            .map_err(|error| format!("preparing: {error}"))?;
        Ok(())
    }

    /// The PIN with tries left: unblocked with the PUK, or by RESET if that is blocked too.
    fn pin_usable(&mut self) -> Result<(), String> {
        if !self.state.pin.is_blocked() {
            return Ok(());
        }
        if self.state.puk.is_blocked() {
            return self.run(Command::Reset);
        }
        let puk = self.state.puk.value.clone();
        let new_pin = self.dice.digits();
        self.run(Command::ResetRetryCounter { puk, new_pin })
    }

    /// The PUK with tries left: SET PIN RETRIES (which restores the factory PUK) while the
    /// PIN works, else RESET.
    fn puk_usable(&mut self) -> Result<(), String> {
        if !self.state.puk.is_blocked() {
            return Ok(());
        }
        if self.state.pin.is_blocked() {
            return self.run(Command::Reset);
        }
        self.authenticate()?;
        let pin = self.state.pin.value.clone();
        self.run(Command::Verify { pin })?;
        let (pin_tries, puk_tries) = (self.state.pin.tries_max, self.state.puk.tries_max);
        self.run(Command::SetPinRetries {
            pin_tries,
            puk_tries,
        })
    }

    /// The management key authenticated for this session.
    fn authenticate(&mut self) -> Result<(), String> {
        if session::authenticate(self.token, &self.state.management_key, self.dice)? {
            Ok(())
        } else {
            Err("preparing: the token refuses its own management key".into())
        }
    }

    /// Wrong tries until the PIN or PUK is blocked.
    fn block(&mut self, which: Reference) -> Result<(), String> {
        while !self.state.secret(which).is_blocked() {
            let wrong = self.dice.digits_other_than(&self.state.secret(which).value);
            let command = match which {
                Reference::Pin => Command::Verify { pin: wrong },
                Reference::Puk => Command::ChangeReference {
                    which,
                    old: wrong,
                    new: self.dice.digits(),
                },
            };
            self.run(command)?;
        }
        Ok(())
    }
}
