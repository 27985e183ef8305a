//! What the applet costs on a Cortex-M4: instructions and stack per operation on the QEMU
//! mps2-an386 board, printed as a table.
//!
//! ```sh
//! cargo build --release --manifest-path firmware/boards/mps2-an386/Cargo.toml
//! cargo bench -p ukey-sim --bench qemu_board
//! ```
//!
//! QEMU runs with `-icount shift=0`: one instruction per nanosecond of virtual time, which
//! the board's SysTick counts at 25 MHz, so one tick is 40 instructions. The board reports the
//! ticks each APDU spent in `Card::process` (`T`) and the stack's high-water mark painted since
//! the previous reading (`H`); the link itself is not counted. These are instructions, not
//! Cortex-M4 cycles.

use std::error::Error;
use std::io;

use des::TdesEde3;
use des::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use ukey_sim::qemu::{Board, kernel_path};

/// Instructions per SysTick tick under `-icount shift=0` at the board's 25 MHz.
const INSTRUCTIONS_PER_TICK: u64 = 40;
/// The PIV default management key.
const MANAGEMENT_KEY: [u8; 24] = [
    1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
];

/// One measured operation.
struct Cost {
    name: &'static str,
    instructions: u64,
    stack: u32,
}

/// The board and the costs measured so far.
struct Bench {
    board: Board,
    costs: Vec<Cost>,
}

impl Bench {
    /// Sends `apdu`, checks its status word, records its cost; returns the response data.
    fn measure(&mut self, name: &'static str, apdu: &[u8], sw: u16) -> io::Result<Vec<u8>> {
        self.board.high_water()?;
        let mut response = self.board.apdu(apdu)?;
        let instructions = self.board.ticks()? * INSTRUCTIONS_PER_TICK;
        let [stack, ..] = self.board.high_water()?;
        let got = response.split_off(response.len() - 2);
        if got != sw.to_be_bytes() {
            return Err(io::Error::other(format!(
                "{name}: status {got:02X?}, expected {sw:04X}"
            )));
        }
        self.costs.push(Cost {
            name,
            instructions,
            stack,
        });
        Ok(response)
    }
}

/// A short APDU from its header and data.
fn apdu(header: [u8; 4], data: &[u8]) -> Vec<u8> {
    let mut apdu = header.to_vec();
    apdu.push(data.len() as u8);
    apdu.extend_from_slice(data);
    apdu
}

/// A PIN padded with FF to 8 bytes.
fn pin(digits: &[u8]) -> Vec<u8> {
    let mut pin = digits.to_vec();
    pin.resize(8, 0xFF);
    pin
}

fn main() -> Result<(), Box<dyn Error>> {
    if std::env::args().any(|arg| arg == "--list") {
        return Ok(());
    }
    let mut board = Board::start_with(&kernel_path(None), &["-icount", "shift=0"])?;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed)?;
    board.seed(&seed)?;
    board.high_water()?;
    board.power_on()?;
    let open = Cost {
        name: "power-on: open a blank store",
        instructions: board.ticks()? * INSTRUCTIONS_PER_TICK,
        stack: board.high_water()?[0],
    };
    let mut bench = Bench {
        board,
        costs: vec![open],
    };

    bench.measure(
        "SELECT",
        &apdu([0, 0xA4, 4, 0], &[0xA0, 0, 0, 3, 8]),
        0x9000,
    )?;
    bench.measure(
        "VERIFY PIN, wrong",
        &apdu([0, 0x20, 0, 0x80], &pin(b"654321")),
        0x63C2,
    )?;
    bench.measure(
        "VERIFY PIN, right",
        &apdu([0, 0x20, 0, 0x80], &pin(b"123456")),
        0x9000,
    )?;

    let tdes = TdesEde3::new_from_slice(&MANAGEMENT_KEY)?;
    let witness = bench
        .board
        .apdu(&apdu([0, 0x87, 3, 0x9B], &[0x7C, 2, 0x80, 0]))?;
    let mut plain: [u8; 8] = witness
        .get(4..12)
        .and_then(|w| w.try_into().ok())
        .ok_or("no witness")?;
    tdes.decrypt_block((&mut plain).into());
    let mut body = vec![0x7C, 20, 0x80, 8];
    body.extend_from_slice(&plain);
    body.extend_from_slice(&[0x81, 8, 1, 2, 3, 4, 5, 6, 7, 8]);
    let answer = bench.measure(
        "management key 3DES authentication",
        &apdu([0, 0x87, 3, 0x9B], &body),
        0x9000,
    )?;
    let mut expected = [1, 2, 3, 4, 5, 6, 7, 8];
    tdes.encrypt_block((&mut expected).into());
    if answer.get(4..) != Some(&expected[..]) {
        return Err("the card did not prove the management key".into());
    }

    let template = |alg| [0xAC, 3, 0x80, 1, alg];
    bench.measure(
        "GENERATE P-256",
        &apdu([0, 0x47, 0, 0x9A], &template(0x11)),
        0x9000,
    )?;
    bench.measure(
        "GENERATE SM2",
        &apdu([0, 0x47, 0, 0x9C], &template(0x54)),
        0x9000,
    )?;
    let mut sign = vec![0x7C, 0x24, 0x82, 0, 0x81, 0x20];
    sign.extend_from_slice(&[0x5A; 32]);
    bench.measure(
        "GENERAL AUTHENTICATE, P-256 sign",
        &apdu([0, 0x87, 0x11, 0x9A], &sign),
        0x9000,
    )?;
    bench.measure(
        "VERIFY PIN (9C: before every signature)",
        &apdu([0, 0x20, 0, 0x80], &pin(b"123456")),
        0x9000,
    )?;
    bench.measure(
        "GENERAL AUTHENTICATE, SM2 sign",
        &apdu([0, 0x87, 0x54, 0x9C], &sign),
        0x9000,
    )?;

    let mut object = vec![0x5C, 3, 0x5F, 0xC1, 0x05, 0x53, 0x82, 0x04, 0x00];
    object.extend((0..1024u32).map(|i| (i * 7 + 3) as u8));
    let mut put = vec![0, 0xDB, 0x3F, 0xFF, 0];
    put.extend_from_slice(&(object.len() as u16).to_be_bytes());
    put.extend_from_slice(&object);
    bench.measure("PUT DATA, 1 KiB certificate (extended APDU)", &put, 0x9000)?;

    let [_, peak, size] = bench.board.high_water()?;
    bench.board.quit()?;
    println!(
        "{:44} {:>14} {:>12}",
        "operation", "instructions", "stack bytes"
    );
    for cost in &bench.costs {
        println!(
            "{:44} {:>14} {:>12}",
            cost.name, cost.instructions, cost.stack
        );
    }
    println!("stack peak since boot: {peak} bytes of a {size}-byte stack region");
    Ok(())
}
