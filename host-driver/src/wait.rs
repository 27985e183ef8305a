//! Waiting for a token to be plugged in: [`wait_for_token`] watches pcscd's readers and
//! returns the first one that holds a ukey token, or an error after a timeout.
//!
//! Tokens are only asked who they are when pcscd reports a change (a reader or a card
//! came or went), so a wait does not send APDUs to tokens other programs are using.
//! Problems met while waiting (no pcscd yet, no reader) are passed to the caller as they
//! change, for it to show; the wait goes on through them.

use std::thread;
use std::time::{Duration, Instant};

use pcsc::{ReaderState, State};

use crate::error::{Error, Result};
use crate::readers::{ReaderInfo, Selector, readers};
use crate::transport;

/// How often pcscd's reader states are looked at.
const POLL: Duration = Duration::from_millis(100);
/// How often the readers are asked again when pcscd reports no change (a token that was
/// busy or not yet answering).
const RETRY: Duration = Duration::from_secs(1);

/// Waits until a reader holds a ukey token that `selector` picks (by reader name, exact or
/// contained with case ignored, or by serial) and returns that reader with its token. `on_problem` is
/// called with each new problem seen while waiting (once per change, not per poll). After
/// `timeout` the answer is [`Error::WaitTimedOut`], naming the last thing seen.
pub fn wait_for_token(
    selector: &Selector,
    timeout: Duration,
    mut on_problem: impl FnMut(&Error),
) -> Result<ReaderInfo> {
    let started = Instant::now();
    let mut last_states = None;
    let mut last_asked = started;
    let mut last_problem: Option<String> = None;
    loop {
        let seen = reader_states().and_then(|states| {
            if last_states.as_ref() == Some(&states) && last_asked.elapsed() < RETRY {
                return Ok(None);
            }
            last_states = Some(states);
            last_asked = Instant::now();
            find(selector).map(Some)
        });
        let problem = match seen {
            Ok(Some(Ok(found))) => return Ok(found),
            Ok(Some(Err(missing))) => Some(missing),
            Ok(None) => None,
            Err(error) => {
                last_states = None;
                Some(error)
            }
        };
        if let Some(problem) = problem {
            let said = problem.to_string();
            if last_problem.as_deref() != Some(said.as_str()) {
                on_problem(&problem);
                last_problem = Some(said);
            }
        }
        if started.elapsed() >= timeout {
            return Err(Error::WaitTimedOut {
                waited: timeout,
                last: last_problem.unwrap_or_else(|| "nothing changed".into()),
            });
        }
        thread::sleep(POLL);
    }
}

/// The reader holding the token `selector` picks, or what was seen instead.
fn find(selector: &Selector) -> Result<std::result::Result<ReaderInfo, Error>> {
    let all = readers()?;
    if all.is_empty() {
        return Ok(Err(Error::NoReader));
    }
    let picked = |info: &&ReaderInfo| match (selector, &info.token) {
        (_, None) => false,
        (Selector::Serial(wanted), Some(token)) => token.serial == Some(*wanted),
        _ => true,
    };
    let named = selector.pick(&all, |info| &info.name);
    Ok(named
        .into_iter()
        .find(picked)
        .cloned()
        .ok_or_else(|| match selector {
            Selector::Serial(serial) => Error::TokenNotFound { serial: *serial },
            Selector::Reader(reader) => Error::NoCard {
                reader: reader.clone(),
            },
            Selector::Any => Error::NoToken,
        }))
}

/// Every reader's name and event count, as pcscd reports them.
fn reader_states() -> Result<Vec<(String, u32, bool)>> {
    let context = transport::establish()?;
    let mut states: Vec<ReaderState> = transport::reader_names(&context)?
        .into_iter()
        .map(|name| ReaderState::new(name, State::UNAWARE))
        .collect();
    if !states.is_empty() {
        context
            .get_status_change(Duration::ZERO, &mut states)
            .map_err(Error::from_pcsc)?;
    }
    Ok(states
        .iter()
        .map(|state| {
            (
                state.name().to_string_lossy().into_owned(),
                state.event_count(),
                state.event_state().contains(State::PRESENT),
            )
        })
        .collect())
}
