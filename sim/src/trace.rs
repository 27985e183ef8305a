//! `-v`: every power event, APDU and status word in hex on stderr.

use std::fmt::Write as _;

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
        Some(atr) => eprintln!("ukey-sim: {event}, ATR {}", hex(atr)),
        None => eprintln!("ukey-sim: {event}"),
    }
}

/// Logs a command APDU.
pub(crate) fn command(apdu: &[u8]) {
    eprintln!("ukey-sim: > {}", hex(apdu));
}

/// Logs a response: data, then the status word.
pub(crate) fn response(response: &[u8]) {
    let (data, sw) = response.split_at(response.len().saturating_sub(2));
    if data.is_empty() {
        eprintln!("ukey-sim: < SW {}", hex(sw));
    } else {
        eprintln!("ukey-sim: < {} SW {}", hex(data), hex(sw));
    }
}
