//! A session: one fresh token alone in a private pcscd, or a real reader's token reset to
//! factory state; the client that drives it, and the token's trace.
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
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{MutexGuard, OnceLock};

use ukey_firmware::Profile;
use ukey_sim::{LinkKind, Testbed, TokenOptions, TraceLog};

use super::failure::Failure;
use super::scratch::Scratch;
use super::spy::Spy;
use super::step::{self, Ran};
use super::target::Target;
use super::{factory, reader};

/// The serial number of the first token; each session's token gets the next one, so that
/// each test's token is told apart in URIs and failure messages.
const FIRST_SERIAL: u32 = 20_000_001;

static NEXT_SERIAL: AtomicU32 = AtomicU32::new(FIRST_SERIAL);

/// One token in factory state (standard profile: PIN `123456`, PUK `12345678`, the default
/// management key, 3 tries each), driven by one client: a fresh simulated token in a private
/// pcscd, or a real reader's token. Dropping it stops a simulated token and its pcscd, ends
/// a reader's turn, and removes the scratch files.
pub struct Session {
    client: &'static str,
    target: Target,
    serial: u32,
    reader: String,
    token: Token,
    scratch: Scratch,
}

/// Where the token is and who traces its APDUs.
enum Token {
    /// A simulated token in a private pcscd, tracing itself.
    Simulated { trace: TraceLog, bed: Testbed },
    /// A real reader's token on the system's pcscd, the clients run under the spy; the
    /// session holds the reader's turn.
    Reader {
        spy: Spy,
        _turn: MutexGuard<'static, ()>,
    },
}

impl Session {
    /// A token in factory state on `target` for `client` (the name failures give).
    pub fn start(client: &'static str, target: &Target) -> Result<Self, Failure> {
        let label = format!("{client} on the {target}");
        let failed = |why: String| Failure::new(format!("{label}: no token to test: {why}"));
        let scratch =
            Scratch::new(&label).map_err(|e| failed(format!("scratch directory: {e}")))?;
        match target {
            Target::Simulated(link) => Self::simulated(client, *link, scratch, failed),
            Target::Reader(part) => Self::on_reader(client, part, scratch, failed),
        }
    }

    /// Waits for the reader's turn, finds it, and resets its token to factory state.
    fn on_reader(
        client: &'static str,
        part: &str,
        scratch: Scratch,
        failed: impl Fn(String) -> Failure,
    ) -> Result<Self, Failure> {
        let turn = reader::take_turn();
        let reader = reader::find(part).map_err(&failed)?;
        let spy = Spy::new(&scratch.path("spy"), &reader).map_err(&failed)?;
        let mut session = Self {
            client,
            target: Target::Reader(part.to_string()),
            serial: 0,
            reader,
            token: Token::Reader { spy, _turn: turn },
            scratch,
        };
        session.serial = factory::reset(&session)?;
        Ok(session)
    }

    fn simulated(
        client: &'static str,
        link: LinkKind,
        scratch: Scratch,
        failed: impl Fn(String) -> Failure,
    ) -> Result<Self, Failure> {
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
            target: Target::Simulated(link),
            serial,
            reader,
            token: Token::Simulated { trace, bed },
            scratch,
        })
    }

    /// The client under test.
    pub fn client(&self) -> &'static str {
        self.client
    }

    /// What the token is: a simulated one on a link, or a real reader's.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The PC/SC name of the token's reader, for `-r` options.
    pub fn reader(&self) -> &str {
        &self.reader
    }

    /// The token's serial number (GET SERIAL): on a simulated token, unique among the
    /// sessions of a test binary; on a reader, the token's own.
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

    /// A command for `program` that talks to the session's pcscd: the private one of a
    /// simulated token, or the system's (as this process reaches it) under the spy.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new(program);
        match &self.token {
            Token::Simulated { bed, .. } => {
                command.env("PCSCLITE_CSOCK_NAME", bed.socket());
            }
            Token::Reader { spy, .. } => spy.wrap(&mut command),
        }
        command
    }

    /// [`Session::command`] without the spy on a real reader's token, for clients the spy
    /// crashes: pyscard (so ykman) opens pcsc-lite with `dlopen` and calls `SCardTransmit`
    /// through `dlsym` with no receive PCI, out of the preloaded shim's reach, and Debian
    /// 12's spy dies of it (a segmentation fault before the first APDU). Such a client's
    /// APDUs are missing from the step's trace.
    pub fn command_unspied(&self, program: impl AsRef<OsStr>) -> Command {
        match &self.token {
            Token::Simulated { .. } => self.command(program),
            Token::Reader { .. } => Command::new(program),
        }
    }

    /// The `ukey` CLI, built if needed, pointed at the session's token.
    pub fn ukey(&self) -> Result<Command, Failure> {
        static UKEY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
        let binary = UKEY
            .get_or_init(|| crate::workspace_binary("ukey-cli", "ukey"))
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
            "{}\n--- the token's last APDUs ({}) ---\n{}",
            self.headline(step, &why),
            self.trace_source(),
            step::tail(&self.trace_since(0))
        ))
    }

    pub(crate) fn headline(&self, step: &str, why: &dyn Display) -> String {
        format!("{}, {}, step \"{step}\": {why}", self.client, self.target)
    }

    /// Where the trace ends now, for [`Session::trace_since`].
    pub(crate) fn trace_mark(&self) -> usize {
        match &self.token {
            Token::Simulated { trace, .. } => trace.mark(),
            Token::Reader { spy, .. } => spy.mark(),
        }
    }

    /// The trace's lines after `mark`, in `ukey-sim -v`'s format.
    pub(crate) fn trace_since(&self, mark: usize) -> String {
        match &self.token {
            Token::Simulated { trace, .. } => trace.since(mark),
            Token::Reader { spy, .. } => spy.since(mark),
        }
    }

    /// Who recorded the trace, for failure reports.
    pub(crate) fn trace_source(&self) -> &'static str {
        match self.token {
            Token::Simulated { .. } => "ukey-sim -v",
            Token::Reader { .. } => {
                "as the clients sent them, through pcsc-spy; commands sent by a process that \
                 does not load libpcsclite.so.1 are missing"
            }
        }
    }
}
