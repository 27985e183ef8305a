//! The vpcd link: the token plays the card in a reader of vsmartcard's vpcd driver inside
//! pcscd.
//!
//! vpcd listens (port 35963 for slot 0, 35964 for slot 1 by default) and the card connects
//! to it. Every message is a 2-byte big-endian length and then the payload. A 1-byte
//! payload is a control code: `00` power off, `01` power on, `02` reset, `04` ATR request
//! (answered with the framed ATR; pcscd polls presence with it, and reads the ATR with it after
//! powering the card on). Any other payload is a command APDU, answered with the framed
//! response.
//!
//! **A 1-byte APDU.** vpcd sends a client's 1-byte APDU exactly as it sends a control code,
//! and then waits for an answer, holding the slot's lock so that nothing else reaches the
//! card meanwhile; after a control code it waits for nothing. The two are told apart by what
//! comes next:
//!
//! - a byte that is no control code (`A2`) is an APDU: the card answers it at once (the
//!   applet answers `67 00`, wrong length);
//! - `04` gets the ATR, whether pcscd asked or a client sent it as an APDU: harmless, nothing
//!   changes;
//! - `00`, `01` and `02` are held back until the next message arrives, and then carried out
//!   before it. A real control code is always followed soon: pcscd reads the ATR right after
//!   powering on or resetting, checks presence right after powering off (both measured at
//!   0.2 ms), and polls presence every 400 ms anyway. If nothing comes within
//!   [`CONTROL_CODE_BOUND`] (2 s), vpcd is blocked waiting for an answer, so the byte was a
//!   client's APDU: the applet answers it and the card is neither powered off nor reset.
//!
//! So a 1-byte APDU of `00`, `01` or `02` takes 2 s to be answered; it never jams the reader
//! and never changes the card's state, and the stream never loses its place.
//!
//! vpcd writes the length and the body of each message in two writes without TCP_NODELAY,
//! so a card that delays its ACKs stalls every APDU for about 48 ms. The token sets
//! TCP_QUICKACK before each read (and TCP_NODELAY for its own writes), which brings a
//! no-crypto APDU through pcscd down to about 0.1 ms.

use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use socket2::SockRef;

use crate::control::Control;
use crate::error::{Error, Result};
use crate::link::Link;

/// Where vpcd listens for slot 0 of its first reader by default.
pub const DEFAULT_ADDR: &str = "127.0.0.1:35963";

const CTRL_OFF: u8 = 0x00;
const CTRL_ON: u8 = 0x01;
const CTRL_RESET: u8 = 0x02;
const CTRL_ATR: u8 = 0x04;

const FIRST_RETRY: Duration = Duration::from_millis(20);
const LAST_RETRY: Duration = Duration::from_secs(1);

/// Plays the card behind `link` in the vpcd reader at `addr` until `control` is stopped.
///
/// Waits for vpcd while it is not listening and reconnects, with backoff, when the
/// connection drops (pcscd restarted); a dropped connection powers the card off. When
/// stopped it closes the connection, so the reader shows no card. Fails on an address that
/// does not resolve or a link that breaks.
pub fn run<L: Link>(link: &mut L, addr: &str, control: &Control, verbose: bool) -> Result<()> {
    let mut retry = FIRST_RETRY;
    let mut waiting_reported = false;
    while !control.is_stopped() {
        let stream = match connect(addr) {
            Ok(stream) => stream,
            Err(error) if is_transient(&error) => {
                if verbose && !waiting_reported {
                    eprintln!("ukey-sim: waiting for vpcd at {addr} ({error})");
                    waiting_reported = true;
                }
                control.sleep(retry);
                retry = (retry * 2).min(LAST_RETRY);
                continue;
            }
            Err(error) => {
                return Err(Error::io(format!("connecting to vpcd at {addr}"), error));
            }
        };
        retry = FIRST_RETRY;
        waiting_reported = false;
        if verbose {
            eprintln!("ukey-sim: card inserted in the vpcd reader at {addr}");
        }
        let served = serve(link, &stream, control);
        control.unwatch();
        let powered_off = link.power_off();
        served?;
        powered_off?;
        if verbose && !control.is_stopped() {
            eprintln!("ukey-sim: vpcd at {addr} closed the connection");
        }
    }
    Ok(())
}

/// After a token left the slot at `addr`: returns once vpcd has polled the slot again,
/// which it does only after it has found the token gone, so pcscd then shows no card.
///
/// It connects a probe in the token's place and waits for vpcd's first message to it; the
/// probe closes without answering, so vpcd finds no card there either. Returns at once if
/// vpcd is not listening (pcscd stopped).
pub fn wait_polled(addr: &str, timeout: Duration) -> Result<()> {
    let probe = match TcpStream::connect(addr) {
        Ok(probe) => probe,
        Err(error) if is_transient(&error) => return Ok(()),
        Err(error) => return Err(Error::io(format!("connecting to vpcd at {addr}"), error)),
    };
    probe
        .set_read_timeout(Some(timeout))
        .map_err(|error| Error::io("setting a read timeout", error))?;
    let mut byte = [0u8; 1];
    match (&probe).read(&mut byte) {
        Ok(_) => Ok(()),
        Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            Err(Error::Vpcd(format!(
                "vpcd at {addr} did not poll the slot within {timeout:?}"
            )))
        }
        Err(_) => Ok(()),
    }
}

