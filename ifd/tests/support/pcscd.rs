//! A private pcscd that loads this crate's driver, as `ukey_sim::Pcscd` runs one for vpcd:
//! in a mount namespace of its own (`unshare`), with a private directory bind-mounted over
//! `/run/pcscd` and pcscd's USB driver folder hidden, so it never touches the machine's
//! pcscd or its readers. Clients reach it through `PCSCLITE_CSOCK_NAME`. Needs root.
#![allow(dead_code)] // Shared by several test binaries, each using a part.
#![allow(
    clippy::unwrap_used,
    reason = "test support: a failure stops the test where it happens"
)]

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use ukey_ifd::{ReaderConfig, reader_conf};

/// Where Debian's pcscd looks for USB reader drivers.
const USB_DRIVERS: &str = "/usr/lib/pcsc/drivers";
/// The vpcd driver (Debian package vsmartcard-vpcd).
const VPCD_DRIVER: &str = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs inside the namespace: `$1` is the private directory, `$2` pcscd's USB driver
/// folder. pcscd stops when this process's stdin closes, and dies with the shell.
const LAUNCHER: &str = r#"
exec 2>>"$1/launcher.log"
mkdir -p /run/pcscd
mount --bind "$1/run" /run/pcscd || exit 1
if [ -d "$2" ]; then mount -t tmpfs -o size=16k,mode=0755 ukey-no-usb "$2" || exit 1; fi
setpriv --pdeathsig KILL pcscd --foreground --config "$1/reader.conf.d" >>"$1/pcscd.log" 2>&1 &
pcscd=$!
read -r line
kill "$pcscd" 2>/dev/null
wait "$pcscd"
"#;

/// The driver this crate builds, as pcscd loads it: `libukey_ifd.so` beside the test or
/// bench executable (`target/<profile>/deps/`), where cargo puts the library's cdylib.
pub fn library() -> PathBuf {
    reader_conf::find_driver()
        .unwrap_or_else(|| panic!("no libukey_ifd.so beside the test executable"))
}

/// reader.conf entries loading this driver for each `(name, configuration)`, in order.
pub fn driver_entries(readers: &[(&str, &Path)]) -> String {
    let library = library();
    readers
        .iter()
        .map(|(name, config)| reader_conf::entry(name, config, &library).unwrap())
        .collect()
}

/// A reader.conf entry for a vpcd reader named `name` listening on `port` (slot 0) and
/// `port + 1` (slot 1), with a copy of vpcd's driver in `dir` (the namespace hides the
/// folder it is installed in).
pub fn vpcd_entry(dir: &Path, name: &str, port: u16) -> String {
    let driver = dir.join("libifdvpcd.so");
    fs::copy(VPCD_DRIVER, &driver).unwrap();
    format!(
        "FRIENDLYNAME \"{name}\"\nDEVICENAME /dev/null:0x{port:04X}\nLIBPATH {}\n\
         CHANNELID 0x{port:04X}\n\n",
        driver.display()
    )
}

/// A running private pcscd. Dropping it stops pcscd and waits for it.
pub struct DriverPcscd {
    child: Child,
    lifeline: Option<ChildStdin>,
    dir: PathBuf,
}

impl DriverPcscd {
    /// Starts pcscd in `dir` with one reader of this driver per `(name, configuration)`,
    /// in that order (so reader `i` has LUNs `i << 16 | slot`).
    pub fn start(dir: &Path, readers: &[(&str, &Path)]) -> Self {
        Self::start_with(dir, &driver_entries(readers))
    }

    /// Starts pcscd in `dir` with the readers of the reader.conf text `conf`.
    pub fn start_with(dir: &Path, conf: &str) -> Self {
        fs::create_dir_all(dir.join("reader.conf.d")).unwrap();
        fs::create_dir_all(dir.join("run")).unwrap();
        fs::write(dir.join("reader.conf.d").join("readers"), conf).unwrap();
        let mut child = Command::new("unshare")
            .args([
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                LAUNCHER,
                "sh",
            ])
            .arg(dir)
            .arg(USB_DRIVERS)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lifeline = child.stdin.take();
        let mut pcscd = Self {
            child,
            lifeline,
            dir: dir.to_path_buf(),
        };
        pcscd.wait_for_socket();
        pcscd
    }

    /// A pcscd with one reader configured by `config`, written to `dir/reader.toml`.
    pub fn with_reader(dir: &Path, name: &str, config: &ReaderConfig) -> Self {
        let path = dir.join("reader.toml");
        config.write(&path).unwrap();
        Self::start(dir, &[(name, &path)])
    }

    /// The socket clients use: `PCSCLITE_CSOCK_NAME`.
    pub fn socket(&self) -> PathBuf {
        self.dir.join("run").join("pcscd.comm")
    }

    /// A command for `program` that talks to this pcscd.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new(program);
        command.env("PCSCLITE_CSOCK_NAME", self.socket());
        command
    }

    /// Runs `program` with `args` against this pcscd; its stdout, or a panic with its
    /// output and pcscd's log.
    pub fn run(&self, program: &str, args: &[&str]) -> String {
        let output = self.command(program).args(args).output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "{program} {args:?}: {}\n{stdout}\n{}\npcscd's log:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr),
            self.log()
        );
        stdout
    }

    /// The pid of this pcscd: the process whose command line names its configuration.
    pub fn pid(&self) -> u32 {
        let config = self.dir.join("reader.conf.d");
        let config = config.to_string_lossy();
        fs::read_dir("/proc")
            .unwrap()
            .filter_map(Result::ok)
            .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
            .find(|pid| {
                let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                let words: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
                words.first().is_some_and(|w| w.ends_with(b"pcscd"))
                    && words.contains(&config.as_bytes())
            })
            .unwrap_or_else(|| panic!("no pcscd reads {config}"))
    }

    /// pcscd's output so far, and the launcher's errors.
    pub fn log(&self) -> String {
        ["launcher.log", "pcscd.log"]
            .iter()
            .filter_map(|name| fs::read_to_string(self.dir.join(name)).ok())
            .collect()
    }

    fn wait_for_socket(&mut self) {
        let started = Instant::now();
        while !self.socket().exists() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "pcscd exited ({status}); it needs root. Log:\n{}",
                    self.log()
                );
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "pcscd made no socket within {START_TIMEOUT:?}. Log:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for DriverPcscd {
    fn drop(&mut self) {
        self.lifeline.take();
        let _ = self.child.wait();
    }
}
