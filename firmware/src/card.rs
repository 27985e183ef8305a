//! The card: what a link talks to. This is the APDU layer: it parses lengths, gathers
//! chained commands, splits long responses into `61 xx` parts for GET RESPONSE, and hands
//! each whole command to [`crate::command`].

use embedded_storage::nor_flash::{MultiwriteNorFlash, NorFlash};
use rand_core::CryptoRng;
use ukey_card_edge::{CLA_CHAINING, Instruction, StatusWord};

use crate::apdu::{CommandApdu, MAX_COMMAND_DATA, MAX_RESPONSE_DATA, Reply};
use crate::command::{self, Command};
use crate::context::{Context, Place};
use crate::opened::{OpenError, Opened};
use crate::profile::Profile;

mod provision;

pub use provision::ProvisionError;

/// A command chain being gathered (ISO 7816-4, 5.3.3).
struct Chain {
    /// INS, P1, P2 of the chain in progress, if any.
    header: Option<[u8; 3]>,
    len: usize,
    buf: [u8; MAX_COMMAND_DATA],
}

/// The response of the last command and how much of it the host has taken.
struct Response {
    /// Response data, with two spare bytes where the status word is written after a part.
    buf: [u8; MAX_RESPONSE_DATA + 2],
    len: usize,
    sent: usize,
    /// The two data bytes a part's status word covers, put back before the next part.
    covered: Option<(usize, [u8; 2])>,
    status: [u8; 2],
}

impl Response {
    fn clear(&mut self) {
        self.len = 0;
        self.sent = 0;
        self.covered = None;
    }

    fn status_only(&mut self, status: StatusWord) -> &[u8] {
        self.status = status.to_bytes();
        &self.status
    }

    /// The next part of at most `le` bytes, followed by `61 xx` or `90 00`.
    fn next_part(&mut self, le: usize) -> &[u8] {
        if let Some((at, bytes)) = self.covered.take() {
            self.buf[at..at + 2].copy_from_slice(&bytes);
        }
        let start = self.sent;
        let remaining = self.len - start;
        let end = start + remaining.min(le);
        let left = self.len - end;
        self.covered = Some((end, [self.buf[end], self.buf[end + 1]]));
        let status = match left {
            0 => StatusWord::Success,
            // ISO 7816-4, 5.1.3: `61 00` says 256 bytes or more are waiting.
            n => StatusWord::MoreData {
                len: if n >= 256 { 0 } else { n as u8 },
            },
        };
        self.buf[end..end + 2].copy_from_slice(&status.to_bytes());
        self.sent = end;
        if left == 0 {
            self.clear();
        }
        &self.buf[start..end + 2]
    }
}

/// A ukey token: the applet over its store. One per physical (or virtual) token.
///
/// A card is built empty by the `const` [`Card::new`] (so a board can place it in a
/// `static` without building it on the stack) and then given its flash by [`Card::load`],
/// which works in place. [`Card::open`] does both for platforms with room to spare.
pub struct Card<F: NorFlash + MultiwriteNorFlash, R: CryptoRng> {
    /// The loaded token; empty until [`Card::load`] succeeds.
    ctx: Place<Context<F, R>>,
    chain: Chain,
    response: Response,
}

impl<F: NorFlash + MultiwriteNorFlash, R: CryptoRng> Default for Card<F, R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<F: NorFlash + MultiwriteNorFlash, R: CryptoRng> Card<F, R> {
    /// A card with no token loaded: it answers every command `65 81` (memory failure) until
    /// [`Card::load`] succeeds.
    pub const fn new() -> Self {
        Self {
            ctx: Place::Empty,
            chain: Chain {
                header: None,
                len: 0,
                buf: [0; MAX_COMMAND_DATA],
            },
            response: Response {
                buf: [0; MAX_RESPONSE_DATA + 2],
                len: 0,
                sent: 0,
                covered: None,
                status: [0; 2],
            },
        }
    }

    /// Opens the token kept in `flash`; a blank flash is made into a new token from
    /// `profile` (a token already made keeps its own factory settings).
    pub fn open(flash: F, rng: R, profile: &Profile) -> Result<Self, OpenError> {
        let mut card = Self::new();
        card.load(flash, rng, profile)?;
        Ok(card)
    }

    /// [`Card::open`] in place: loads the token kept in `flash` into this card, replacing
    /// any token loaded before, and starts a fresh session; says whether the token was made
    /// just now from a blank flash. On error the card is left with no token loaded.
    pub fn load(&mut self, flash: F, rng: R, profile: &Profile) -> Result<Opened, OpenError> {
        self.reset();
        Context::open_in(&mut self.ctx, flash, rng, profile)
    }

    /// Power on, power off or warm reset: forgets the security state (PIN verified,
    /// management key authenticated), any half-gathered chain and any unread response.
    /// Stored data is kept.
    pub fn reset(&mut self) {
        if let Some(ctx) = self.ctx.get_mut() {
            ctx.volatile = Default::default();
        }
        self.chain.header = None;
        self.response.clear();
    }

    /// Handles one command APDU and returns the response: data, then SW1 SW2.
    pub fn process(&mut self, command: &[u8]) -> &[u8] {
        let Some(ctx) = self.ctx.get_mut() else {
            return self.response.status_only(StatusWord::MemoryFailure);
        };
        let apdu = match CommandApdu::parse(command) {
            Ok(apdu) => apdu,
            Err(status) => return self.response.status_only(status),
        };
        if apdu.cla & !CLA_CHAINING != 0 {
            return self.response.status_only(StatusWord::ClaNotSupported);
        }
        if apdu.ins == Instruction::GetResponse.byte() && !apdu.is_chained() {
            return self.get_response(&apdu);
        }
        self.response.clear();
        let header = [apdu.ins, apdu.p1, apdu.p2];
        if self.chain.header != Some(header) {
            self.chain.header = None;
            self.chain.len = 0;
        }
        let data = if apdu.is_chained() || self.chain.header.is_some() {
            let end = self.chain.len + apdu.data.len();
            let Some(target) = self.chain.buf.get_mut(self.chain.len..end) else {
                self.chain.header = None;
                return self.response.status_only(StatusWord::NotEnoughMemory);
            };
            target.copy_from_slice(apdu.data);
            self.chain.len = end;
            if apdu.is_chained() {
                self.chain.header = Some(header);
                return self.response.status_only(StatusWord::Success);
            }
            self.chain.header = None;
            &self.chain.buf[..end]
        } else {
            apdu.data
        };
        let mut reply = Reply::new(&mut self.response.buf[..MAX_RESPONSE_DATA]);
        let result = Command::parse(&apdu, data).and_then(|cmd| command::run(ctx, cmd, &mut reply));
        match result {
            Ok(()) => {
                self.response.len = reply.len();
                self.response.next_part(apdu.le)
            }
            Err(status) => self.response.status_only(status),
        }
    }

    fn get_response(&mut self, apdu: &CommandApdu<'_>) -> &[u8] {
        if (apdu.p1, apdu.p2) != (0, 0) {
            return self.response.status_only(StatusWord::IncorrectP1P2);
        }
        if self.response.len == 0 {
            return self
                .response
                .status_only(StatusWord::ConditionsNotSatisfied);
        }
        self.response.next_part(apdu.le)
    }

    /// Gives the flash back, as when the token is unplugged; `None` if no token was loaded.
    pub fn into_flash(self) -> Option<F> {
        match self.ctx {
            Place::Open(ctx) => Some(ctx.into_flash()),
            Place::Empty => None,
        }
    }
}
