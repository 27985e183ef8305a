//! The host side of the mps2-an386 board's UART framing (firmware/boards/mps2-an386/README.md):
//! starts `qemu-system-arm` with the board image, UART0 on a TCP connection to this process,
//! and exchanges frames `type | length (u16, big-endian) | payload`.
//!
//! Only `std` and `ukey_firmware` here: the firmware's conformance tests include this file
//! as it is (`#[path]`), to run the same cases over the board without depending on ukey-sim.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use ukey_firmware::Profile;

/// The QEMU program, Debian package `qemu-system-arm`.
pub const QEMU: &str = "qemu-system-arm";
/// Bytes of the board's record store: 16 pages of 4 KiB.
pub const STORE_BYTES: usize = 16 * 4096;
/// Most bytes one `L` frame loads (within the board's 3,409-byte frame limit).
const LOAD_PART: usize = 2048;
/// A page of the store, what one `D` frame reads here.
const PAGE_BYTES: usize = 4096;
/// How long QEMU may take to boot and connect its UART.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// How long one frame may take to be answered: a signature, under load, with margin.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs QEMU (`$@`) until it exits or the pipe on stdin closes (the owner is done with it or
/// died, however it died). It runs in a process group of its own, so a Ctrl-C meant for the
/// owner leaves QEMU to the owner, which saves the store first.
const LIFELINE: &str = r#"
"$@" &
qemu=$!
read -r line
kill "$qemu" 2>/dev/null
wait "$qemu"
"#;

/// Where the board's write-through (`J`) goes: the host's copy of the store, kept in step
/// with the board's flash, one flash operation at a time.
pub trait Journal: Send {
    /// Stores a write of `bytes` at `offset` (NOR rules: bits are only cleared).
    fn write(&mut self, offset: u32, bytes: &[u8]) -> io::Result<()>;

    /// Stores an erase of the pages `from..to`.
    fn erase(&mut self, from: u32, to: u32) -> io::Result<()>;
}

/// A running QEMU with the board image, and the link to its UART0. Dropping it ends QEMU.
pub struct Board {
    qemu: Child,
    lifeline: Option<ChildStdin>,
    uart: TcpStream,
    journal: Option<Box<dyn Journal>>,
}

impl std::fmt::Debug for Board {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Board")
            .field("qemu", &self.qemu)
            .field("uart", &self.uart)
            .field("journal", &self.journal.is_some())
            .finish_non_exhaustive()
    }
}

impl Board {
    /// Starts QEMU with the board image `kernel` and waits until its UART0 connects.
    pub fn start(kernel: &Path) -> io::Result<Self> {
        Self::start_with(kernel, &[])
    }

