//! Where a private pcscd can run: in a mount namespace of its own, or plainly on the
//! machine's `/run/pcscd`, and why that one was chosen.
//!
//! A namespace keeps the machine's `/run/pcscd` and USB readers untouched, so it is tried
//! first. Where `unshare` is refused (a container without CAP_SYS_ADMIN, a user who is not
//! root), pcscd runs plainly instead, provided no other pcscd serves `/run/pcscd` and the
//! directory can be written. When neither works, the error quotes both causes as the
//! system gave them.

use std::fmt;
use std::fs;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::Command;

use crate::error::{Error, Result};

/// The directory Debian's pcscd always puts its socket in.
pub const SYSTEM_RUN_DIR: &str = "/run/pcscd";
/// The socket Debian's pcscd always serves.
pub const SYSTEM_SOCKET: &str = "/run/pcscd/pcscd.comm";

/// How a private pcscd is kept apart from the machine's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isolation {
    /// A mount namespace of its own with a private directory over `/run/pcscd`.
    Namespace,
    /// No namespace: pcscd serves `/run/pcscd/pcscd.comm` itself.
    Plain,
}

/// The isolation chosen for a pcscd, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    /// The isolation chosen.
    pub isolation: Isolation,
    /// Why, in words for the user.
    pub reason: String,
}

impl fmt::Display for Choice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match self.isolation {
            Isolation::Namespace => "its own mount namespace",
            Isolation::Plain => "plain mode (no namespace)",
        };
        write!(f, "pcscd runs in {mode}: {}", self.reason)
    }
}

/// Chooses the isolation: `wanted` if given and possible, else a namespace if `unshare`
/// works, else plain mode if nothing stands in its way.
pub fn choose(wanted: Option<Isolation>) -> Result<Choice> {
    match wanted {
        Some(Isolation::Namespace) => namespace_refusal().map_or_else(
            || Ok(namespace("it was asked for")),
            |refusal| Err(Error::Pcscd(format!("no mount namespace: {refusal}"))),
        ),
        Some(Isolation::Plain) => plain_obstacle().map_or_else(
            || Ok(plain("it was asked for".into())),
            |obstacle| Err(Error::Pcscd(format!("no plain mode: {obstacle}"))),
        ),
        None => match (namespace_refusal(), plain_obstacle()) {
            (None, _) => Ok(namespace("unshare works, so /run/pcscd stays untouched")),
            (Some(refusal), None) => Ok(plain(format!(
                "no mount namespace ({refusal}), and no other pcscd serves {SYSTEM_SOCKET}"
            ))),
            (Some(refusal), Some(obstacle)) => Err(Error::Pcscd(format!(
                "cannot run a private pcscd here. No mount namespace: {refusal}. No plain \
                 mode: {obstacle}"
            ))),
        },
    }
}

fn namespace(reason: &str) -> Choice {
    Choice {
        isolation: Isolation::Namespace,
        reason: reason.into(),
    }
}

fn plain(reason: String) -> Choice {
    Choice {
        isolation: Isolation::Plain,
        reason,
    }
}

/// Why `unshare` cannot make a mount namespace here, in its own words; `None` if it can.
fn namespace_refusal() -> Option<String> {
    match Command::new("unshare")
        .args(["--mount", "--propagation", "private", "true"])
        .output()
    {
        Ok(output) if output.status.success() => None,
        Ok(output) => Some(
            String::from_utf8_lossy(&output.stderr)
                .trim()
                .replace('\n', "; ")
                .to_string(),
        )
        .filter(|said| !said.is_empty())
        .or_else(|| Some(format!("unshare failed ({})", output.status))),
        Err(error) => Some(format!("cannot run unshare (util-linux): {error}")),
    }
}

/// What keeps pcscd from serving `/run/pcscd` plainly; `None` if nothing does.
fn plain_obstacle() -> Option<String> {
    if UnixStream::connect(SYSTEM_SOCKET).is_ok() {
        return Some(format!("another pcscd already serves {SYSTEM_SOCKET}"));
    }
    let dir = Path::new(SYSTEM_RUN_DIR);
    let probe = dir.join(format!(".ukey-probe-{}", std::process::id()));
    match fs::create_dir_all(dir).and_then(|()| fs::write(&probe, b"")) {
        Ok(()) => {
            let _ = fs::remove_file(&probe);
            None
        }
        Err(error) => Some(format!("cannot write {SYSTEM_RUN_DIR}: {error}")),
    }
}
