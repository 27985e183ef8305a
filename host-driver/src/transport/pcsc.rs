//! A token reached through pcscd (PC/SC Lite's client library, through the `pcsc` crate).
//! A token that was reset, pulled out and put back, or whose pcscd was restarted, is
//! reconnected at the start of the next transaction.

use std::ffi::{CStr, CString};

use pcsc::{Card, Context, Disposition, Protocols, Scope, ShareMode};

use super::{Link, Transport};
use crate::error::{Error, Result};

/// The largest response PC/SC can give (extended length plus status word).
const MAX_RESPONSE: usize = pcsc::MAX_BUFFER_SIZE_EXTENDED;

/// A token reached through pcscd: the transport [`Token::open`](crate::Token::open) uses.
pub(crate) struct PcscTransport {
    card: Card,
    reader: CString,
    name: String,
}

/// Opens a PC/SC context, translating "no service" into the user's words.
pub(crate) fn establish() -> Result<Context> {
    Context::establish(Scope::User).map_err(Error::from_pcsc)
}

/// The names of all readers pcscd knows.
pub(crate) fn reader_names(context: &Context) -> Result<Vec<CString>> {
    match context.list_readers_owned() {
        Ok(names) => Ok(names),
        Err(pcsc::Error::NoReadersAvailable) => Ok(Vec::new()),
        Err(err) => Err(Error::from_pcsc(err)),
    }
}

impl PcscTransport {
    /// Connects to the card in `reader`.
    pub(crate) fn connect(context: Context, reader: &CStr) -> Result<Self> {
        let name = reader.to_string_lossy().into_owned();
        let card = context
            .connect(reader, ShareMode::Shared, Protocols::ANY)
            .map_err(|err| match err {
                pcsc::Error::NoSmartcard | pcsc::Error::RemovedCard => Error::NoCard {
                    reader: name.clone(),
                },
                pcsc::Error::UnknownReader | pcsc::Error::ReaderUnavailable => {
                    Error::ReaderNotFound {
                        reader: name.clone(),
                    }
                }
                other => Error::from_pcsc(other),
            })?;
        Ok(Self {
            card,
            reader: reader.to_owned(),
            name,
        })
    }

    /// Brings the connection back after `err`, or says clearly why it cannot.
    fn recover(&mut self, err: pcsc::Error) -> Result<()> {
        match err {
            pcsc::Error::InvalidHandle
            | pcsc::Error::NoService
            | pcsc::Error::ServiceStopped
            | pcsc::Error::Shutdown
            | pcsc::Error::ReaderUnavailable
            | pcsc::Error::UnknownReader => {
                let context = establish()?;
                let fresh = Self::connect(context, &self.reader).map_err(|e| match e {
                    Error::NoCard { .. } => Error::CardRemoved,
                    other => other,
                })?;
                *self = fresh;
                Ok(())
            }
            _ => {
                match self
                    .card
                    .reconnect(ShareMode::Shared, Protocols::ANY, Disposition::LeaveCard)
                {
                    Ok(()) => Ok(()),
                    Err(pcsc::Error::NoSmartcard | pcsc::Error::RemovedCard) => {
                        Err(Error::CardRemoved)
                    }
                    Err(
                        e @ (pcsc::Error::InvalidHandle
                        | pcsc::Error::NoService
                        | pcsc::Error::ServiceStopped),
                    ) => self.recover(e),
                    Err(other) => Err(Error::from_pcsc(other)),
                }
            }
        }
    }
}

impl Transport for PcscTransport {
    fn begin(&mut self) -> Result<Box<dyn Link + '_>> {
        if let Err(err) = self.card.status2_len() {
            self.recover(err)?;
        }
        let tx = self.card.transaction().map_err(Error::from_pcsc)?;
        Ok(Box::new(PcscLink {
            tx,
            buf: vec![0; MAX_RESPONSE],
        }))
    }

    fn reader(&self) -> &str {
        &self.name
    }

    fn reconnect(&mut self) -> Result<()> {
        let err = self
            .card
            .status2_len()
            .err()
            .unwrap_or(pcsc::Error::ResetCard);
        self.recover(err)
    }
}

struct PcscLink<'a> {
    tx: pcsc::Transaction<'a>,
    buf: Vec<u8>,
}

impl Link for PcscLink<'_> {
    fn exchange(&mut self, command: &[u8]) -> Result<Vec<u8>> {
        let response = self
            .tx
            .transmit(command, &mut self.buf)
            .map_err(Error::from_pcsc)?;
        Ok(response.to_vec())
    }
}
