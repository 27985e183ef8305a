//! A private pcscd with vpcd readers on ports of its own, which never touches the
//! machine's pcscd.
//!
//! Debian's pcscd always serves `/run/pcscd/pcscd.comm` and ignores `PCSCLITE_CSOCK_NAME`
//! (only the client library honours it). So pcscd runs in a mount namespace of its own
//! (`unshare --mount --propagation private`) in which a private directory is bind-mounted
//! over `/run/pcscd`; outside the namespace the socket is that directory's `pcscd.comm`,
//! and clients reach it with `PCSCLITE_CSOCK_NAME` pointing there:
//!
//! ```text
//! DIR/reader.conf.d/vpcd   one vpcd reader per port pair (slot 0 on port p, slot 1 on p + 1)
//! DIR/libifdvpcd-N.so      a copy of the vpcd driver for each reader
//! DIR/run/pcscd.comm       the socket: PCSCLITE_CSOCK_NAME=DIR/run/pcscd.comm opensc-tool -l
//! DIR/pcscd.log            pcscd's own output (foreground, -f)
//! ```
//!
//! vpcd keeps its two slots in static variables indexed by slot number only, so two
//! readers loaded from the same driver file share them and only the last one works. Each
//! reader therefore loads its own copy of the driver (a distinct file is a distinct library
//! to the dynamic loader). And inside the namespace an empty tmpfs hides pcscd's USB driver
//! directory, so the private pcscd never claims a real USB reader the machine's pcscd uses.
//!
//! The namespace needs root (or CAP_SYS_ADMIN), and creates an empty `/run/pcscd` if the
//! machine has none. Where it is refused (containers, users who are not root) pcscd runs
//! plainly and serves `/run/pcscd/pcscd.comm` itself, if no other pcscd does
//! ([`isolation`]); it then sees the machine's USB readers too. pcscd runs under a small
//! shell that holds a pipe from this process: when the pipe closes (the [`Pcscd`] is
//! dropped, or this process dies however it dies) the shell stops pcscd and waits for it;
//! and pcscd dies with the shell (`setpriv --pdeathsig KILL`). No pcscd outlives its owner.

use std::ffi::OsStr;
use std::fs;
use std::io::ErrorKind;
use std::net::TcpListener;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

pub mod isolation;

pub use isolation::{Choice, Isolation};

/// The vpcd driver (Debian package vsmartcard-vpcd).
const VPCD_DRIVER: &str = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";
/// Where Debian's pcscd looks for USB reader drivers (its `usbdropdir`).
const USB_DRIVERS: &str = "/usr/lib/pcsc/drivers";
/// The name vpcd readers get: pcscd appends the reader's and the slot's numbers.
const FRIENDLY_NAME: &str = "Virtual PCD";
const START_TIMEOUT: Duration = Duration::from_secs(10);
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
const ATTEMPTS: usize = 3;

/// Runs pcscd: `$1` is the private directory, `$2` pcscd's USB driver directory, `$3`
/// `namespace` when it runs inside a mount namespace of its own (and mounts its directories
/// there), `plain` otherwise.
const LAUNCHER: &str = r#"
exec 2>>"$1/launcher.log"
if [ "$3" = namespace ]; then
  mkdir -p /run/pcscd
  mount --bind "$1/run" /run/pcscd || exit 1
  if [ -d "$2" ]; then mount -t tmpfs -o size=16k,mode=0755 ukey-no-usb "$2" || exit 1; fi
fi
setpriv --pdeathsig KILL pcscd --foreground --config "$1/reader.conf.d" >>"$1/pcscd.log" 2>&1 &
pcscd=$!
read -r line
kill "$pcscd" 2>/dev/null
wait "$pcscd"
"#;

/// A running private pcscd. Dropping it stops pcscd, waits for it and removes its files.
#[derive(Debug)]
pub struct Pcscd {
    child: Child,
    lifeline: Option<ChildStdin>,
    dir: PathBuf,
    made_dir: bool,
    ports: Vec<u16>,
    choice: Choice,
}

impl Pcscd {
    /// Starts a pcscd with `readers` vpcd readers (two slots each) on free ports, in a fresh
    /// directory under the system's temporary directory.
    /// It runs in a mount namespace if it can, else plainly ([`isolation::choose`]).
    pub fn start(readers: usize) -> Result<Self> {
        let choice = isolation::choose(None)?;
        let mut last = None;
        for _ in 0..ATTEMPTS {
            let dir = fresh_dir()?;
            match free_ports(readers).and_then(|ports| Self::launch(&dir, &ports, true, &choice)) {
                Ok(pcscd) => return Ok(pcscd),
                Err(error) => {
                    let _ = fs::remove_dir(&dir);
                    last = Some(error);
                }
            }
        }
        Err(last.unwrap_or_else(|| Error::Pcscd("no attempt made".into())))
    }

    /// Starts a pcscd with a vpcd reader on each of `ports` (slot 0 on the port, slot 1 on
    /// the next), keeping its socket, configuration and log in `dir`. When it stops it
    /// removes what it put there, and `dir` itself if it created it. A port (or the one
    /// after it) already taken is an error, and nothing is left running.
    pub fn start_at(dir: &Path, ports: &[u16], choice: &Choice) -> Result<Self> {
        Self::launch(dir, ports, !dir.exists(), choice)
    }