    /// As [`Board::start`], with more QEMU options (`-icount shift=0` to count instructions).
    pub fn start_with(kernel: &Path, qemu_options: &[&str]) -> io::Result<Self> {
        std::fs::metadata(kernel).map_err(|error| {
            io::Error::new(
                error.kind(),
                format!(
                    "the board image {} is missing ({error}); build it with `cargo build \
                     --release --manifest-path firmware/boards/mps2-an386/Cargo.toml`",
                    kernel.display()
                ),
            )
        })?;
        if !on_path(QEMU) {
            return Err(io::Error::new(
                ErrorKind::NotFound,
                format!(
                    "{QEMU} is not on the PATH; install it with `apt-get install qemu-system-arm`"
                ),
            ));
        }
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let mut qemu = Command::new("sh")
            .args(["-c", LIFELINE, "sh", QEMU])
            .args(["-machine", "mps2-an386", "-cpu", "cortex-m4"])
            .args(["-display", "none", "-monitor", "none", "-nodefaults"])
            .args(["-semihosting-config", "enable=on,target=native"])
            .args(["-serial", &format!("tcp:127.0.0.1:{port},nodelay=on")])
            .args(qemu_options)
            .arg("-kernel")
            .arg(kernel)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|error| io::Error::new(error.kind(), format!("starting {QEMU}: {error}")))?;
        let lifeline = qemu.stdin.take();
        match accept(&listener, &mut qemu) {
            Ok(uart) => Ok(Self {
                qemu,
                lifeline,
                uart,
                journal: None,
            }),
            Err(error) => {
                let _ = qemu.kill();
                let _ = qemu.wait();
                Err(error)
            }
        }
    }

    /// Sends one frame and returns the answer's type and payload.
    pub fn frame(&mut self, kind: u8, payload: &[u8]) -> io::Result<(u8, Vec<u8>)> {
        let len = u16::try_from(payload.len())
            .map_err(|_| io::Error::other(format!("a {}-byte frame", payload.len())))?;
        let mut frame = Vec::with_capacity(3 + payload.len());
        frame.push(kind);
        frame.extend_from_slice(&len.to_be_bytes());
        frame.extend_from_slice(payload);
        self.send_raw(&frame)?;
        self.answer()
    }

    /// Sends bytes as they are, framed or not (tests of the board's resynchronising).
    pub fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.uart.write_all(bytes)
    }

    /// Reads the board's next frame: its type and payload. With a journal, the flash
    /// operations the board sends meanwhile (`W`, `X`) are stored in it and acknowledged
    /// first; one the journal fails to store is refused (the card sees a failed flash
    /// operation, and nothing changes on either side), and the failure is returned once the
    /// board's frame has come.
    pub fn answer(&mut self) -> io::Result<(u8, Vec<u8>)> {
        let mut failed = None;
        loop {
            let (kind, payload) = self.read_frame()?;
            let Some(journal) = self
                .journal
                .as_mut()
                .filter(|_| matches!(kind, b'W' | b'X'))
            else {
                return match failed {
                    Some(error) => Err(error),
                    None => Ok((kind, payload)),
                };
            };
            let stored = store(journal.as_mut(), kind, &payload);
            let refused: &[u8] = if stored.is_ok() { &[] } else { &[1] };
            self.send_raw(&[&[kind, 0, refused.len() as u8][..], refused].concat())?;
            if let Err(error) = stored {
                failed.get_or_insert(error);
            }
        }
    }

    fn read_frame(&mut self) -> io::Result<(u8, Vec<u8>)> {
        let mut head = [0u8; 3];
        self.uart.read_exact(&mut head)?;
        let mut answer = vec![0u8; usize::from(u16::from_be_bytes([head[1], head[2]]))];
        self.uart.read_exact(&mut answer)?;
        Ok((head[0], answer))
    }

    /// Sends one frame; returns the payload of the answer of the same type, or the board's
    /// error in words.
    pub fn call(&mut self, kind: u8, payload: &[u8]) -> io::Result<Vec<u8>> {
        match self.frame(kind, payload)? {
            (answer, data) if answer == kind => Ok(data),
            (b'E', code) => Err(io::Error::other(format!(
                "the board refused a `{}` frame: {}",
                char::from(kind),
                refusal(&code)
            ))),
            (answer, _) => Err(io::Error::other(format!(
                "the board answered a `{}` frame with `{}`",
                char::from(kind),
                char::from(answer)
            ))),
        }
    }

    /// Mixes `seed` (32 to 64 bytes of randomness) into the board's DRBG.
    pub fn seed(&mut self, seed: &[u8]) -> io::Result<()> {
        self.call(b'S', seed).map(drop)
    }

    /// Sets the profile a blank store is made into; only before the first power-on.
    pub fn profile(&mut self, profile: &Profile) -> io::Result<()> {
        self.call(b'F', &encode_profile(profile)).map(drop)
    }

    /// Turns on the board's write-through (`J`), before the first power-on: from then on
    /// every flash write and erase the card makes is stored in `journal` before the board
    /// carries it out.
    pub fn journal(&mut self, journal: Box<dyn Journal>) -> io::Result<()> {
        self.call(b'J', &[])?;
        self.journal = Some(journal);
        Ok(())
    }

    /// Loads a store image (all of it, [`STORE_BYTES`]) into the blank store before the
    /// first power-on. Erased parts are skipped: the store ships erased.
    pub fn load(&mut self, image: &[u8]) -> io::Result<()> {
        if image.len() != STORE_BYTES {
            return Err(io::Error::other(format!(
                "a store image of {} bytes; the board's store holds {STORE_BYTES}",
                image.len()
            )));
        }
        for (index, part) in image.chunks(LOAD_PART).enumerate() {
            if part.iter().all(|&byte| byte == 0xFF) {
                continue;
            }
            let offset = u32::try_from(index * LOAD_PART).map_err(io::Error::other)?;
            let mut payload = offset.to_be_bytes().to_vec();
            payload.extend_from_slice(part);
            self.call(b'L', &payload)?;
        }
        Ok(())
    }

    /// Reads the whole store back.
    pub fn dump(&mut self) -> io::Result<Vec<u8>> {
        let mut image = Vec::with_capacity(STORE_BYTES);
        for page in 0..STORE_BYTES / PAGE_BYTES {
            image.extend_from_slice(&self.dump_page(page)?);
        }
        Ok(image)
    }

    /// Reads page `page` (4 KiB) of the store.
    pub fn dump_page(&mut self, page: usize) -> io::Result<Vec<u8>> {
        let offset = u32::try_from(page * PAGE_BYTES).map_err(io::Error::other)?;
        let mut payload = offset.to_be_bytes().to_vec();
        payload.extend_from_slice(&(PAGE_BYTES as u16).to_be_bytes());
        let part = self.call(b'D', &payload)?;
        if part.len() != PAGE_BYTES {
            return Err(io::Error::other("the board sent a short page of its store"));
        }
        Ok(part)
    }

    /// Powers the card on (the first time, opens it over the store); returns the ATR.
    pub fn power_on(&mut self) -> io::Result<Vec<u8>> {
        self.call(b'P', &[])
    }

    /// Warm reset: the card forgets its security state; returns the ATR.
    pub fn reset(&mut self) -> io::Result<Vec<u8>> {
        self.call(b'R', &[])
    }

    /// Sends one command APDU; returns the response, data then SW1 SW2.
    pub fn apdu(&mut self, command: &[u8]) -> io::Result<Vec<u8>> {
        let response = self.call(b'A', command)?;
        if response.len() < 2 {
            return Err(io::Error::other(
                "the board answered an APDU without a status word",
            ));
        }
        Ok(response)
    }

    /// The stack's high-water marks (`H`): bytes used since the previous reading, the peak
    /// since boot, and the stack region's size.
    pub fn high_water(&mut self) -> io::Result<[u32; 3]> {
        let answer = self.call(b'H', &[])?;
        let words: [[u8; 4]; 3] = answer
            .as_chunks::<4>()
            .0
            .try_into()
            .map_err(|_| io::Error::other("the board's `H` answer is not 12 bytes"))?;
        Ok(words.map(u32::from_be_bytes))
    }

    /// SysTick ticks (25 MHz) the last APDU, or the power-on that opened the card, spent in
    /// the applet (`T`).
    pub fn ticks(&mut self) -> io::Result<u64> {
        let answer = self.call(b'T', &[])?;
        let ticks = answer
            .try_into()
            .map_err(|_| io::Error::other("the board's `T` answer is not 8 bytes"))?;
        Ok(u64::from_be_bytes(ticks))
    }

    /// Ends QEMU through the board (`Q`), and waits for it to exit.
    pub fn quit(mut self) -> io::Result<()> {
        self.call(b'Q', &[])?;
        self.lifeline = None;
        let status = self.qemu.wait()?;
        if !status.success() {
            return Err(io::Error::other(format!("QEMU ended with {status}")));
        }
        Ok(())
    }
}

