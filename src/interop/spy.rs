//! The APDUs a token in a real reader saw, as the clients sent them: pcsc-lite's spy library
//! (`libpcscspy`, Debian package libpcsclite-dev) stands in for the client library and logs
//! every PC/SC call to `$HOME/pcsc-spy`. A simulated token traces itself (`ukey-sim -v`);
//! a board cannot, so its sessions run each client through the spy instead.
//!
//! The spy loads the real library as `libpcsclite_nospy.so.1`: a directory holding
//! `libpcsclite.so.1` (the spy) and `libpcsclite_nospy.so.1` (the real one), put first on
//! `LD_LIBRARY_PATH`, wraps any client linked against pcsc-lite. It writes to its log only
//! if the file exists when a client starts; each line is `THREAD@FIELD`, a call being
//! `>|sec|usec|NAME`, its fields in a fixed order, then `<|sec|usec|NAME|text|0xRV`.
//!
//! Debian 12's spy (pcsc-lite 1.9.9) crashes when a client passes no receive PCI to
//! `SCardTransmit`, as yubico-piv-tool and the `pcsc` crate (so `ukey`) do. A small
//! preloaded library (`spy/recv_pci.c`, built with `cc` for each session) passes one.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The preloaded library's source.
const RECV_PCI_SHIM: &str = include_str!("spy/recv_pci.c");

/// The spy library and the real client library, in the multiarch directory.
fn libraries() -> (PathBuf, PathBuf) {
    let dir = PathBuf::from(format!("/usr/lib/{}-linux-gnu", std::env::consts::ARCH));
    (dir.join("libpcscspy.so.0"), dir.join("libpcsclite.so.1"))
}

/// A spy over the clients of one session, keeping the exchanges with one reader's card.
pub(crate) struct Spy {
    libraries: PathBuf,
    shim: PathBuf,
    home: PathBuf,
    reader: String,
    trace: Mutex<String>,
}

impl Spy {
    /// A spy whose files live under `dir`, keeping the APDUs sent to `reader` (its full name).
    pub(crate) fn new(dir: &Path, reader: &str) -> Result<Self, String> {
        let (spy, real) = libraries();
        if !spy.exists() {
            return Err(format!(
                "{} is missing: install libpcsclite-dev, whose spy library records the APDUs \
                 a real reader's token sees",
                spy.display()
            ));
        }
        let libraries = dir.join("lib");
        let home = dir.join("home");
        fs::create_dir_all(&libraries)
            .and_then(|()| fs::create_dir_all(&home))
            .and_then(|()| symlink(&spy, libraries.join("libpcsclite.so.1")))
            .and_then(|()| symlink(&real, libraries.join("libpcsclite_nospy.so.1")))
            .map_err(|e| format!("preparing the spy in {}: {e}", dir.display()))?;
        let shim = build_shim(dir)?;
        Ok(Self {
            libraries,
            shim,
            home,
            reader: reader.to_string(),
            trace: Mutex::new(String::new()),
        })
    }

    /// Makes `command` run under the spy. Its `HOME` becomes the spy's directory, which also
    /// keeps OpenSC's cache of one session out of the next.
    pub(crate) fn wrap(&self, command: &mut Command) {
        command
            .env(
                "LD_LIBRARY_PATH",
                prepended("LD_LIBRARY_PATH", &self.libraries),
            )
            .env("LD_PRELOAD", prepended("LD_PRELOAD", &self.shim))
            .env("HOME", &self.home);
    }

    /// Where the trace ends now; [`Spy::since`] gives what came after it. It also empties
    /// the spy's log, ready for the next client.
    pub(crate) fn mark(&self) -> usize {
        self.collect().len()
    }

    /// The exchanges recorded after `mark`, in `ukey-sim -v`'s line format.
    pub(crate) fn since(&self, mark: usize) -> String {
        self.collect().get(mark..).unwrap_or_default().to_string()
    }

    /// Moves what the spy logged into the trace, and leaves its log empty for the next client.
    fn collect(&self) -> String {
        let log = self.home.join("pcsc-spy");
        let text = fs::read_to_string(&log).unwrap_or_default();
        let mut trace = self
            .trace
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        trace.push_str(&exchanges(&text, &self.reader));
        // An unwritable log only costs the trace, which a failure then shows empty.
        let _ = fs::write(&log, "");
        trace.clone()
    }
}

/// `first`, then the inherited value of the path list `variable`, if any.
fn prepended(variable: &str, first: &Path) -> std::ffi::OsString {
    let mut list = first.as_os_str().to_owned();
    if let Some(inherited) = std::env::var_os(variable).filter(|value| !value.is_empty()) {
        list.push(":");
        list.push(inherited);
    }
    list
}