    fn launch(dir: &Path, ports: &[u16], made_dir: bool, choice: &Choice) -> Result<Self> {
        if ports.is_empty() {
            return Err(Error::Pcscd(
                "a pcscd needs at least one vpcd reader".into(),
            ));
        }
        check_ports_free(ports)?;
        if !Path::new(VPCD_DRIVER).exists() {
            return Err(Error::Pcscd(format!(
                "{VPCD_DRIVER} is missing: install vsmartcard-vpcd (and pcscd)"
            )));
        }
        let config = dir.join("reader.conf.d");
        let drivers: Vec<PathBuf> = (0..ports.len())
            .map(|reader| dir.join(format!("libifdvpcd-{reader}.so")))
            .collect();
        fs::create_dir_all(&config)
            .and_then(|()| fs::create_dir_all(dir.join("run")))
            .and_then(|()| {
                drivers
                    .iter()
                    .try_for_each(|copy| fs::copy(VPCD_DRIVER, copy).map(drop))
            })
            .and_then(|()| fs::write(config.join("vpcd"), reader_conf(ports, &drivers)))
            .map_err(|error| Error::io(format!("preparing {}", dir.display()), error))?;
        let launcher_log = fs::File::create(dir.join("launcher.log"))
            .map_err(|error| Error::io(format!("preparing {}", dir.display()), error))?;
        let (mut command, mode) = match choice.isolation {
            Isolation::Namespace => {
                let mut command = Command::new("unshare");
                command.args(["--mount", "--propagation", "private", "sh"]);
                (command, "namespace")
            }
            Isolation::Plain => (Command::new("sh"), "plain"),
        };
        let mut child = command
            .args(["-c", LAUNCHER, "sh"])
            .arg(dir)
            .arg(USB_DRIVERS)
            .arg(mode)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(launcher_log)
            .spawn()
            .map_err(|error| Error::io("running pcscd's launcher", error))?;
        let lifeline = child.stdin.take();
        let mut pcscd = Self {
            child,
            lifeline,
            dir: dir.to_path_buf(),
            made_dir,
            ports: ports.to_vec(),
            choice: choice.clone(),
        };
        pcscd.wait_ready()?;
        Ok(pcscd)
    }

    /// The socket clients use: set `PCSCLITE_CSOCK_NAME` to it.
    pub fn socket(&self) -> PathBuf {
        match self.choice.isolation {
            Isolation::Namespace => self.dir.join("run").join("pcscd.comm"),
            Isolation::Plain => PathBuf::from(isolation::SYSTEM_SOCKET),
        }
    }

    /// How this pcscd is kept apart from the machine's, and why.
    pub fn isolation(&self) -> &Choice {
        &self.choice
    }

    /// The directory holding the socket, the configuration and the log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How many card slots the vpcd readers offer (two per reader).
    pub fn slots(&self) -> usize {
        self.ports.len() * 2
    }

    /// Where a token connects to play the card in `slot` (0-based over all readers).
    pub fn vpcd_addr(&self, slot: usize) -> Option<String> {
        let port = self.ports.get(slot / 2)? + (slot % 2) as u16;
        Some(format!("127.0.0.1:{port}"))
    }

    /// The PC/SC name of the reader holding `slot`, as clients list it.
    pub fn reader_name(&self, slot: usize) -> Option<String> {
        let reader = slot / 2;
        (reader < self.ports.len())
            .then(|| format!("{} 00 {:02X}", friendly_name(reader), slot % 2))
    }

