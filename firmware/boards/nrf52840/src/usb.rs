//! The USB side of the token: usb-device with usbd-ccid on the nRF52840's USBD (nrf-usbd),
//! built exactly as the simulator's `--link ccid` builds its emulated device (the same
//! descriptors, strings and ATR), and serviced from a periodic timer interrupt while the
//! applet runs in the main loop, so the bus and the CCID time extensions keep going during a
//! long signature.
//!
//! ```text
//! TIMER1 interrupt, 4 kHz: UsbDevice::poll ─► Ccid ─┐ interchange    main loop:
//!   PowerWatch (under the bus) ─► PowerFlag ────────┼──────────────► Card::reset
//!   a time extension every second while busy        └──────────────► Card::process
//! ```

use core::cell::RefCell;

use critical_section::Mutex;
use nrf52840_hal::clocks::{Clocks, ExternalOscillator};
use nrf52840_hal::pac::{self, TIMER1, USBD, interrupt};
use nrf52840_hal::timer::{Periodic, Timer};
use nrf52840_hal::usbd::{UsbPeripheral, Usbd};
use static_cell::StaticCell;
use ukey_board_nrf52840::power::{PowerFlag, PowerWatch};
use ukey_firmware::ATR_ISSUER_DATA;
use usb_device::bus::UsbBusAllocator;
use usb_device::device::{StringDescriptors, UsbDevice, UsbDeviceBuilder, UsbRev, UsbVidPid};
use usbd_ccid::{Ccid, Status};

/// The largest APDU or response the interchange carries: the largest extended APDU (header,
/// three length bytes, 65,535 data bytes, two Le bytes), as on the simulator's ccid link.
/// usbd-ccid drops a command that does not fit without any answer, so the host would wait
/// for one until it timed out; at this size every APDU reaches the applet and gets its status
/// word. It costs 64 KiB of the chip's 256 KiB of RAM, outside the applet's budget.
pub const MESSAGE_SIZE: usize = 4 + 3 + 65_535 + 2;

/// One APDU or response in the interchange.
pub type Message = heapless::Vec<u8, MESSAGE_SIZE>;

/// The USB bus: the chip's USBD under the power-event watch.
pub type Bus = PowerWatch<'static, Usbd<UsbPeripheral<'static>>>;

/// The applet's end of the interchange.
pub type Responder = interchange::Responder<'static, Message, Message>;

/// USB vendor ID, as the simulator's ccid link: pid.codes, whose test PID below is meant for
/// development. A vendor ships its own VID and PID.
const USB_VID: u16 = 0x1209;
/// USB product ID (pid.codes' test PID), as the simulator's ccid link.
const USB_PID: u16 = 0x0001;
/// The manufacturer string, as the simulator's ccid link.
const MANUFACTURER: &str = "ukey";
/// The product string, as the simulator's ccid link.
const PRODUCT: &str = "ukey USB token";

/// Microseconds between two services of the bus (TIMER1 counts at 1 MHz).
const TICK_MICROS: u32 = 250;
/// Ticks between two CCID time extensions while the applet works: one second, as usbd-ccid
/// asks for.
const EXTENSION_TICKS: u32 = 1_000_000 / TICK_MICROS;

static CHANNEL: interchange::Channel<Message, Message> = interchange::Channel::new();
static ALLOCATOR: StaticCell<UsbBusAllocator<Bus>> = StaticCell::new();
static STACK_CELL: StaticCell<Stack> = StaticCell::new();
/// The stack, once started; a reference, so the empty static costs no flash for its image.
static STACK: Mutex<RefCell<Option<&'static mut Stack>>> = Mutex::new(RefCell::new(None));

/// What the timer interrupt services.
struct Stack {
    device: UsbDevice<'static, Bus>,
    ccid: Ccid<'static, 'static, Bus, MESSAGE_SIZE>,
    timer: Timer<TIMER1, Periodic>,
    ticks: u32,
    /// While the applet works: the tick at which the next time extension is due.
    extension_due: Option<u32>,
}

impl Stack {
    /// One service of the bus: what the simulator's device task does in its main loop.
    fn tick(&mut self) {
        self.timer.reset_event();
        self.ticks = self.ticks.wrapping_add(1);
        self.device.poll(&mut [&mut self.ccid]);
        self.ccid.check_for_app_response();
        if let Status::ReceivedData(_) = self.ccid.did_start_processing() {
            self.extension_due = Some(self.ticks.wrapping_add(EXTENSION_TICKS));
        }
        if let Some(due) = self.extension_due
            && self.ticks == due
        {
            self.extension_due = match self.ccid.send_wait_extension() {
                Status::ReceivedData(_) => Some(due.wrapping_add(EXTENSION_TICKS)),
                Status::Idle => None,
            };
        }
    }
}

/// Builds the USB device over `usbd` (HFXO running, as `clocks` proves), hands it to the
/// TIMER1 interrupt and starts the timer; gives the applet's end of the interchange. `None`
/// if it was started before or usb-device refused the configuration.
pub fn start<L, S>(
    usbd: USBD,
    clocks: &'static Clocks<ExternalOscillator, L, S>,
    timer: TIMER1,
    serial_number: &'static str,
    power: &'static PowerFlag,
) -> Option<Responder> {
    let (requester, responder) = CHANNEL.split()?;
    let bus = PowerWatch::new(Usbd::new(UsbPeripheral::new(usbd, clocks)), power);
    let allocator: &'static UsbBusAllocator<Bus> = ALLOCATOR.try_init(UsbBusAllocator::new(bus))?;
    let ccid = Ccid::new(allocator, requester, Some(ATR_ISSUER_DATA));
    let device = UsbDeviceBuilder::new(allocator, UsbVidPid(USB_VID, USB_PID))
        .usb_rev(UsbRev::Usb200)
        .device_release(0x0100)
        .strings(&[StringDescriptors::default()
            .manufacturer(MANUFACTURER)
            .product(PRODUCT)
            .serial_number(serial_number)])
        .and_then(|builder| builder.max_packet_size_0(64))
        .ok()?
        .build();
    let mut timer = Timer::periodic(timer);
    timer.enable_interrupt();
    timer.start(TICK_MICROS);
    let stack = STACK_CELL.try_init(Stack {
        device,
        ccid,
        timer,
        ticks: 0,
        extension_due: None,
    })?;
    critical_section::with(|cs| STACK.borrow_ref_mut(cs).replace(stack));
    #[allow(unsafe_code, reason = "unmasking an interrupt")]
    // SAFETY: the handler only touches `STACK`, through a critical section.
    unsafe {
        pac::NVIC::unmask(pac::Interrupt::TIMER1);
    }
    Some(responder)
}

/// Services the bus; see [`Stack::tick`].
#[interrupt]
fn TIMER1() {
    critical_section::with(|cs| {
        if let Some(stack) = STACK.borrow_ref_mut(cs).as_mut() {
            stack.tick();
        }
    });
}
