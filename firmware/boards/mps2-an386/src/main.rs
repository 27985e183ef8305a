//! ukey on QEMU's mps2-an386 (Cortex-M4): the applet in a `static`, over a 64 KiB store in the
//! board's flash region, serving APDUs framed over UART0. See README.md for the framing, the
//! memory layout and the measured footprint.
//!
//! The RNG is a ChaCha20 DRBG seeded by the host over the UART at power-on: acceptable on this
//! emulated board only, which has no entropy source. A real board uses its chip's TRNG.
#![no_std]
#![no_main]

mod clock;
mod factory;
mod journal;
mod link;
mod rng;
mod stack;
mod store;
mod uart;

use core::ops::RangeInclusive;

use cortex_m_rt::entry;
use cortex_m_semihosting::debug;
use static_cell::ConstStaticCell;
use ukey_card_edge::StatusWord;
use ukey_firmware::{ATR, Card, Profile};
use zeroize::Zeroize;

use link::{LinkError, MAX_PAYLOAD, Received};
use rng::BoardRng;
use store::Store;
use uart::Uart;

/// The token's serial number unless the host sends a profile. A real board derives it from
/// the chip's unique ID.
const SERIAL: u32 = 0x0A38_6001;

/// Accepted seed lengths: at least 256 bits of entropy, hashed into the DRBG's key.
const SEED_LEN: RangeInclusive<usize> = 32..=64;

/// Longest part of the store one `D` frame reads.
const DUMP_MAX: usize = 4096;

/// The applet as this board runs it.
type Token = Card<Store, BoardRng>;

/// The card, built empty at compile time (in `.bss`), loaded in place at power-on.
static CARD: ConstStaticCell<Token> = ConstStaticCell::new(Card::new());

/// Where the board is between power-on and a working card.
enum State {
    /// Not opened yet: the store (which the host may still load) and the profile a blank
    /// store will be made into.
    Off(Store, Profile),
    /// The card is open.
    On(&'static mut Token),
    /// Opening the store failed; nothing but `S`, `D`, `H`, `T` and `Q` works until QEMU
    /// restarts.
    Failed,
}

impl State {
    /// The open card, for frames that need one.
    fn card(&mut self) -> Result<&mut Token, LinkError> {
        match self {
            Self::On(card) => Ok(card),
            Self::Failed => Err(LinkError::OpenFailed),
            Self::Off(..) => Err(LinkError::NotPowered),
        }
    }

    /// The profile, for frames that set up the card before it is opened.
    fn profile(&mut self) -> Result<&mut Profile, LinkError> {
        match self {
            Self::Off(_, profile) => Ok(profile),
            Self::On(_) | Self::Failed => Err(LinkError::AlreadyOpen),
        }
    }
}

/// The board: its state and the cost of the last card operation.
struct Board {
    /// Where the board is.
    state: State,
    /// SysTick ticks the last `P` (when it opened the card) or `A` frame took in the applet.
    last_ticks: u64,
}

impl Board {
    /// Answers one well-formed frame; an error becomes an `E` frame.
    fn handle(&mut self, uart: &mut Uart, kind: u8, payload: &[u8]) -> Result<(), LinkError> {
        if matches!(kind, b'J' | b'P' | b'R' | b'H' | b'T' | b'Q') && !payload.is_empty() {
            return Err(LinkError::BadLength);
        }
        match kind {
            b'S' => {
                if !SEED_LEN.contains(&payload.len()) {
                    return Err(LinkError::BadLength);
                }
                rng::reseed(payload);
                link::send(uart, b'S', &[]);
            }
            b'F' => {
                let profile = self.state.profile()?;
                *profile = factory::decode(payload).ok_or(LinkError::BadProfile)?;
                link::send(uart, b'F', &[]);
            }
            b'L' => {
                self.state.profile()?;
                let (offset, bytes) = payload
                    .split_first_chunk::<4>()
                    .ok_or(LinkError::BadLength)?;
                store::load(usize_of(*offset)?, bytes).ok_or(LinkError::OutOfStore)?;
                link::send(uart, b'L', &[]);
            }
            b'J' => {
                self.state.profile()?;
                journal::start();
                link::send(uart, b'J', &[]);
            }
            b'D' => dump(uart, payload)?,
            b'P' => {
                self.power_on()?;
                link::send(uart, b'P', &ATR);
            }
            b'R' => {
                self.state.card()?.reset();
                link::send(uart, b'R', &ATR);
            }
            b'A' => {
                let card = self.state.card()?;
                let start = (clock::now(), journal::ticks());
                let response = card.process(payload);
                self.last_ticks = applet_ticks(start);
                link::send(uart, b'A', response);
            }
            b'H' => {
                let water = stack::take();
                let mut reply = [0u8; 12];
                reply[..4].copy_from_slice(&water.since_last.to_be_bytes());
                reply[4..8].copy_from_slice(&water.peak.to_be_bytes());
                reply[8..].copy_from_slice(&water.size.to_be_bytes());
                link::send(uart, b'H', &reply);
            }
            b'T' => link::send(uart, b'T', &self.last_ticks.to_be_bytes()),
            b'Q' => {
                link::send(uart, b'Q', &[]);
                debug::exit(debug::EXIT_SUCCESS);
            }
            _ => return Err(LinkError::UnknownType),
        }
        Ok(())
    }

