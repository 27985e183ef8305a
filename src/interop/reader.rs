//! A real reader on the system's pcscd: found by a part of its name, and used by one session
//! at a time.

use std::process::Command;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// The one token in a real reader: the sessions of a test binary take turns with it.
static TURN: Mutex<()> = Mutex::new(());

/// Waits until no other session of this test binary uses the reader; the turn lasts as
/// long as the guard.
pub(crate) fn take_turn() -> MutexGuard<'static, ()> {
    // A session that panicked left the token as it was; the next one resets it anyway.
    TURN.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The full name of the one reader whose name contains `part`, as `pcsc_scan -r` lists the
/// readers of the pcscd that `PCSCLITE_CSOCK_NAME` (or the default socket) leads to.
pub(crate) fn find(part: &str) -> Result<String, String> {
    let socket = std::env::var("PCSCLITE_CSOCK_NAME")
        .unwrap_or_else(|_| "the default socket, /run/pcscd/pcscd.comm".to_string());
    let output = Command::new("pcsc_scan")
        .arg("-r")
        .output()
        .map_err(|e| format!("cannot run pcsc_scan (package pcsc-tools): {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "pcsc_scan -r found no pcscd at {socket}: {}Start pcscd, or point \
             PCSCLITE_CSOCK_NAME at the one serving the reader.",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let listed = String::from_utf8_lossy(&output.stdout);
    // Lines `N: NAME`; other lines are pcsc_scan's own remarks.
    let readers: Vec<&str> = listed
        .lines()
        .filter_map(|line| line.split_once(": "))
        .filter(|(index, _)| index.trim().parse::<usize>().is_ok())
        .map(|(_, name)| name.trim())
        .collect();
    let matching: Vec<&str> = readers
        .iter()
        .copied()
        .filter(|name| name.contains(part))
        .collect();
    match matching.as_slice() {
        [name] => Ok((*name).to_string()),
        [] => Err(format!(
            "no reader whose name contains {part:?} on the pcscd at {socket}; it lists {readers:?}. \
             Plug the token in, or set UKEY_TEST_READER to a part of one of those names."
        )),
        several => Err(format!(
            "several readers' names contain {part:?}: {several:?}; set UKEY_TEST_READER to a \
             part that only one of them has"
        )),
    }
}
