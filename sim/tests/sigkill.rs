//! A SIGKILL of `ukey-sim` is a power cut at a flash-operation boundary, on every link: a
//! wrong VERIFY answered `63 C2`, then `kill -9` while the client still holds the card, then a
//! restart on the same image: the try stays spent (no free PIN guesses).
//!
//! libpcsclite reads `PCSCLITE_CSOCK_NAME` once per process, so this binary holds a single
//! test with a single testbed.

use std::ffi::CString;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use pcsc::{Card, Context, Protocols, Scope, ShareMode};
use ukey_sim::{Testbed, vpcd};

#[path = "support/temp_dir.rs"]
mod temp_dir;

use temp_dir::TempDir;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const LINKS: [&str; 3] = ["direct", "ccid", "qemu"];
const SELECT_PIV: &[u8] = &[0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08];
const WRONG_PIN: &[u8] = &[
    0x00, 0x20, 0x00, 0x80, 0x08, b'6', b'5', b'4', b'3', b'2', b'1', 0xFF, 0xFF,
];
const PIN_STATUS: &[u8] = &[0x00, 0x20, 0x00, 0x80];
const WAIT: Duration = Duration::from_secs(20);

/// `ukey-sim` in the background with its trace (`-v`) collected; SIGKILLed on drop.
struct Simulator {
    child: Child,
    trace: Arc<Mutex<String>>,
}

impl Simulator {
    fn start(vpcd: &str, link: &str, image: &Path) -> std::io::Result<Self> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ukey-sim"))
            .args(["--vpcd", vpcd, "--link", link, "-v"])
            .arg("--image")
            .arg(image)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let trace = Arc::new(Mutex::new(String::new()));
        if let Some(stderr) = child.stderr.take() {
            let trace = trace.clone();
            thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Ok(mut text) = trace.lock() {
                        text.push_str(&line);
                        text.push('\n');
                    }
                }
            });
        }
        Ok(Self { child, trace })
    }

    fn trace(&self) -> String {
        self.trace.lock().map(|t| t.clone()).unwrap_or_default()
    }

    /// Waits until pcscd has powered the card on, as it does when it finds a card inserted.
    fn wait_powered(&mut self) -> Result<(), String> {
        let started = Instant::now();
        while started.elapsed() < WAIT {
            if self.trace().contains("ukey-sim: power on") {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("ukey-sim ended ({status}):\n{}", self.trace()));
            }
            thread::sleep(Duration::from_millis(20));
        }
        Err(format!(
            "pcscd did not power the card on:\n{}",
            self.trace()
        ))
    }

    /// `kill -9`, and waits for the process to be gone.
    fn kill(mut self) -> std::io::Result<()> {
        self.child.kill()?;
        self.child.wait().map(drop)
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Connects to the card in `reader`, retrying while pcscd has not caught up with it.
fn connect(context: &Context, reader: &CString) -> Result<Card, String> {
    let started = Instant::now();
    loop {
        match context.connect(reader, ShareMode::Shared, Protocols::ANY) {
            Ok(card) => return Ok(card),
            Err(error) if started.elapsed() > WAIT => return Err(format!("connecting: {error}")),
            Err(_) => thread::sleep(Duration::from_millis(50)),
        }
    }
}

fn transmit(card: &Card, command: &[u8]) -> Result<Vec<u8>, String> {
    let mut buffer = [0u8; 300];
    card.transmit(command, &mut buffer)
        .map(<[u8]>::to_vec)
        .map_err(|error| format!("{command:02X?}: {error}"))
}

#[test]
fn a_killed_simulator_keeps_every_try_spent_on_every_link() -> TestResult {
    let dir = TempDir::new("sigkill")?;
    let bed = Testbed::start(1)?;
    let vpcd = bed.pcscd().vpcd_addr(0).ok_or("no slot 0")?;
    let reader = CString::new(bed.reader(0)?)?;
    // SAFETY: set before any PC/SC call, while no other thread of this binary reads the
    // environment (this is its only test).
    unsafe { std::env::set_var("PCSCLITE_CSOCK_NAME", bed.socket()) };
    let context = Context::establish(Scope::User)?;
    for link in LINKS {
        let image = dir.path(&format!("{link}.img"));
        let mut sim = Simulator::start(&vpcd, link, &image)?;
        sim.wait_powered()?;
        let card = connect(&context, &reader)?;
        transmit(&card, SELECT_PIV)?;
        assert_eq!(transmit(&card, WRONG_PIN)?, [0x63, 0xC2], "{link}");
        sim.kill()?;
        drop(card);
        // pcscd shows no card once vpcd has polled the empty slot.
        vpcd::wait_polled(&vpcd, WAIT)?;

        let mut sim = Simulator::start(&vpcd, link, &image)?;
        sim.wait_powered()?;
        let card = connect(&context, &reader)?;
        transmit(&card, SELECT_PIV)?;
        assert_eq!(
            transmit(&card, PIN_STATUS)?,
            [0x63, 0xC2],
            "{link}: the SIGKILL gave a try back\n{}",
            sim.trace()
        );
        drop(card);
        sim.kill()?;
    }
    Ok(())
}
