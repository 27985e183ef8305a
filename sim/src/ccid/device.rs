//! The device side of the cable: `usb-device` with `usbd-ccid` on the simulated bus, and the
//! applet in a task of its own behind usbd-ccid's interchange, as on a board.

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use interchange::Responder;
use usb_device::device::UsbDevice;
use usbd_ccid::{Ccid, Status};

use super::bus::SimBus;
use crate::applet::Applet;
use crate::error::{Error, Result};

/// The largest APDU or response the interchange carries. usbd-ccid itself takes commands of
/// up to 3,062 bytes (dwMaxCCIDMsgLen 3,072 less the header).
pub(crate) const MESSAGE_SIZE: usize = 7609;

/// One APDU or response in the interchange.
pub(crate) type Message = heapless::Vec<u8, MESSAGE_SIZE>;

/// "No precise diagnosis": the answer when a response does not fit the interchange.
const SW_NO_PRECISE_DIAGNOSIS: [u8; 2] = [0x6F, 0x00];

/// What the USB task asks of the applet task.
pub(crate) enum Job {
    /// A power event: forget the security state.
    Reset,
    /// Answer the request waiting in the interchange.
    Process,
}

/// The applet task: waits for jobs, answers through the interchange, reports each job done.
pub(crate) fn applet_task<A: Applet>(
    applet: &mut A,
    mut responder: Responder<'_, Message, Message>,
    jobs: &Receiver<Job>,
    done: &Sender<()>,
) {
    for job in jobs {
        match job {
            Job::Reset => applet.reset(),
            Job::Process => {
                if let Some(request) = responder.take_request() {
                    let answer = applet.process(&request);
                    let mut response = Message::new();
                    if response.extend_from_slice(answer).is_err() {
                        response.clear();
                        let _ = response.extend_from_slice(&SW_NO_PRECISE_DIAGNOSIS);
                    }
                    let _ = responder.respond(response);
                }
            }
        }
        if done.send(()).is_err() {
            return;
        }
    }
}

/// The USB task of the device: what a board's main loop does with usb-device and usbd-ccid.
pub(crate) struct Device<'a> {
    usb: UsbDevice<'a, SimBus>,
    ccid: Ccid<'a, 'a, SimBus, MESSAGE_SIZE>,
    jobs: Sender<Job>,
    done: Receiver<()>,
    /// While the applet works: when the next time extension is due.
    extension_due: Option<Instant>,
    time_extension: Duration,
}

impl<'a> Device<'a> {
    /// The device task over its USB stack, talking to the applet task.
    pub(crate) fn new(
        usb: UsbDevice<'a, SimBus>,
        ccid: Ccid<'a, 'a, SimBus, MESSAGE_SIZE>,
        jobs: Sender<Job>,
        done: Receiver<()>,
        time_extension: Duration,
    ) -> Self {
        Self {
            usb,
            ccid,
            jobs,
            done,
            extension_due: None,
            time_extension,
        }
    }

    /// Services the bus once (the USB interrupt).
    pub(crate) fn poll(&mut self) {
        self.usb.poll(&mut [&mut self.ccid]);
    }

    /// One turn of the main loop while the host waits for an IN packet: hands a new command
    /// to the applet, or waits for its answer until the next time extension is due and
    /// sends either. Returns false when the device has nothing under way.
    pub(crate) fn work(&mut self) -> Result<bool> {
        if let Status::ReceivedData(_) = self.ccid.did_start_processing() {
            self.jobs.send(Job::Process).map_err(|_| applet_gone())?;
            self.extension_due = Some(Instant::now() + self.time_extension);
            return Ok(true);
        }
        let Some(due) = self.extension_due else {
            return Ok(false);
        };
        match self
            .done
            .recv_timeout(due.saturating_duration_since(Instant::now()))
        {
            Ok(()) => {
                self.extension_due = None;
                self.ccid.check_for_app_response();
            }
            Err(RecvTimeoutError::Timeout) => {
                self.ccid.send_wait_extension();
                self.extension_due = Some(due + self.time_extension);
            }
            Err(RecvTimeoutError::Disconnected) => return Err(applet_gone()),
        }
        Ok(true)
    }

    /// A power event reached the card: the applet forgets its security state.
    pub(crate) fn reset_applet(&mut self) -> Result<()> {
        self.jobs.send(Job::Reset).map_err(|_| applet_gone())?;
        self.done.recv().map_err(|_| applet_gone())
    }
}

fn applet_gone() -> Error {
    Error::Ccid("the applet task stopped (it panicked)".into())
}