    /// A command for `program` that talks to this pcscd.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new(program);
        command.env("PCSCLITE_CSOCK_NAME", self.socket());
        command
    }

    /// pcscd's output so far, and the launcher's errors, for failure messages.
    pub fn log(&self) -> String {
        let mut log = String::new();
        for name in ["launcher.log", "pcscd.log"] {
            if let Ok(text) = fs::read_to_string(self.dir.join(name)) {
                log.push_str(&text);
            }
        }
        log
    }

    /// Stops pcscd, waits for it and removes its files.
    pub fn stop(mut self) -> Result<()> {
        self.shut_down()
    }

    fn wait_ready(&mut self) -> Result<()> {
        let started = Instant::now();
        let socket = self.socket();
        while UnixStream::connect(&socket).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(Error::Pcscd(format!(
                    "pcscd exited ({status}) before it was ready. Its log:\n{}",
                    self.log()
                )));
            }
            if started.elapsed() > START_TIMEOUT {
                return Err(Error::Pcscd(format!(
                    "pcscd did not create {} within {START_TIMEOUT:?}. Its log:\n{}",
                    socket.display(),
                    self.log()
                )));
            }
            thread::sleep(Duration::from_millis(10));
        }
        // A port taken between the check and vpcd's bind: pcscd starts without that
        // reader and says so in its log, while another program answers on the port.
        let log = self.log();
        if log.contains("init failed") {
            return Err(Error::Pcscd(format!(
                "a vpcd reader on ports {:?} (and the ports after them) could not start; is \
                 a port taken? pcscd's log:\n{log}",
                self.ports
            )));
        }
        for &port in &self.ports {
            for port in [port, port + 1] {
                if TcpListener::bind(("0.0.0.0", port)).is_ok() {
                    return Err(Error::Pcscd(format!(
                        "vpcd is not listening on port {port}. pcscd's log:\n{}",
                        self.log()
                    )));
                }
            }
        }
        Ok(())
    }

    fn shut_down(&mut self) -> Result<()> {
        if self.lifeline.take().is_none() {
            return Ok(());
        }
        let started = Instant::now();
        let waited = loop {
            match self.child.try_wait() {
                Ok(Some(_)) => break Ok(()),
                Ok(None) if started.elapsed() < STOP_TIMEOUT => {
                    thread::sleep(Duration::from_millis(5));
                }
                Ok(None) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break Err(Error::Pcscd(format!(
                        "pcscd did not stop within {STOP_TIMEOUT:?}; killed it"
                    )));
                }
                Err(error) => break Err(Error::io("waiting for pcscd", error)),
            }
        };
        let removed = self.remove_files();
        waited?;
        removed.map_err(|error| Error::io(format!("cleaning up {}", self.dir.display()), error))
    }

    /// Removes what [`Pcscd::launch`] put in its directory, and the directory if it made it.
    fn remove_files(&self) -> std::io::Result<()> {
        let absent_is_fine = |result: std::io::Result<()>| match result {
            Err(error) if error.kind() == ErrorKind::NotFound => Ok(()),
            other => other,
        };
        absent_is_fine(fs::remove_dir_all(self.dir.join("reader.conf.d")))?;
        absent_is_fine(fs::remove_dir_all(self.dir.join("run")))?;
        for reader in 0..self.ports.len() {
            absent_is_fine(fs::remove_file(
                self.dir.join(format!("libifdvpcd-{reader}.so")),
            ))?;
        }
        for log in ["launcher.log", "pcscd.log"] {
            absent_is_fine(fs::remove_file(self.dir.join(log)))?;
        }
        if self.made_dir {
            absent_is_fine(fs::remove_dir(&self.dir))?;
        }
        Ok(())
    }
}

impl Drop for Pcscd {
    fn drop(&mut self) {
        let _ = self.shut_down();
    }
}

/// reader.conf.d entries: vpcd takes its port from DEVICENAME (`/dev/null:PORT`: listen on
/// PORT for slot 0 and PORT + 1 for slot 1); each reader gets a name of its own, since
/// pcscd would give two readers of one name the same reader names.
fn reader_conf(ports: &[u16], drivers: &[PathBuf]) -> String {
    ports
        .iter()
        .zip(drivers)
        .enumerate()
        .map(|(reader, (port, driver))| {
            format!(
                "FRIENDLYNAME \"{}\"\nDEVICENAME /dev/null:0x{port:04X}\nLIBPATH {}\n\
                 CHANNELID 0x{port:04X}\n\n",
                friendly_name(reader),
                driver.display()
            )
        })
        .collect()
}

fn friendly_name(reader: usize) -> String {
    match reader {
        0 => FRIENDLY_NAME.to_string(),
        n => format!("{FRIENDLY_NAME} {n}"),
    }
}

/// Fails, naming the port, when a port of `ports` or the one after it is taken.
fn check_ports_free(ports: &[u16]) -> Result<()> {
    for &port in ports {
        let Some(next) = port.checked_add(1) else {
            return Err(Error::Pcscd(format!(
                "port {port} has no port after it for slot 1; choose a lower one"
            )));
        };
        for port in [port, next] {
            if let Err(error) = TcpListener::bind(("0.0.0.0", port)) {
                return Err(Error::Pcscd(format!(
                    "port {port} is not free ({error}); a vpcd reader on port P needs P and \
                     P+1, so choose others or --port 0 for free ones"
                )));
            }
        }
    }
    Ok(())
}

/// Finds `count` ports that are free together with the port after each (vpcd binds
/// 0.0.0.0 on both).
pub fn free_ports(count: usize) -> Result<Vec<u16>> {
    let mut held = Vec::new();
    let mut ports = Vec::new();
    for _ in 0..count * 20 {
        if ports.len() == count {
            break;
        }
        let first = TcpListener::bind(("0.0.0.0", 0))
            .map_err(|error| Error::io("finding a free port", error))?;
        let port = first
            .local_addr()
            .map_err(|error| Error::io("finding a free port", error))?
            .port();
        if port < u16::MAX
            && let Ok(second) = TcpListener::bind(("0.0.0.0", port + 1))
        {
            ports.push(port);
            held.push(second);
        }
        held.push(first);
    }
    if ports.len() < count {
        return Err(Error::Pcscd("no free pair of consecutive TCP ports".into()));
    }
    Ok(ports)
}

/// A new directory of our own under the temporary directory.
fn fresh_dir() -> Result<PathBuf> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("ukey-pcscd-{}-{n}", std::process::id()));
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(error) if error.kind() == ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(Error::io(format!("creating {}", dir.display()), error)),
        }
    }
}
