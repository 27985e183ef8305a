//! The vpcd link against a fake vpcd in process: framing, control codes told apart from
//! 1-byte APDUs, reconnection and a clean stop.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use ukey_sim::{Applet, Control, DirectLink, vpcd};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Answers every command with its bytes reversed and 90 00; counts resets.
struct Mirror {
    resets: Arc<AtomicUsize>,
    answer: Vec<u8>,
}

impl Applet for Mirror {
    fn reset(&mut self) {
        self.resets.fetch_add(1, Ordering::SeqCst);
    }

    fn process(&mut self, command: &[u8]) -> &[u8] {
        self.answer = command.iter().rev().copied().collect();
        self.answer.extend_from_slice(&[0x90, 0x00]);
        &self.answer
    }
}

/// A token playing a `Mirror` against our fake vpcd; stopped and joined on drop.
struct Player {
    control: Control,
    thread: Option<JoinHandle<ukey_sim::Result<()>>>,
    resets: Arc<AtomicUsize>,
}

impl Player {
    fn start(addr: String) -> Self {
        let resets = Arc::new(AtomicUsize::new(0));
        let mut link = DirectLink::new(Mirror {
            resets: resets.clone(),
            answer: Vec::new(),
        });
        let control = Control::new();
        let handle = control.clone();
        let thread = thread::spawn(move || vpcd::run(&mut link, &addr, &handle, false));
        Self {
            control,
            thread: Some(thread),
            resets,
        }
    }

