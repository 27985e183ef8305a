//! A scripted token: each step is the exact command expected and the response to give,
//! or a function that checks the command and answers it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::{Link, Transport};
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
    fn begin(&mut self) -> Result<Box<dyn Link + '_>> {
        self.log.lock().unwrap().transactions += 1;
        Ok(Box::new(ScriptLink(Arc::clone(&self.log))))
    }

    fn reader(&self) -> &str {
        "Scripted Reader 00 00"
    }

    fn reconnect(&mut self) -> Result<()> {
        self.log.lock().unwrap().reconnects += 1;
        Ok(())
    }
}
