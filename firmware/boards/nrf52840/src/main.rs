//! ukey on the nRF52840: the applet behind the chip's USB as a CCID smart-card reader with
//! its card inserted, its store in the chip's flash (`STORE` in memory.x), its randomness from
//! the chip's TRNG. See README.md for the layout, the build and the measured footprint, and
//! docs/porting.md for what each part is for.
#![no_std]
#![no_main]
#![deny(unsafe_code)]

mod nvmc;
mod usb;

use cortex_m_rt::entry;
use nrf52840_hal::clocks::{Clocks, ExternalOscillator, Internal, LfOscStarted};
use nrf52840_hal::pac::{self, FICR, POWER, WDT};
use nrf52840_hal::rng::Rng;
use nrf52840_hal::wdt::{Watchdog, WatchdogHandle, count, handles::Hdl0};
use static_cell::{ConstStaticCell, StaticCell};
use ukey_board_nrf52840::flash::StoreFlash;
use ukey_board_nrf52840::power::PowerFlag;
use ukey_board_nrf52840::rng::{EntropySource, TrueRng};
use ukey_firmware::{Card, Profile};

use nvmc::Nvmc;
use usb::Responder;

/// The applet as this board runs it.
type Token = Card<StoreFlash<Nvmc>, TrueRng<Trng>>;

/// The watchdog's period: 10 s of the 32.768 kHz clock, well above the longest operation
/// (a signature with garbage collection of the store, under a second).
const WATCHDOG_TICKS: u32 = 10 * 32_768;

/// ISO 7816-4 "memory failure": every answer of a token whose store could not be opened.
const SW_MEMORY_FAILURE: [u8; 2] = [0x65, 0x81];

/// "No precise diagnosis": the answer if a response did not fit the interchange.
const SW_NO_PRECISE_DIAGNOSIS: [u8; 2] = [0x6F, 0x00];

/// Raised by the USB side on IccPowerOn, IccPowerOff and bus reset.
static POWER_EVENTS: PowerFlag = PowerFlag::new();
/// The card, built empty at compile time (in `.bss`), loaded in place at power-on.
static CARD: ConstStaticCell<Token> = ConstStaticCell::new(Card::new());
static SERIAL_STRING: StaticCell<[u8; 8]> = StaticCell::new();
static CLOCKS: StaticCell<Clocks<ExternalOscillator, Internal, LfOscStarted>> = StaticCell::new();

/// The RNG peripheral with its bias correction on (`Rng::new` sets `CONFIG.DERCEN`).
struct Trng(Rng);

impl EntropySource for Trng {
    fn fill(&mut self, bytes: &mut [u8]) {
        self.0.random(bytes);
    }
}

/// Boots the token and serves the applet forever.
#[entry]
fn main() -> ! {
    let Some(p) = pac::Peripherals::take() else {
        halt()
    };
    let mut dog = watchdog(p.WDT);
    let clocks = CLOCKS.init(
        Clocks::new(p.CLOCK)
            .enable_ext_hfosc()
            .set_lfclk_src_rc()
            .start_lfclk(),
    );
    let serial = device_serial(&p.FICR);
    let card = open(p.NVMC, p.RNG, serial);
    wait_for_vbus(&p.POWER, &mut dog);
    let Some(mut responder) = usb::start(
        p.USBD,
        clocks,
        p.TIMER1,
        serial_string(serial),
        &POWER_EVENTS,
    ) else {
        halt()
    };
    let mut card = card;
    loop {
        dog.pet();
        if POWER_EVENTS.take()
            && let Some(card) = card.as_deref_mut()
        {
            card.reset();
        }
        serve(&mut responder, card.as_deref_mut());
        cortex_m::asm::wfi();
    }
}

/// Loads the card in place over the store, or `None` if the store holds something else or
/// the flash failed (the token then answers every command with "memory failure"). Not
/// inlined, so what loading needs is stack only while it runs.
#[inline(never)]
fn open(nvmc: pac::NVMC, rng: pac::RNG, serial: u32) -> Option<&'static mut Token> {
    let flash = StoreFlash::new(Nvmc::new(nvmc))?;
    let rng = TrueRng::new(Trng(Rng::new(rng)));
    let card = CARD.try_take()?;
    card.load(flash, rng, &Profile::standard(serial)).ok()?;
    Some(card)
}

/// Answers the command waiting in the interchange, if any.
fn serve(responder: &mut Responder, card: Option<&mut Token>) {
    let Ok(request) = responder.request() else {
        if responder.is_canceled() {
            let _ = responder.acknowledge_cancel();
        }
        return;
    };
    let command_length = request.len();
    let answer: &[u8] = match card {
        Some(card) => card.process(request),
        None => &SW_MEMORY_FAILURE,
    };
    let Ok(response) = responder.response_mut() else {
        let _ = responder.acknowledge_cancel();
        return;
    };
    // Zero what held the command first: it may have carried a PIN or a key.
    response.clear();
    let _ = response.resize(command_length, 0);
    response.clear();
    if response.extend_from_slice(answer).is_err() {
        let _ = response.extend_from_slice(&SW_NO_PRECISE_DIAGNOSIS);
    }
    let _ = responder.send_response();
}

/// Starts the watchdog (or takes over one that survived a soft reset).
fn watchdog(wdt: WDT) -> WatchdogHandle<Hdl0> {
    match Watchdog::try_new(wdt) {
        Ok(mut dog) => {
            dog.set_lfosc_ticks(WATCHDOG_TICKS);
            dog.run_during_sleep(true);
            dog.run_during_debug_halt(false);
            dog.activate::<count::One>().handles.0
        }
        Err(wdt) => match Watchdog::try_recover::<count::One>(wdt) {
            Ok(parts) => parts.handles.0,
            Err(_) => halt(),
        },
    }
}

/// Waits until the host powers the bus: the USBD may only be enabled with VBUS present.
fn wait_for_vbus(power: &POWER, dog: &mut WatchdogHandle<Hdl0>) {
    while power.usbregstatus.read().vbusdetect().is_no_vbus() {
        dog.pet();
    }
}

/// The token's serial number: the low word of the chip's unique device ID (FICR.DEVICEID).
fn device_serial(ficr: &FICR) -> u32 {
    ficr.deviceid[0].read().bits()
}

/// The serial number as eight hex digits, for the USB iSerial string.
fn serial_string(serial: u32) -> &'static str {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let Some(digits) = SERIAL_STRING.try_init([0; 8]) else {
        return "00000000";
    };
    for (i, digit) in digits.iter_mut().enumerate() {
        *digit = HEX[((serial >> (28 - 4 * i)) & 0xF) as usize];
    }
    core::str::from_utf8(digits).unwrap_or("00000000")
}

/// Stops for good; the watchdog, if running, restarts the chip.
fn halt() -> ! {
    loop {
        cortex_m::asm::wfi();
    }
}

/// A panic stops the token; the watchdog restarts it within its period.
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    halt()
}
