//! A real `ukey-sim` process in a vpcd reader that this test plays itself, so no pcscd is
//! needed: the test listens, `ukey-sim --vpcd` connects, and they speak vpcd's framing
//! (2-byte big-endian length, then the payload; a 1-byte payload is a control code: `00`
//! power off, `01` power on, `04` ATR request). The process can be SIGKILLed at a chosen
//! instant after a command is sent.

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const POWER_OFF: u8 = 0x00;
const POWER_ON: u8 = 0x01;
const ATR_REQUEST: u8 = 0x04;

/// How long `ukey-sim` may take to open its image (and boot QEMU) and connect.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one answer may take: a key generation on the QEMU board, under load.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);
/// How often a wait for a kill instant looks at the socket.
const POLL: Duration = Duration::from_micros(50);

/// How to start the token.
#[derive(Clone, Debug)]
pub struct Launch {
    /// The `ukey-sim` binary.
    pub binary: PathBuf,
    /// `direct`, `ccid` or `qemu`.
    pub link: &'static str,
    /// The flash image.
    pub image: PathBuf,
    /// The profile a new image is made with.
    pub profile: PathBuf,
    /// The slow flash library to preload, if any.
    pub slow_flash: Option<PathBuf>,
}

/// Where in a command the kill landed, as the host can tell: a process that dies with
/// bytes unread on its socket resets the connection, one that read everything closes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Moment {
    /// Before `ukey-sim` had read the whole command.
    Unread,
    /// After it read the command, before it sent the whole answer: while it worked.
    Working,
    /// After it sent the answer.
    Answered,
}

/// What a command cut by SIGKILL left for the host to see.
#[derive(Debug)]
pub struct Cut {
    /// The answer, if the token sent all of it before it died.
    pub answer: Option<Vec<u8>>,
    /// From sending the command to its answer, if the answer came before the kill.
    pub latency: Option<Duration>,
    /// Where the kill landed.
    pub moment: Moment,
}

/// A running `ukey-sim`, powered on, in the reader this test plays.
pub struct TokenProcess {
    child: Child,
    slow_flash: bool,
    stream: TcpStream,
    received: Vec<u8>,
}

impl TokenProcess {
    /// Starts `ukey-sim` (verbose, its stderr into `log`) against `vpcd`, powers the card on
    /// and checks its ATR.
    pub fn start(vpcd: &TcpListener, launch: &Launch, log: &Path) -> Result<Self, String> {
        vpcd.set_nonblocking(true).map_err(io("vpcd listener"))?;
        while vpcd.accept().is_ok() {}
        let port = vpcd.local_addr().map_err(io("vpcd address"))?.port();
        let stderr = File::create(log).map_err(io("creating the log"))?;
        let mut command = Command::new(&launch.binary);
        if let Some(library) = &launch.slow_flash {
            command.env("LD_PRELOAD", library).env(
                "UKEY_SLOW_FLASH_US",
                super::slow_flash::WRITE_MICROS.to_string(),
            );
        }
        // The profile makes the token; a token already made is refused a profile.
        if !launch.image.exists() {
            command.arg("--profile").arg(&launch.profile);
        }
        let mut child = command
            .args([
                "--vpcd",
                &format!("127.0.0.1:{port}"),
                "--link",
                launch.link,
            ])
            .arg("--image")
            .arg(&launch.image)
            .arg("-v")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(io("starting ukey-sim"))?;
        let stream = match accept(vpcd, &mut child) {
            Ok(stream) => stream,
            Err(error) => {
                let _ = child.kill();
                let _ = child.wait();
                let log = std::fs::read_to_string(log).unwrap_or_default();
                return Err(format!("{error}; its log:\n{log}"));
            }
        };
        stream.set_nodelay(true).map_err(io("TCP_NODELAY"))?;
        let mut token = Self {
            child,
            slow_flash: launch.slow_flash.is_some(),
            stream,
            received: Vec::new(),
        };
        token.power_on()?;
        Ok(token)
    }

