//! The device side of the cable: `usb-device` with `usbd-ccid` on the simulated bus, and the
//! applet behind usbd-ccid's interchange, as on a board.
//!
//! The applet runs on the thread that drives the device, whenever the device's main loop
//! finds a command in the interchange. The device's timer runs on the applet's own clock:
//! the time extensions that fell due while the applet worked go out, in order, before its
//! answer. The host, waiting on the same thread, reads the packets a device would have sent
//! with its timer firing during the work, in the same order.

use std::time::{Duration, Instant};

use interchange::Responder;
use usb_device::device::UsbDevice;
use usbd_ccid::{Ccid, Status};

use super::bus::SimBus;
use crate::applet::Applet;

/// The largest APDU or response the interchange carries: the longest extended APDU (header
/// 4, Lc 3, 65,535 data bytes, Le 2), which the descriptor's "short and extended APDU level
/// exchange" promises to take. usbd-ccid takes up to 3,062 bytes per CCID message
/// (dwMaxCCIDMsgLen 3,072 less the header) and gathers a chained APDU in the interchange; a
/// chain that overflows it is dropped without an answer and the host waits in vain (a real
/// host times out; this one stopped the link). With room for any APDU, every command reaches
/// the applet and gets the applet's own status word, as on the direct link.
pub(crate) const MESSAGE_SIZE: usize = 4 + 3 + 65_535 + 2;

/// One APDU or response in the interchange.
pub(crate) type Message = heapless::Vec<u8, MESSAGE_SIZE>;

/// "No precise diagnosis": the answer when a response does not fit the interchange.
const SW_NO_PRECISE_DIAGNOSIS: [u8; 2] = [0x6F, 0x00];

/// The device: what a board's main loop does with usb-device, usbd-ccid and the applet.
pub(crate) struct Device<'a> {
    usb: UsbDevice<'a, SimBus>,
    ccid: Ccid<'a, 'a, SimBus, MESSAGE_SIZE>,
    responder: Responder<'a, Message, Message>,
    time_extension: Duration,
    /// The applet's answer, held back while time extensions are still to go out.
    answer: Option<Message>,
    /// Time extensions that fell due while the applet worked and are not sent yet.
    extensions_due: u64,
}

impl<'a> Device<'a> {
    /// The device over its USB stack, answering through `responder`; it sends a time
    /// extension for every `time_extension` the applet works on a command.
    pub(crate) fn new(
        usb: UsbDevice<'a, SimBus>,
        ccid: Ccid<'a, 'a, SimBus, MESSAGE_SIZE>,
        responder: Responder<'a, Message, Message>,
        time_extension: Duration,
    ) -> Self {
        Self {
            usb,
            ccid,
            responder,
            time_extension,
            answer: None,
            extensions_due: 0,
        }
    }

    /// Services the bus once (the USB interrupt).
    pub(crate) fn poll(&mut self) {
        self.usb.poll(&mut [&mut self.ccid]);
    }

    /// One turn of the main loop while the host waits for an IN packet: runs the applet on
    /// a new command, sends a time extension that fell due while it worked, or hands its
    /// answer to usbd-ccid. Returns false when the device has nothing under way.
    pub(crate) fn work(&mut self, applet: &mut dyn Applet) -> bool {
        if let Status::ReceivedData(_) = self.ccid.did_start_processing() {
            self.process(applet);
        } else if self.extensions_due > 0 {
            self.extensions_due -= 1;
            self.ccid.send_wait_extension();
        } else if let Some(answer) = self.answer.take() {
            let _ = self.responder.respond(answer);
            self.ccid.check_for_app_response();
        } else {
            return false;
        }
        true
    }

    /// The applet task's turn: answers the request waiting in the interchange, and counts
    /// the time extensions its work took.
    fn process(&mut self, applet: &mut dyn Applet) {
        let Some(request) = self.responder.take_request() else {
            return;
        };
        let started = Instant::now();
        let mut answer = Message::new();
        if answer.extend_from_slice(applet.process(&request)).is_err() {
            answer.clear();
            let _ = answer.extend_from_slice(&SW_NO_PRECISE_DIAGNOSIS);
        }
        let periods = started
            .elapsed()
            .as_nanos()
            .checked_div(self.time_extension.as_nanos())
            .unwrap_or(0);
        self.extensions_due = u64::try_from(periods).unwrap_or(u64::MAX);
        self.answer = Some(answer);
    }
}