fn connect(addr: &str) -> io::Result<TcpStream> {
    let stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Errors after which vpcd may come (back): pcscd not started yet, or restarting.
fn is_transient(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::ConnectionRefused
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::TimedOut
    )
}

/// How long a power control code (`00`, `01`, `02`) waits for the next message before it is
/// taken for a client's 1-byte APDU: five of pcscd's 400 ms presence polls, and ten thousand
/// times the 0.2 ms after which pcscd follows a real one.
pub const CONTROL_CODE_BOUND: Duration = Duration::from_secs(2);

/// Serves one connection until vpcd closes it or a stop is requested. Socket errors end
/// the connection (the caller reconnects); only a failing link is an error.
fn serve<L: Link>(link: &mut L, stream: &TcpStream, control: &Control) -> Result<()> {
    let Ok(watched) = stream.try_clone() else {
        return Ok(());
    };
    control.watch(watched);
    let mut stream = stream;
    let mut powered = false;
    // A power control code held back until the next message shows it was one.
    let mut held: Option<u8> = None;
    loop {
        if let Some(code) = held {
            match next_message_within(stream, CONTROL_CODE_BOUND) {
                Ok(true) => {}
                Ok(false) => {
                    // vpcd waits for an answer: a client sent this byte as an APDU.
                    held = None;
                    let answer = link.transmit(&[code])?;
                    if write_message(&mut stream, &answer).is_err() {
                        return Ok(());
                    }
                    continue;
                }
                Err(_) => return Ok(()),
            }
        }
        let message = read_message(&mut stream);
        if let Some(code) = held.take() {
            powered = power(link, code, powered)?;
        }
        let Ok(Some(message)) = message else {
            return Ok(());
        };
        let answer = match message.as_slice() {
            [code @ (CTRL_OFF | CTRL_ON | CTRL_RESET)] => {
                held = Some(*code);
                continue;
            }
            [CTRL_ATR] => link.atr()?,
            command => link.transmit(command)?,
        };
        if answer.len() > usize::from(u16::MAX) {
            return Err(Error::Vpcd(format!(
                "a {}-byte answer does not fit a vpcd message",
                answer.len()
            )));
        }
        if write_message(&mut stream, &answer).is_err() {
            return Ok(());
        }
        if powered && message == [CTRL_ATR] {
            control.set_seen(true);
        }
    }
}

/// Serves one connection whose vpcd end is `stream` until it closes: what the
/// `vpcd_framing` fuzz target drives with arbitrary bytes.
#[cfg(feature = "fuzzing")]
pub fn serve_connection<L: Link>(link: &mut L, stream: &TcpStream) -> Result<()> {
    serve(link, stream, &Control::new())
}

/// Carries out a power control code; gives whether the card is powered on since.
fn power<L: Link>(link: &mut L, code: u8, powered: bool) -> Result<bool> {
    match code {
        CTRL_OFF => link.power_off().map(|()| powered),
        CTRL_ON => link.power_on().map(|_| true),
        _ => link.reset().map(|_| powered),
    }
}

/// Waits up to `bound` for the start of vpcd's next message (or the end of the
/// connection); `false` if nothing came.
fn next_message_within(stream: &TcpStream, bound: Duration) -> io::Result<bool> {
    stream.set_read_timeout(Some(bound))?;
    let mut byte = [0u8; 1];
    let peeked = stream.peek(&mut byte);
    stream.set_read_timeout(None)?;
    match peeked {
        Ok(_) => Ok(true),
        Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            Ok(false)
        }
        Err(error) => Err(error),
    }
}

/// Reads one message; `None` when vpcd closed the connection between messages.
fn read_message(stream: &mut &TcpStream) -> io::Result<Option<Vec<u8>>> {
    let mut length = [0u8; 2];
    quickack(stream);
    let first = stream.read(&mut length)?;
    if first == 0 {
        return Ok(None);
    }
    if first == 1 {
        quickack(stream);
        stream.read_exact(&mut length[1..])?;
    }
    let mut message = vec![0u8; usize::from(u16::from_be_bytes(length))];
    let mut filled = 0;
    while filled < message.len() {
        quickack(stream);
        match stream.read(&mut message[filled..])? {
            0 => return Err(ErrorKind::UnexpectedEof.into()),
            n => filled += n,
        }
    }
    Ok(Some(message))
}

/// Acknowledges at once whatever arrives next, so vpcd's second write is not held back by
/// Nagle's algorithm waiting for our delayed ACK. Linux clears the flag by itself, hence
/// before every read.
fn quickack(stream: &TcpStream) {
    let _ = SockRef::from(stream).set_tcp_quickack(true);
}

/// Writes one message in a single write.
fn write_message(stream: &mut &TcpStream, payload: &[u8]) -> io::Result<()> {
    let mut message = Vec::with_capacity(payload.len() + 2);
    message.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    message.extend_from_slice(payload);
    stream.write_all(&message)
}
