//! How APDUs reach a token. [`Token`](crate::Token) holds a [`Transport`]: pcscd in real use
//! ([`Token::open`](crate::Token::open)), a script in this crate's tests, or any other a
//! program plugs in with [`Token::with_transport`](crate::Token::with_transport).
//! [`Recording`] wraps one to see every APDU a call costs.

mod pcsc;
mod recording;
#[cfg(test)]
pub(crate) mod script;

pub(crate) use self::pcsc::{PcscTransport, establish, reader_names};
pub use recording::{ApduLog, Exchange, Recording};

use crate::error::Result;

/// A connection to one token that can open transactions.
pub trait Transport: Send {
    /// Opens a transaction: no other program's APDUs come between those sent through the
    /// returned link, until it is dropped. A token that was reset, removed and put back, or
    /// whose pcscd was restarted, is reconnected first; if it cannot be, the error says why.
    fn begin(&mut self) -> Result<Box<dyn Link + '_>>;

    /// The name of the reader the token sits in.
    fn reader(&self) -> &str;

    /// Connects again after the connection was lost (token reset, pulled out and put
    /// back, pcscd restarted), or says why it cannot.
    fn reconnect(&mut self) -> Result<()>;
}

/// Sends one encoded command APDU and returns the response with its status word.
pub trait Link {
    /// One command, one response (data then SW1 SW2).
    fn exchange(&mut self, command: &[u8]) -> Result<Vec<u8>>;
}

impl Transport for Box<dyn Transport> {
    fn begin(&mut self) -> Result<Box<dyn Link + '_>> {
        (**self).begin()
    }

    fn reader(&self) -> &str {
        (**self).reader()
    }

    fn reconnect(&mut self) -> Result<()> {
        (**self).reconnect()
    }
}
