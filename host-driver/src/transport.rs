//! How APDUs reach a token: PC/SC in real use, a script in tests. The rest of the crate only
//! sees [`Transport`] and [`Link`], so both drive the same code.

use std::ffi::{CStr, CString};

use pcsc::{Card, Context, Disposition, Protocols, Scope, ShareMode};

use crate::error::{Error, Result};

/// A connection to one token that can open transactions.
pub(crate) trait Transport: Send {
    /// Opens a transaction: no other program's APDUs come between those sent through the
    /// returned session. A token that was reset, removed and put back, or whose pcscd was
    /// restarted, is reconnected first; if it cannot be, the error says why.
    fn begin(&mut self) -> Result<Session<'_>>;

    /// The name of the reader the token sits in.
    fn reader(&self) -> &str;

    /// Connects again after the connection was lost (token reset, pulled out and put
    /// back, pcscd restarted), or says why it cannot.
    fn reconnect(&mut self) -> Result<()>;
}

/// Sends one encoded command APDU and returns the response with its status word.
pub(crate) trait Link {
    /// One command, one response (data then SW1 SW2).
    fn exchange(&mut self, command: &[u8]) -> Result<Vec<u8>>;
}

/// An open transaction.
pub(crate) struct Session<'a> {
    /// Where APDUs go.
    pub(crate) link: Box<dyn Link + 'a>,
}

/// The largest response PC/SC can give (extended length plus status word).
const MAX_RESPONSE: usize = pcsc::MAX_BUFFER_SIZE_EXTENDED;

/// A token reached through pcscd.
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
    fn begin(&mut self) -> Result<Session<'_>> {
        if let Err(err) = self.card.status2_len() {
            self.recover(err)?;
        }
        let tx = self.card.transaction().map_err(Error::from_pcsc)?;
        Ok(Session {
            link: Box::new(PcscLink {
                tx,
                buf: vec![0; MAX_RESPONSE],
            }),
        })
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

#[cfg(test)]
pub(crate) mod script {
    //! A scripted token: each step is the exact command expected and the response to give,
    //! or a function that checks the command and answers it.

    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    use super::{Link, Session, Transport};
    use crate::error::{Error, Result};

    /// A function playing the token for one command.
    pub(crate) type Responder = Box<dyn FnMut(&[u8]) -> Vec<u8> + Send>;

    /// One step of a script.
    pub(crate) enum Step {
        /// This exact command gets this response.
        Exact(Vec<u8>, Vec<u8>),
        /// The function checks the command and answers it.
        Respond(Responder),
        /// The connection is lost at this command.
        Lost,
    }

    /// The shared state of a script, kept by the test to check what happened.
    #[derive(Default)]
    pub(crate) struct Log {
        /// Steps not yet played.
        pub(crate) steps: VecDeque<Step>,
        /// How many transactions were opened.
        pub(crate) transactions: usize,
        /// How many times the token was reconnected.
        pub(crate) reconnects: usize,
    }

    /// A transport that plays a script.
    pub(crate) struct Script {
        pub(crate) log: Arc<Mutex<Log>>,
    }

    /// Parses "00 A4 04 00 ..." into bytes.
    pub(crate) fn hex(s: &str) -> Vec<u8> {
        let digits: String = s.split_whitespace().collect();
        (0..digits.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
            .collect()
    }

    impl Script {
        /// A script of (command, response) pairs written in hex.
        pub(crate) fn new(steps: &[(&str, &str)]) -> (Self, Arc<Mutex<Log>>) {
            Self::from_bytes(steps.iter().map(|(c, r)| (hex(c), hex(r))).collect())
        }

        /// A script of (command, response) pairs.
        pub(crate) fn from_bytes(steps: Vec<(Vec<u8>, Vec<u8>)>) -> (Self, Arc<Mutex<Log>>) {
            Self::from_steps(steps.into_iter().map(|(c, r)| Step::Exact(c, r)).collect())
        }

        /// A script of steps.
        pub(crate) fn from_steps(steps: Vec<Step>) -> (Self, Arc<Mutex<Log>>) {
            let log = Arc::new(Mutex::new(Log {
                steps: steps.into(),
                transactions: 0,
                reconnects: 0,
            }));
            (
                Self {
                    log: Arc::clone(&log),
                },
                log,
            )
        }
    }

    struct ScriptLink(Arc<Mutex<Log>>);

    impl Link for ScriptLink {
        fn exchange(&mut self, command: &[u8]) -> Result<Vec<u8>> {
            let mut log = self.0.lock().unwrap();
            match log.steps.pop_front() {
                None => Err(Error::CardRemoved),
                Some(Step::Exact(expected, response)) => {
                    assert_eq!(
                        command,
                        expected.as_slice(),
                        "command {command:02X?} where the script expects {expected:02X?}"
                    );
                    Ok(response)
                }
                Some(Step::Respond(mut f)) => Ok(f(command)),
                Some(Step::Lost) => Err(Error::CardReset),
            }
        }
    }

    impl Transport for Script {
        fn begin(&mut self) -> Result<Session<'_>> {
            self.log.lock().unwrap().transactions += 1;
            Ok(Session {
                link: Box::new(ScriptLink(Arc::clone(&self.log))),
            })
        }

        fn reader(&self) -> &str {
            "Scripted Reader 00 00"
        }

        fn reconnect(&mut self) -> Result<()> {
            self.log.lock().unwrap().reconnects += 1;
            Ok(())
        }
    }
}
