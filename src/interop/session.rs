//! A session: one fresh token alone in a private pcscd, the client that drives it, and the
//! token's trace.
//!
//! Each session has a pcscd of its own (about 0.1 s to start). Sessions sharing one pcscd
//! saw each other's tokens: OpenSC's PKCS#11 module reads every token in every reader, so
//! one session's trace got another client's APDUs, and OpenSC 0.23 deadlocked in
//! `C_GetTokenInfo` (it returns from `sc_unlock` holding the card mutex, OpenSC issue
//! #2707, fixed in 0.24) when another session's token was pulled out as it read it.

use std::ffi::OsStr;
use std::fmt::Display;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use ukey_firmware::Profile;
use ukey_sim::{LinkKind, Testbed, TokenOptions, TraceLog};

use super::failure::Failure;
use super::scratch::Scratch;
use super::step::{self, Ran};

/// The serial number of the first token; each session's token gets the next one, so that
/// each test's token is told apart in URIs and failure messages.
const FIRST_SERIAL: u32 = 20_000_001;

static NEXT_SERIAL: AtomicU32 = AtomicU32::new(FIRST_SERIAL);

/// One fresh token (standard profile: PIN `123456`, PUK `12345678`, the default management
/// key, 3 tries each) in a private pcscd, driven by one client. Dropping it stops the token
/// and pcscd and removes its scratch files.
pub struct Session {
    client: &'static str,
    link: LinkKind,
    serial: u32,
    reader: String,
    trace: TraceLog,
    scratch: Scratch,
    bed: Testbed,
}

impl Session {
    /// A new token on `link` for `client` (the name failures give).
    pub fn start(client: &'static str, link: LinkKind) -> Result<Self, Failure> {
        let label = format!("{client} on the {link:?} link");
        let failed = |why: String| Failure::new(format!("{label}: no token to test: {why}"));
        let scratch =
            Scratch::new(&label).map_err(|e| failed(format!("scratch directory: {e}")))?;
        let mut bed = Testbed::start(1).map_err(|e| failed(format!("private pcscd: {e}")))?;
        let serial = NEXT_SERIAL.fetch_add(1, Ordering::Relaxed);
        let options = TokenOptions {
            profile: Profile::standard(serial),
            link,
            ..TokenOptions::default()
        };
        let trace = bed
            .insert_traced(0, &options)
            .map_err(|e| failed(format!("{e}\npcscd's log:\n{}", bed.pcscd().log())))?;
        let reader = bed.reader(0).map_err(|e| failed(e.to_string()))?;
        Ok(Self {
            client,
            link,
            serial,
            reader,
            trace,
            scratch,
            bed,
        })
    }

    /// The client under test.
    pub fn client(&self) -> &'static str {
        self.client
    }

    /// The link the token is reached through.
    pub fn link(&self) -> LinkKind {
        self.link
    }

    /// The PC/SC name of the token's reader, for `-r` options.
    pub fn reader(&self) -> &str {
        &self.reader
    }

    /// The token's serial number (GET SERIAL), unique among the sessions of a test binary.
    pub fn serial(&self) -> u32 {
        self.serial
    }

    /// The serial number OpenSC's PKCS#11 module gives the token: the last 8 bytes of the
    /// CHUID's GUID in lower-case hex, which for a ukey token is the serial number.
    pub fn pkcs11_serial(&self) -> String {
        format!("{:016x}", self.serial)
    }

    /// A file in the session's scratch directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.scratch.path(name)
    }

    /// A command for `program` that talks to the session's pcscd.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new(program);
        command.env("PCSCLITE_CSOCK_NAME", self.bed.socket());
        command
    }

    /// The `ukey` CLI, built if needed, pointed at the session's token.
    pub fn ukey(&self) -> Result<Command, Failure> {
        static UKEY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
        let binary = UKEY
            .get_or_init(|| crate::workspace_binary("ukey-host", "ukey"))
            .clone()
            .map_err(|why| self.fail("finding the ukey binary", why))?;
        let mut command = self.command(binary);
        command.args(["--reader", &self.reader]);
        Ok(command)
    }

    /// Runs `command` as `step` and expects it to succeed (exit code 0).
    pub fn run(&self, step: &str, command: Command) -> Result<Ran<'_>, Failure> {
        self.run_expecting(step, command, 0)
    }

    /// Runs `command` as `step` and expects exit code `code`.
    pub fn run_expecting(
        &self,
        step: &str,
        command: Command,
        code: i32,
    ) -> Result<Ran<'_>, Failure> {
        let ran = self.attempt(step, command)?;
        match ran.code() {
            Some(exit) if exit == code => Ok(ran),
            Some(exit) => Err(ran.fail(format!("exit code {exit}, expected {code}"))),
            None => Err(ran.fail(format!("no exit code (killed), expected {code}"))),
        }
    }

    /// Runs `command` as `step` whatever its exit code; for the caller to judge the outcome.
    pub fn attempt(&self, step: &str, command: Command) -> Result<Ran<'_>, Failure> {
        step::execute(self, step, command)
    }

    /// A failure of `step` that is not about one run of a client, with the token's last
    /// APDUs.
    pub fn fail(&self, step: &str, why: impl Display) -> Failure {
        Failure::new(format!(
            "{}\n--- the token's last APDUs (ukey-sim -v) ---\n{}",
            self.headline(step, &why),
            step::tail(&self.trace.since(0))
        ))
    }

    pub(crate) fn headline(&self, step: &str, why: &dyn Display) -> String {
        format!(
            "{}, {:?} link, step \"{step}\": {why}",
            self.client, self.link
        )
    }

    pub(crate) fn trace(&self) -> &TraceLog {
        &self.trace
    }
}
