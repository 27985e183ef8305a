//! ukey on QEMU's mps2-an386 (Cortex-M4): the applet in a `static`, over a 64 KiB store in the
//! board's flash region, serving APDUs framed over UART0. See README.md for the framing, the
//! memory layout and the measured footprint.
//!
//! The RNG is a ChaCha20 DRBG seeded by the host over the UART at power-on: acceptable on this
//! emulated board only, which has no entropy source. A real board uses its chip's TRNG.
#![no_std]
#![no_main]

mod clock;
mod link;
mod stack;
mod uart;

use core::ops::RangeInclusive;

use cortex_m_rt::entry;
use cortex_m_semihosting::debug;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use static_cell::ConstStaticCell;
use ukey_firmware::flash::{PAGE_SIZE, RamFlash};
use ukey_firmware::{ATR, Card, Profile};
use zeroize::Zeroize;

use link::{LinkError, MAX_PAYLOAD};
use uart::Uart;

/// Size of the record store: 16 pages of 4 KiB, the `STORE` region of memory.x.
const STORE_BYTES: usize = 16 * PAGE_SIZE;

/// The token's serial number. A real board derives it from the chip's unique ID.
const SERIAL: u32 = 0x0A38_6001;

/// Accepted seed lengths: at least 256 bits of entropy, hashed into the DRBG's key.
const SEED_LEN: RangeInclusive<usize> = 32..=64;

/// The store's flash: the `STORE` memory region, written with NOR rules.
type Flash = &'static mut RamFlash<STORE_BYTES>;

/// The applet as this board runs it.
type Token = Card<Flash, ChaCha20Rng>;

/// The store's flash region, shipped erased in the image (section `.store`, see memory.x).
#[unsafe(link_section = ".store")]
static mut STORE: RamFlash<STORE_BYTES> = RamFlash::new();

/// The card, built empty at compile time (in `.bss`), loaded in place at power-on.
static CARD: ConstStaticCell<Token> = ConstStaticCell::new(Card::new());

/// Where the board is between power-on and a working card.
#[allow(
    clippy::large_enum_variant,
    reason = "one value, held by `main` for the whole run"
)]
enum State {
    /// Waiting for a seed; the store is not opened yet.
    Unseeded(Flash),
    /// Seeded, waiting for power-on to open the card.
    Seeded(Flash, ChaCha20Rng),
    /// The card is open.
    On(&'static mut Token),
    /// Opening the store failed; nothing but `H`, `T` and `Q` works until QEMU restarts.
    Failed,
}

impl State {
    /// The open card, for frames that need one.
    fn card(&mut self) -> Result<&mut Token, LinkError> {
        match self {
            Self::On(card) => Ok(card),
            Self::Failed => Err(LinkError::OpenFailed),
            Self::Unseeded(_) | Self::Seeded(..) => Err(LinkError::NotPowered),
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
        if kind != b'S' && kind != b'A' && !payload.is_empty() {
            return Err(LinkError::BadLength);
        }
        match kind {
            b'S' => {
                self.seed(payload)?;
                link::send(uart, b'S', &[]);
            }
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
                let start = clock::now();
                let response = card.process(payload);
                self.last_ticks = clock::now() - start;
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

    /// Seeds the DRBG (or mixes in a further seed), before the card is opened.
    fn seed(&mut self, seed: &[u8]) -> Result<(), LinkError> {
        if !SEED_LEN.contains(&seed.len()) {
            return Err(LinkError::BadLength);
        }
        self.state = match core::mem::replace(&mut self.state, State::Failed) {
            State::Unseeded(flash) => State::Seeded(flash, reseed(None, seed)),
            State::Seeded(flash, rng) => State::Seeded(flash, reseed(Some(rng), seed)),
            state @ (State::On(_) | State::Failed) => {
                self.state = state;
                return Err(LinkError::AlreadySeeded);
            }
        };
        Ok(())
    }

    /// Opens the card on the first power-on; later ones reset it.
    fn power_on(&mut self) -> Result<(), LinkError> {
        self.state = match core::mem::replace(&mut self.state, State::Failed) {
            State::Unseeded(flash) => {
                self.state = State::Unseeded(flash);
                return Err(LinkError::NotSeeded);
            }
            State::Seeded(flash, rng) => {
                let start = clock::now();
                let card = open(flash, rng);
                self.last_ticks = clock::now() - start;
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

/// A DRBG keyed with SHA-256 of everything seeded so far: the previous DRBG's output, if any,
/// then `seed`.
fn reseed(previous: Option<ChaCha20Rng>, seed: &[u8]) -> ChaCha20Rng {
    let mut hash = Sha256::new();
    if let Some(mut rng) = previous {
        let mut carried = [0u8; 32];
        rng.fill_bytes(&mut carried);
        hash.update(carried);
        carried.zeroize();
    }
    hash.update(seed);
    let mut key: [u8; 32] = hash.finalize().into();
    let rng = ChaCha20Rng::from_seed(key);
    key.zeroize();
    rng
}

/// Loads the token into [`CARD`] in place, so the card never passes through the stack:
/// `None` if the store cannot be opened (or the card was taken already). Not inlined, so
/// what opening needs is stack only while it runs, not part of `main`'s frame for good.
#[inline(never)]
fn open(flash: Flash, rng: ChaCha20Rng) -> Option<&'static mut Token> {
    let card = CARD.try_take()?;
    card.load(flash, rng, &Profile::standard(SERIAL)).ok()?;
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
    #[allow(
        clippy::deref_addrof,
        reason = "clippy's `&mut STORE` is refused by the static_mut_refs lint"
    )]
    // SAFETY: `main` runs once and is the only code naming `STORE`: this is its one reference.
    let store: Flash = unsafe { &mut *(&raw mut STORE) };
    let mut board = Board {
        state: State::Unseeded(store),
        last_ticks: 0,
    };
    loop {
        let frame = link::receive(&mut uart, PAYLOAD);
        let payload = &mut PAYLOAD[..frame.len];
        if let Err(error) = board.handle(&mut uart, frame.kind, payload) {
            link::send(&mut uart, b'E', &[error as u8]);
        }
        // The payload may have held a PIN, a key or a seed.
        payload.zeroize();
    }
}

/// A panic ends the QEMU run with a failure status (through semihosting).
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