    /// Opens the card on the first power-on; later ones reset it.
    fn power_on(&mut self) -> Result<(), LinkError> {
        self.state = match core::mem::replace(&mut self.state, State::Failed) {
            State::Off(store, profile) => {
                let Some(rng) = BoardRng::get() else {
                    self.state = State::Off(store, profile);
                    return Err(LinkError::NotSeeded);
                };
                let start = (clock::now(), journal::ticks());
                let card = open(store, rng, &profile);
                self.last_ticks = applet_ticks(start);
                State::On(card.ok_or(LinkError::OpenFailed)?)
            }
            State::On(card) => {
                card.reset();
                State::On(card)
            }
            State::Failed => return Err(LinkError::OpenFailed),
        };
        Ok(())
    }
}

/// Ticks spent in the applet since `start` (the clock and the write-through's ticks then),
/// leaving out the time the write-through spent on the link.
fn applet_ticks((clock_then, journal_then): (u64, u64)) -> u64 {
    (clock::now() - clock_then).saturating_sub(journal::ticks() - journal_then)
}

/// A big-endian u32 from a frame as an offset.
fn usize_of(bytes: [u8; 4]) -> Result<usize, LinkError> {
    usize::try_from(u32::from_be_bytes(bytes)).map_err(|_| LinkError::OutOfStore)
}

/// Answers a `D` frame (offset u32, length u16): that part of the store, sent in pieces
/// through a small buffer.
fn dump(uart: &mut Uart, payload: &[u8]) -> Result<(), LinkError> {
    let [a, b, c, d, high, low] = *payload else {
        return Err(LinkError::BadLength);
    };
    let offset = usize_of([a, b, c, d])?;
    let len = usize::from(u16::from_be_bytes([high, low]));
    let end = offset.checked_add(len).ok_or(LinkError::OutOfStore)?;
    if len > DUMP_MAX || end > store::STORE_BYTES {
        return Err(LinkError::OutOfStore);
    }
    link::send_header(uart, b'D', len);
    let mut piece = [0u8; 256];
    for start in (offset..end).step_by(piece.len()) {
        let piece = &mut piece[..(end - start).min(256)];
        store::dump(start, piece).ok_or(LinkError::OutOfStore)?;
        uart.write_all(piece);
    }
    Ok(())
}

/// Loads the token into [`CARD`] in place, so the card never passes through the stack:
/// `None` if the store cannot be opened (or the card was taken already). Not inlined, so
/// what opening needs is stack only while it runs, not part of `main`'s frame for good.
#[inline(never)]
fn open(store: Store, rng: BoardRng, profile: &Profile) -> Option<&'static mut Token> {
    let card = CARD.try_take()?;
    card.load(store, rng, profile).ok()?;
    Some(card)
}

/// Boots the board and serves frames forever (until a `Q` frame exits QEMU).
#[entry]
fn main() -> ! {
    static mut PAYLOAD: [u8; MAX_PAYLOAD] = [0; MAX_PAYLOAD];

    if let Some(core) = cortex_m::Peripherals::take() {
        clock::start(core.SYST);
    }
    let mut uart = Uart::take();
    let mut board = Board {
        state: State::Off(Store::take(), Profile::standard(SERIAL)),
        last_ticks: 0,
    };
    loop {
        let frame = match link::receive(&mut uart, PAYLOAD) {
            Received::Frame(frame) => frame,
            // An APDU longer than any command the card takes: the card could not hold it.
            Received::TooLong { kind: b'A' } => {
                link::send(&mut uart, b'A', &StatusWord::WrongLength.to_bytes());
                continue;
            }
            Received::TooLong { .. } => {
                link::send(&mut uart, b'E', &[LinkError::TooLong as u8]);
                continue;
            }
        };
        let payload = &mut PAYLOAD[..frame.len];
        if let Err(error) = board.handle(&mut uart, frame.kind, payload) {
            link::send(&mut uart, b'E', &[error as u8]);
        }
        // The payload may have held a PIN, a key or a seed.
        payload.zeroize();
    }
}

/// Ends the QEMU run with a failure status (through semihosting).
fn fatal() -> ! {
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

/// A panic ends the QEMU run with a failure status.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    fatal()
}