/// Builds the preloaded library that gives `SCardTransmit` a receive PCI, in `dir`.
fn build_shim(dir: &Path) -> Result<PathBuf, String> {
    let source = dir.join("recv_pci.c");
    let library = dir.join("recv_pci.so");
    fs::write(&source, RECV_PCI_SHIM).map_err(|e| format!("writing {}: {e}", source.display()))?;
    let output = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-I/usr/include/PCSC", "-o"])
        .arg(&library)
        .arg(&source)
        .arg("-ldl")
        .output()
        .map_err(|e| format!("cannot run cc to build the spy's helper: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cc could not build {}: {}",
            library.display(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(library)
}

/// One PC/SC call as the spy logged it: its name, its fields and its return value.
struct Call<'a> {
    name: &'a str,
    fields: Vec<&'a str>,
    rv: &'a str,
}

/// The calls in a spy log, each thread's lines taken apart from the others'.
fn calls(log: &str) -> Vec<Call<'_>> {
    let mut open: HashMap<&str, (&str, Vec<&str>)> = HashMap::new();
    let mut done = Vec::new();
    for line in log.lines() {
        let Some((thread, field)) = line.split_once('@') else {
            continue;
        };
        if let Some(start) = field.strip_prefix(">|") {
            let name = start.rsplit('|').next().unwrap_or_default();
            open.insert(thread, (name, Vec::new()));
        } else if let Some(end) = field.strip_prefix("<|") {
            if let Some((name, fields)) = open.remove(thread) {
                let rv = end.rsplit('|').next().unwrap_or_default();
                done.push(Call { name, fields, rv });
            }
        } else if let Some((_, fields)) = open.get_mut(thread) {
            fields.push(field);
        }
    }
    done
}

/// The successful transmissions to `reader`'s card in a spy log, as `ukey-sim -v` prints
/// them: `pcsc-spy: > COMMAND`, then `pcsc-spy: < DATA SW XXXX`.
fn exchanges(log: &str, reader: &str) -> String {
    const SUCCESS: &str = "0x00000000";
    let mut cards = HashMap::new();
    let mut trace = String::new();
    for call in calls(log).into_iter().filter(|call| call.rv == SUCCESS) {
        match call.name {
            // hContext, szReader, share mode, protocols, phCard and protocol in, then out.
            "SCardConnect" => {
                if let (Some(name), Some(card)) = (call.fields.get(1), call.fields.get(6)) {
                    cards.insert(*card, *name);
                }
            }
            // hCard, the send PCI (2), bSendLength, bSendBuffer, the receive PCI (2),
            // bRecvLength, bRecvBuffer.
            "SCardTransmit" => {
                let to_reader = call
                    .fields
                    .first()
                    .and_then(|card| cards.get(card))
                    .is_some_and(|name| *name == reader);
                if let (true, Some(sent), Some(received)) =
                    (to_reader, call.fields.get(4), call.fields.get(8))
                {
                    trace.push_str(&format!("pcsc-spy: > {}\n", compact(sent)));
                    trace.push_str(&answer(&compact(received)));
                }
            }
            _ => {}
        }
    }
    trace
}

/// The spy's `00 A4 04 ` as `00A404`.
fn compact(bytes: &str) -> String {
    bytes.split_whitespace().collect()
}

/// `DATA SW XXXX` from a response in hex: its last two bytes are the status word.
fn answer(response: &str) -> String {
    match response.len().checked_sub(4) {
        Some(0) => format!("pcsc-spy: < SW {response}\n"),
        Some(at) => format!(
            "pcsc-spy: < {} SW {}\n",
            response.get(..at).unwrap_or_default(),
            response.get(at..).unwrap_or_default()
        ),
        None => format!("pcsc-spy: < (no status word: {response:?})\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shaped as libpcscspy of pcsc-lite 1.9.9 writes it (two threads interleaved, and a
    /// card in another reader).
    const LOG: &str = "\
1@>|1|1|SCardConnect\n1@0x62\n1@Virtual PCD 00 00\n1@0x2\n1@0x3\n1@0xB3\n1@0xB3\n\
1@0x79D69037\n1@0x2\n1@<|1|2|SCardConnect|Command successful.|0x00000000\n\
2@>|1|2|SCardConnect\n2@0x62\n2@Other Reader 00 00\n2@0x2\n2@0x3\n2@0x0\n2@0x0\n\
2@0x11111111\n2@0x2\n2@<|1|2|SCardConnect|Command successful.|0x00000000\n\
1@>|1|3|SCardTransmit\n1@0x79D69037\n1@0x2\n1@0x10\n1@0x4\n\
2@>|1|3|SCardTransmit\n2@0x11111111\n2@0x2\n2@0x10\n2@0x4\n2@00 FD 00 00 \n2@0x1\n\
2@0x10\n2@0x2\n2@6D 00 \n2@<|1|4|SCardTransmit|Command successful.|0x00000000\n\
1@00 F8 00 00 \n1@0x1\n1@0x10\n1@0x6\n1@01 31 2D 01 90 00 \n\
1@<|1|4|SCardTransmit|Command successful.|0x00000000\n\
1@>|1|5|SCardTransmit\n1@0x79D69037\n1@0x2\n1@0x10\n1@0x4\n1@00 20 00 80 \n1@0x1\n\
1@0x10\n1@0x2\n1@63 C3 \n1@<|1|6|SCardTransmit|Command successful.|0x00000000\n";

    #[test]
    fn only_the_readers_exchanges_are_kept_with_their_status_words() {
        assert_eq!(
            exchanges(LOG, "Virtual PCD 00 00"),
            "pcsc-spy: > 00F80000\npcsc-spy: < 01312D01 SW 9000\n\
             pcsc-spy: > 00200080\npcsc-spy: < SW 63C3\n"
        );
    }
}