    /// Whether it runs on the slow flash.
    pub fn on_slow_flash(&self) -> bool {
        self.slow_flash
    }

    /// Powers the card on, as pcscd does for a client, and checks its ATR.
    pub fn power_on(&mut self) -> Result<(), String> {
        self.send(&[POWER_ON])?;
        self.send(&[ATR_REQUEST])?;
        let atr = self.receive()?;
        if atr != ukey_firmware::ATR {
            return Err(format!("ATR {} is not ukey's", super::apdu::hex(&atr)));
        }
        Ok(())
    }

    /// Powers the card off (the QEMU link saves its store then) and waits until the token
    /// has done so.
    pub fn power_off(&mut self) -> Result<(), String> {
        self.send(&[POWER_OFF])?;
        self.send(&[ATR_REQUEST])?;
        self.receive().map(drop)
    }

    /// Sends one APDU; returns the answer with its status word.
    pub fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, String> {
        self.send(apdu)?;
        self.receive()
    }

    /// Sends one APDU and collects a long answer with GET RESPONSE; returns the data and
    /// the status word.
    pub fn command(&mut self, apdu: &[u8]) -> Result<(Vec<u8>, u16), String> {
        let mut data = Vec::new();
        let mut answer = self.transmit(apdu)?;
        loop {
            let (status, body) = split_status(&answer)?;
            data.extend_from_slice(body);
            if status >> 8 != 0x61 {
                return Ok((data, status));
            }
            answer = self.transmit(&[0x00, 0xC0, 0x00, 0x00, status as u8])?;
        }
    }

    /// Sends `apdu` and SIGKILLs the process `delay` later, whether or not it answered;
    /// then reads whatever answer it sent before it died.
    pub fn send_and_kill(mut self, apdu: &[u8], delay: Duration) -> Result<Cut, String> {
        self.send(apdu)?;
        let sent = Instant::now();
        let deadline = sent + delay;
        if let Some(answer) = self.receive_until(deadline)? {
            let latency = sent.elapsed();
            wait_until(deadline);
            self.end()?;
            return Ok(Cut {
                answer: Some(answer),
                latency: Some(latency),
                moment: Moment::Answered,
            });
        }
        self.end()?;
        let (answer, moment) = self.last_words();
        Ok(Cut {
            answer,
            latency: None,
            moment,
        })
    }

    /// Powers the card off and ends the process.
    pub fn power_off_and_end(mut self) -> Result<(), String> {
        self.power_off()?;
        self.end()
    }

    /// SIGKILL, and the process reaped.
    fn end(&mut self) -> Result<(), String> {
        self.child.kill().map_err(io("SIGKILL"))?;
        self.child.wait().map_err(io("reaping ukey-sim"))?;
        Ok(())
    }

