//! `-v`: every power event, APDU and status word in hex, on stderr or, for a token started
//! with [`crate::Testbed::insert_traced`], into a [`TraceLog`] that a test shows when a step
//! fails.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};

/// A token's trace kept in memory, in the lines `ukey-sim -v` prints. Cloning it gives
/// another handle on the same log.
#[derive(Clone, Debug, Default)]
pub struct TraceLog(Arc<Mutex<String>>);

impl TraceLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Where the log ends now; [`TraceLog::since`] gives what came after it.
    pub fn mark(&self) -> usize {
        self.lock(|text| text.len())
    }

    /// The lines logged after `mark` (all of them for mark 0).
    pub fn since(&self, mark: usize) -> String {
        self.lock(|text| text.get(mark..).unwrap_or_default().to_string())
    }

    fn push(&self, line: &str) {
        self.lock(|text| {
            text.push_str(line);
            text.push('\n');
        });
    }

    fn lock<T>(&self, f: impl FnOnce(&mut String) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

thread_local! {
    /// Where this thread's trace lines go instead of stderr.
    static CAPTURE: RefCell<Option<TraceLog>> = const { RefCell::new(None) };
}

/// From now on, this thread's trace lines go to `log` instead of stderr.
pub(crate) fn capture(log: TraceLog) {
    CAPTURE.with(|capture| *capture.borrow_mut() = Some(log));
}

fn emit(line: &str) {
    CAPTURE.with(|capture| match capture.borrow().as_ref() {
        Some(log) => log.push(line),
        None => eprintln!("{line}"),
    });
}

/// Upper-case hex without separators, as APDU traces are usually written.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(text, "{byte:02X}");
    }
    text
}

/// Logs a power event and the ATR it produced.
pub(crate) fn power(event: &str, atr: Option<&[u8]>) {
    match atr {
        Some(atr) => emit(&format!("ukey-sim: {event}, ATR {}", hex(atr))),
        None => emit(&format!("ukey-sim: {event}")),
    }
}

/// Logs a command APDU.
pub(crate) fn command(apdu: &[u8]) {
    emit(&format!("ukey-sim: > {}", hex(apdu)));
}

/// Logs a response: data, then the status word.
pub(crate) fn response(response: &[u8]) {
    let (data, sw) = response.split_at(response.len().saturating_sub(2));
    if data.is_empty() {
        emit(&format!("ukey-sim: < SW {}", hex(sw)));
    } else {
        emit(&format!("ukey-sim: < {} SW {}", hex(data), hex(sw)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_captured_thread_logs_into_its_trace_and_marks_split_it() {
        let log = TraceLog::new();
        let writer = log.clone();
        std::thread::spawn(move || {
            capture(writer);
            command(&[0x00, 0xA4, 0x04, 0x00]);
        })
        .join()
        .ok();
        let mark = log.mark();
        let other = log.clone();
        std::thread::spawn(move || {
            capture(other);
            response(&[0x01, 0x90, 0x00]);
        })
        .join()
        .ok();
        assert_eq!(
            log.since(0),
            "ukey-sim: > 00A40400\nukey-sim: < 01 SW 9000\n"
        );
        assert_eq!(log.since(mark), "ukey-sim: < 01 SW 9000\n");
        assert_eq!(log.since(usize::MAX), "");
    }
}