impl Drop for Board {
    fn drop(&mut self) {
        // Politely first (a killed QEMU complains on stderr), then through the lifeline.
        if self
            .uart
            .set_read_timeout(Some(Duration::from_secs(1)))
            .is_ok()
        {
            let _ = self.frame(b'Q', &[]);
        }
        let _ = self.uart.shutdown(Shutdown::Both);
        self.lifeline = None;
        let _ = self.qemu.wait();
    }
}

/// Whether `program` is an executable file in a directory of `$PATH`.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            std::fs::metadata(dir.join(program))
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
    })
}

/// Waits for QEMU to connect its UART0, or to fail.
fn accept(listener: &TcpListener, qemu: &mut Child) -> io::Result<TcpStream> {
    listener.set_nonblocking(true)?;
    let started = Instant::now();
    loop {
        match listener.accept() {
            Ok((uart, _)) => {
                uart.set_nonblocking(false)?;
                uart.set_nodelay(true)?;
                uart.set_read_timeout(Some(ANSWER_TIMEOUT))?;
                return Ok(uart);
            }
            Err(error) if error.kind() == ErrorKind::WouldBlock => {}
            Err(error) => return Err(error),
        }
        if let Some(status) = qemu.try_wait()? {
            return Err(io::Error::other(format!(
                "{QEMU} exited ({status}) before connecting the board's UART"
            )));
        }
        if started.elapsed() > CONNECT_TIMEOUT {
            return Err(io::Error::new(
                ErrorKind::TimedOut,
                format!("{QEMU} did not connect the board's UART within {CONNECT_TIMEOUT:?}"),
            ));
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Stores one flash operation the board sent: `W` offset (u32 BE) and bytes, or `X` from and
/// to (u32 BE each).
fn store(journal: &mut dyn Journal, kind: u8, payload: &[u8]) -> io::Result<()> {
    let malformed = || io::Error::other(format!("a malformed `{}` frame", char::from(kind)));
    let (offset, rest) = payload.split_first_chunk::<4>().ok_or_else(malformed)?;
    let offset = u32::from_be_bytes(*offset);
    match (kind, rest) {
        (b'W', bytes) => journal.write(offset, bytes),
        (_, &[a, b, c, d]) => journal.erase(offset, u32::from_be_bytes([a, b, c, d])),
        _ => Err(malformed()),
    }
}

/// The board's `E` codes in words.
fn refusal(code: &[u8]) -> String {
    let what = match code {
        [1] => "unknown frame type",
        [2] => "frame too long",
        [3] => "frame cut short",
        [4] => "wrong payload length",
        [5] => "power-on before a seed",
        [6] => "the card is already open",
        [7] => "the card is not powered on",
        [8] => "the store could not be opened (not a token's, or corrupted)",
        [9] => "the profile breaks a rule of the card edge",
        [10] => "outside the store, or onto a part already loaded",
        [11] => "not the acknowledgement of a flash operation",
        _ => "unknown error",
    };
    format!("{what} (E {code:02X?})")
}

/// The payload of an `F` frame: serial (u32, big-endian), PIN tries, PUK tries, management
/// key algorithm, then PIN, PUK, key and label, each after a length byte.
pub fn encode_profile(profile: &Profile) -> Vec<u8> {
    let mut payload = profile.serial.to_be_bytes().to_vec();
    payload.extend_from_slice(&[
        profile.pin_tries,
        profile.puk_tries,
        profile.management_key.algorithm.id(),
    ]);
    for field in [
        &profile.pin[..],
        &profile.puk[..],
        &profile.management_key.key[..],
        &profile.label[..],
    ] {
        // Every field is at most 32 bytes (heapless capacities).
        payload.push(field.len() as u8);
        payload.extend_from_slice(field);
    }
    payload
}