    fn stop(mut self) -> ukey_sim::Result<()> {
        self.control.stop();
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            _ => Err(ukey_sim::Error::Vpcd("player thread panicked".into())),
        }
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        self.control.stop();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn send(stream: &mut TcpStream, payload: &[u8]) -> std::io::Result<()> {
    stream.write_all(&(payload.len() as u16).to_be_bytes())?;
    stream.write_all(payload)
}

fn receive(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut length = [0u8; 2];
    stream.read_exact(&mut length)?;
    let mut payload = vec![0; usize::from(u16::from_be_bytes(length))];
    stream.read_exact(&mut payload)?;
    Ok(payload)
}

fn accept(listener: &TcpListener) -> std::io::Result<TcpStream> {
    let (stream, _) = listener.accept()?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    Ok(stream)
}

#[test]
fn control_codes_and_apdus_are_framed_as_vpcd_expects() -> TestResult {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let player = Player::start(listener.local_addr()?.to_string());
    let mut vpcd = accept(&listener)?;

    send(&mut vpcd, &[0x04])?;
    assert_eq!(receive(&mut vpcd)?, ukey_firmware::ATR);

    for code in [0x00, 0x01, 0x02] {
        send(&mut vpcd, &[code])?;
    }
    send(&mut vpcd, &[0x04])?;
    assert_eq!(receive(&mut vpcd)?, ukey_firmware::ATR);
    // off, on, and reset (off then on) each reset the applet once or twice; none is lost.
    assert_eq!(player.resets.load(Ordering::SeqCst), 4);

    send(&mut vpcd, &[0x00, 0xA4, 0x04, 0x00])?;
    assert_eq!(receive(&mut vpcd)?, [0x00, 0x04, 0xA4, 0x00, 0x90, 0x00]);

    // vpcd writes the length and the body separately; here even byte by byte.
    let apdu: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
    let mut framed = (apdu.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&apdu);
    for byte in framed {
        vpcd.write_all(&[byte])?;
        vpcd.flush()?;
    }
    let mut expected: Vec<u8> = apdu.iter().rev().copied().collect();
    expected.extend_from_slice(&[0x90, 0x00]);
    assert_eq!(receive(&mut vpcd)?, expected);

    // An extended APDU far longer than one TCP segment.
    let long = vec![0x5A; 5000];
    send(&mut vpcd, &long)?;
    assert_eq!(receive(&mut vpcd)?.len(), 5002);

    // A 1-byte payload that is no control code is a client's APDU, answered at once.
    send(&mut vpcd, &[0x07])?;
    assert_eq!(receive(&mut vpcd)?, [0x07, 0x90, 0x00]);
    send(&mut vpcd, &[0x04])?;
    assert_eq!(receive(&mut vpcd)?, ukey_firmware::ATR);

    player.stop()?;
    let mut rest = Vec::new();
    assert_eq!(
        vpcd.read_to_end(&mut rest)?,
        0,
        "the token closes the connection"
    );
    Ok(())
}

#[test]
fn a_power_code_that_nothing_follows_was_a_clients_apdu_and_is_answered() -> TestResult {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let player = Player::start(listener.local_addr()?.to_string());
    let mut vpcd = accept(&listener)?;
    send(&mut vpcd, &[0x01])?;
    send(&mut vpcd, &[0x04])?;
    assert_eq!(receive(&mut vpcd)?, ukey_firmware::ATR);
    let resets = player.resets.load(Ordering::SeqCst);

    for code in [0x00, 0x01, 0x02] {
        // vpcd sends the byte and waits for an answer, as it does for a client's APDU.
        let started = Instant::now();
        send(&mut vpcd, &[code])?;
        assert_eq!(receive(&mut vpcd)?, [code, 0x90, 0x00], "{code:02X}");
        assert!(started.elapsed() >= vpcd::CONTROL_CODE_BOUND, "{code:02X}");
    }
    assert_eq!(
        player.resets.load(Ordering::SeqCst),
        resets,
        "an APDU powered the card off or reset it"
    );
    // The card still works, and a real power code, followed at once, is carried out.
    send(&mut vpcd, &[0x11, 0x22])?;
    assert_eq!(receive(&mut vpcd)?, [0x22, 0x11, 0x90, 0x00]);
    send(&mut vpcd, &[0x02])?;
    send(&mut vpcd, &[0x04])?;
    assert_eq!(receive(&mut vpcd)?, ukey_firmware::ATR);
    assert!(player.resets.load(Ordering::SeqCst) > resets);
    player.stop()?;
    Ok(())
}

#[test]
fn the_token_reconnects_when_vpcd_goes_away_and_comes_back() -> TestResult {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let player = Player::start(addr.to_string());

    let mut first = accept(&listener)?;
    send(&mut first, &[0x01])?;
    send(&mut first, &[0x04])?;
    assert_eq!(receive(&mut first)?, ukey_firmware::ATR);
    let resets = player.resets.load(Ordering::SeqCst);

    // pcscd restarts: the connection drops and nothing listens for a while.
    drop(first);
    drop(listener);
    thread::sleep(Duration::from_millis(300));
    let listener = TcpListener::bind(addr)?;
    let mut second = accept(&listener)?;
    assert!(
        player.resets.load(Ordering::SeqCst) > resets,
        "a dropped connection powers the card off"
    );
    send(&mut second, &[0x11, 0x22])?;
    assert_eq!(receive(&mut second)?, [0x22, 0x11, 0x90, 0x00]);
    player.stop()?;
    Ok(())
}

#[test]
fn a_token_waiting_for_vpcd_stops_at_once() -> TestResult {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let player = Player::start(format!("127.0.0.1:{port}"));
    thread::sleep(Duration::from_millis(100));
    let started = std::time::Instant::now();
    player.stop()?;
    assert!(started.elapsed() < Duration::from_secs(2));
    Ok(())
}

#[test]
fn an_address_that_does_not_resolve_is_an_error() {
    let mut link = DirectLink::new(Mirror {
        resets: Arc::default(),
        answer: Vec::new(),
    });
    let result = vpcd::run(&mut link, "no-such-host.invalid:1", &Control::new(), false);
    assert!(
        matches!(&result, Err(ukey_sim::Error::Io { what, .. }) if what.contains("vpcd")),
        "{result:?}"
    );
}