    /// What to say when `ukey-sim` closed the connection unasked: it is given a moment to
    /// exit by itself, so that its last words (the error that ended it) reach its log
    /// before the campaign kills it.
    fn closed(&mut self) -> String {
        let patience = Instant::now() + Duration::from_secs(2);
        while Instant::now() < patience {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    return format!("ukey-sim closed the connection and exited ({status})");
                }
                Ok(None) => thread::sleep(Duration::from_millis(10)),
                Err(_) => break,
            }
        }
        "ukey-sim closed the connection".into()
    }

    fn send(&mut self, payload: &[u8]) -> Result<(), String> {
        let mut message = (payload.len() as u16).to_be_bytes().to_vec();
        message.extend_from_slice(payload);
        self.stream
            .set_nonblocking(false)
            .and_then(|()| self.stream.write_all(&message))
            .map_err(io("sending to ukey-sim"))
    }

    /// The next message, or `None` if it has not come whole by `deadline`. Waits in short
    /// sleeps between reads that do not block: a socket's own read timeout counts in
    /// scheduler ticks and would overshoot a kill instant by milliseconds.
    fn receive_until(&mut self, deadline: Instant) -> Result<Option<Vec<u8>>, String> {
        let mut chunk = [0u8; 8192];
        self.stream
            .set_nonblocking(true)
            .map_err(io("socket options"))?;
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(self.closed()),
                Ok(n) => self.received.extend_from_slice(&chunk[..n]),
                Err(error) if error.kind() == ErrorKind::WouldBlock => {}
                Err(error) => return Err(format!("reading from ukey-sim: {error}")),
            }
            if let Some(message) = self.take_message() {
                return Ok(Some(message));
            }
            match deadline.checked_duration_since(Instant::now()) {
                Some(remaining) => thread::sleep(remaining.min(POLL)),
                None => return Ok(None),
            }
        }
    }

    /// The next message, waiting as long as an answer may take.
    fn receive(&mut self) -> Result<Vec<u8>, String> {
        let mut chunk = [0u8; 8192];
        self.stream
            .set_nonblocking(false)
            .and_then(|()| self.stream.set_read_timeout(Some(ANSWER_TIMEOUT)))
            .map_err(io("socket options"))?;
        loop {
            if let Some(message) = self.take_message() {
                return Ok(message);
            }
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(self.closed()),
                Ok(n) => self.received.extend_from_slice(&chunk[..n]),
                Err(error)
                    if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                {
                    return Err(format!("ukey-sim did not answer within {ANSWER_TIMEOUT:?}"));
                }
                Err(error) => return Err(format!("reading from ukey-sim: {error}")),
            }
        }
    }

    /// After the process died: the answer it had sent in full, if any, and where it died.
    fn last_words(&mut self) -> (Option<Vec<u8>>, Moment) {
        let mut chunk = [0u8; 8192];
        let _ = self.stream.set_nonblocking(false);
        let _ = self.stream.set_read_timeout(Some(Duration::from_secs(5)));
        let closed = loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => break Moment::Working,
                Ok(n) => self.received.extend_from_slice(&chunk[..n]),
                Err(_) => break Moment::Unread,
            }
        };
        match self.take_message() {
            Some(answer) => (Some(answer), Moment::Answered),
            None => (None, closed),
        }
    }

    fn take_message(&mut self) -> Option<Vec<u8>> {
        let (length, rest) = self.received.split_first_chunk::<2>()?;
        let length = usize::from(u16::from_be_bytes(*length));
        let message = rest.get(..length)?.to_vec();
        self.received.drain(..2 + length);
        Some(message)
    }
}

impl Drop for TokenProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits for `child` to connect to `vpcd`.
fn accept(vpcd: &TcpListener, child: &mut Child) -> Result<TcpStream, String> {
    let started = Instant::now();
    loop {
        match vpcd.accept() {
            Ok((stream, _)) => return Ok(stream),
            Err(error) if error.kind() == ErrorKind::WouldBlock => {}
            Err(error) => return Err(format!("accepting ukey-sim: {error}")),
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("ukey-sim ended ({status}) before connecting"));
        }
        if started.elapsed() > START_TIMEOUT {
            return Err(format!("ukey-sim did not connect within {START_TIMEOUT:?}"));
        }
        thread::sleep(Duration::from_millis(2));
    }
}

/// Splits an answer into its status word and data.
pub fn split_status(answer: &[u8]) -> Result<(u16, &[u8]), String> {
    match answer.split_last_chunk::<2>() {
        Some((body, status)) => Ok((u16::from_be_bytes(*status), body)),
        None => Err(format!("a {}-byte answer has no status word", answer.len())),
    }
}

/// Sleeps until `deadline`.
fn wait_until(deadline: Instant) {
    if let Some(remaining) = deadline.checked_duration_since(Instant::now()) {
        thread::sleep(remaining);
    }
}

fn io(what: &'static str) -> impl Fn(std::io::Error) -> String {
    move |error| format!("{what}: {error}")
}
