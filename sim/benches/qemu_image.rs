//! What keeping the QEMU board's store in an image file costs, in wall time per round trip
//! through `--link qemu` in process (no pcscd): the same operations on a token without an image
//! and on one with an image, printed side by side with their ratio.
//!
//! ```sh
//! cargo build --release --manifest-path firmware/boards/mps2-an386/Cargo.toml
//! cargo bench -p ukey-sim --bench qemu_image
//! ```
//!
//! With an image, every flash write and erase the card makes crosses the UART to the host and
//! reaches the file before the board goes on; a read-only command crosses nothing more.

use std::error::Error;
use std::time::{Duration, Instant};

use ukey_sim::{Link, LinkKind, Token, TokenOptions};

const SELECT_PIV: &[u8] = &[0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08];
const GET_VERSION: &[u8] = &[0x00, 0xFD, 0x00, 0x00];
const RIGHT_PIN: &[u8] = &[
    0x00, 0x20, 0x00, 0x80, 0x08, b'1', b'2', b'3', b'4', b'5', b'6', 0xFF, 0xFF,
];
const WRONG_PIN: &[u8] = &[
    0x00, 0x20, 0x00, 0x80, 0x08, b'6', b'5', b'4', b'3', b'2', b'1', 0xFF, 0xFF,
];
const ROUNDS: u32 = 100;

/// Mean wall time of each measured operation, in the order of [`OPERATIONS`].
type Times = [Duration; 4];

const OPERATIONS: [&str; 4] = [
    "GET VERSION (reads only)",
    "VERIFY PIN, wrong (writes the counter)",
    "VERIFY PIN, right (writes the counter)",
    "power off, then on",
];

/// Runs `operation` [`ROUNDS`] times; the mean time of one.
fn mean(mut operation: impl FnMut() -> ukey_sim::Result<()>) -> ukey_sim::Result<Duration> {
    let started = Instant::now();
    for _ in 0..ROUNDS {
        operation()?;
    }
    Ok(started.elapsed() / ROUNDS)
}

fn expect(token: &mut Token, command: &[u8], answer: &[u8]) -> ukey_sim::Result<()> {
    let got = token.transmit(command)?;
    if got != answer {
        return Err(ukey_sim::Error::Vpcd(format!(
            "{command:02X?} answered {got:02X?}, not {answer:02X?}"
        )));
    }
    Ok(())
}

fn measure(image: Option<std::path::PathBuf>) -> Result<Times, Box<dyn Error>> {
    let mut token = Token::open(&TokenOptions {
        link: LinkKind::Qemu,
        image,
        seed: Some(1),
        ..TokenOptions::default()
    })?;
    token.power_on()?;
    token.transmit(SELECT_PIV)?;
    let version = mean(|| token.transmit(GET_VERSION).map(drop))?;
    let mut wrong = Duration::ZERO;
    let mut right = Duration::ZERO;
    for _ in 0..ROUNDS {
        let started = Instant::now();
        expect(&mut token, WRONG_PIN, &[0x63, 0xC2])?;
        wrong += started.elapsed();
        let started = Instant::now();
        expect(&mut token, RIGHT_PIN, &[0x90, 0x00])?;
        right += started.elapsed();
    }
    let cycle = mean(|| token.power_off().and_then(|()| token.power_on().map(drop)))?;
    token.close()?;
    Ok([version, wrong / ROUNDS, right / ROUNDS, cycle])
}

fn main() -> Result<(), Box<dyn Error>> {
    if std::env::args().any(|arg| arg == "--list") {
        return Ok(());
    }
    let dir = std::env::temp_dir().join(format!("ukey-qemu-image-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let in_memory = measure(None);
    let in_file = measure(Some(dir.join("token.img")));
    std::fs::remove_dir_all(&dir)?;
    let (in_memory, in_file) = (in_memory?, in_file?);
    println!("| operation, {ROUNDS} rounds | no image | image file | ratio |");
    println!("|---|---|---|---|");
    for (name, (memory, file)) in OPERATIONS.iter().zip(in_memory.iter().zip(&in_file)) {
        println!(
            "| {name} | {memory:.2?} | {file:.2?} | {:.2} |",
            file.as_secs_f64() / memory.as_secs_f64()
        );
    }
    Ok(())
}
