//! What one virtual token costs the machine: its flash image file, and the resident memory
//! of a real `ukey-sim` process playing it (`--image`), read from `/proc` after the token has
//! been provisioned and has signed on both curves, so that its signing code and tables are
//! paged in.

use std::fs::{self, File};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rustix::process::{Pid, Signal, kill_process};
use ukey_sim::LinkKind;

use crate::support::apdu::{self, Curve, Transmit};
use crate::support::stack::{LINKS, Stack, link_name};

/// How long pcscd may take to see a token process that has just started.
const SEEN_TIMEOUT: Duration = Duration::from_secs(10);

/// One token process's footprint.
pub struct Footprint {
    /// The token's link.
    pub link: LinkKind,
    /// Length of its flash image file.
    pub image_bytes: u64,
    /// Resident memory (`VmRSS`) after the work, in KiB.
    pub rss_kib: u64,
    /// Peak resident memory (`VmHWM`), in KiB.
    pub peak_kib: u64,
}

/// Starts one `ukey-sim` process per link in the stack's spare slots, makes each sign
/// `signatures` times per curve, and reads its memory and image size.
pub fn measure(stack: &Stack, signatures: usize) -> Result<Vec<Footprint>, String> {
    let binary = fresh_sim_binary()?;
    let dir = tempfile::tempdir().map_err(|e| format!("a scratch directory: {e}"))?;
    let mut all = Vec::new();
    for (link, slot) in LINKS.into_iter().zip(stack.spare_slots()) {
        let name = link_name(link);
        let image = dir.path().join(format!("{name}.img"));
        let log = dir.path().join(format!("{name}.log"));
        let process = SimProcess::start(&binary, &slot.vpcd, link, &image, &log)?;
        let mut card = stack
            .connect_when_present(&slot.reader, SEEN_TIMEOUT)
            .map_err(|e| format!("{e}; the {name} token said: {}", process.log()))?;
        apdu::provision(&mut card)?;
        for curve in Curve::ALL {
            let command = apdu::sign(curve);
            for _ in 0..signatures {
                card.expect_ok(&command)?;
            }
        }
        let (rss_kib, peak_kib) = process.memory()?;
        drop(card);
        process.stop()?;
        let image_bytes = fs::metadata(&image)
            .map_err(|e| format!("{}: {e}", image.display()))?
            .len();
        all.push(Footprint {
            link,
            image_bytes,
            rss_kib,
            peak_kib,
        });
    }
    Ok(all)
}

/// The `ukey-sim` binary of the profile this bench runs under, rebuilt first if its sources
/// changed (`cargo bench` builds no other package's binaries, and `workspace_binary` takes
/// any it finds).
fn fresh_sim_binary() -> Result<std::path::PathBuf, String> {
    // target/<profile>/deps/<bench>: the profile directory is two levels up.
    let release = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.file_name()? == "release"))
        .unwrap_or(false);
    let mut build = Command::new(env!("CARGO"));
    build.args(["build", "--quiet", "-p", "ukey-sim", "--bin", "ukey-sim"]);
    if release {
        build.arg("--release");
    }
    let status = build
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .map_err(|e| format!("cannot run cargo to build ukey-sim: {e}"))?;
    if !status.success() {
        return Err("`cargo build -p ukey-sim` failed".into());
    }
    ukey_suite::workspace_binary("ukey-sim", "ukey-sim")
}

/// A `ukey-sim` process, killed on drop if not stopped.
struct SimProcess {
    child: Child,
    log: std::path::PathBuf,
}

impl SimProcess {
    fn start(
        binary: &Path,
        vpcd: &str,
        link: LinkKind,
        image: &Path,
        log: &Path,
    ) -> Result<Self, String> {
        let stderr = File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let child = Command::new(binary)
            .args(["--vpcd", vpcd, "--link", link_name(link), "--image"])
            .arg(image)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", binary.display()))?;
        Ok(Self {
            child,
            log: log.to_path_buf(),
        })
    }

    /// `VmRSS` and `VmHWM` in KiB.
    fn memory(&self) -> Result<(u64, u64), String> {
        let path = format!("/proc/{}/status", self.child.id());
        let status = fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
                .ok_or_else(|| format!("{path} has no {name}"))
        };
        Ok((field("VmRSS:")?, field("VmHWM:")?))
    }

    /// Stops the token as a user does (SIGTERM: it flushes its image) and checks it exited
    /// cleanly.
    fn stop(mut self) -> Result<(), String> {
        let pid = i32::try_from(self.child.id())
            .ok()
            .and_then(Pid::from_raw)
            .ok_or("the token process has no valid pid")?;
        kill_process(pid, Signal::TERM).map_err(|e| format!("SIGTERM to the token: {e}"))?;
        let status = self
            .child
            .wait()
            .map_err(|e| format!("waiting for the token: {e}"))?;
        if !status.success() {
            return Err(format!(
                "the token process ended with {status}: {}",
                self.log()
            ));
        }
        Ok(())
    }

    /// What the process wrote to stderr so far.
    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
