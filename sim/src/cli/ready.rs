//! The readiness line: once pcscd has seen the token, one line on stdout,
//!
//! ```text
//! ready reader="Virtual PCD 00 00" serial=10000001 link=direct vpcd=127.0.0.1:35963
//! ```
//!
//! `reader` is the PC/SC reader that got a card when this token was seen: the one reader
//! with a card whose event count changed meanwhile (`unknown` when pcscd cannot be asked,
//! or several readers changed at that moment); `serial` is the
//! token's GET SERIAL in decimal; `link` is `direct`, `ccid` or `qemu`; `vpcd` the address
//! the token plays at. Nothing else goes to stdout. When pcscd has not seen the token in
//! time, the wait ends with an error and the token stops.

use std::collections::HashMap;
use std::io::Write;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use pcsc::{Context, ReaderState, Scope, State};
use ukey_sim::Control;

/// How long pcscd's reader list is watched for the reader that got the card.
const NAMING: Duration = Duration::from_secs(2);

/// What the readiness line says besides the reader.
pub(super) struct Announcement {
    pub(super) serial: u32,
    pub(super) link: &'static str,
    pub(super) vpcd: String,
}

/// Watches `control` from a thread: prints the readiness line when pcscd sees the token,
/// or stops the token when it has not within `timeout`. The thread answers whether it
/// gave up waiting (a stop asked for before is no failure).
pub(super) fn announce_when_seen(
    control: Control,
    announcement: Announcement,
    timeout: Duration,
) -> std::io::Result<JoinHandle<bool>> {
    let before = reader_events().unwrap_or_default();
    eprintln!(
        "ukey-sim: waiting up to {timeout:?} for pcscd to power the token on through vpcd at {}",
        announcement.vpcd
    );
    thread::Builder::new()
        .name("readiness".into())
        .spawn(move || {
            if !control.wait_seen(timeout) {
                let gave_up = !control.is_stopped();
                control.stop();
                return gave_up;
            }
            let reader = reader_that_got_the_card(&before);
            println!(
                "ready reader=\"{}\" serial={} link={} vpcd={}",
                reader.as_deref().unwrap_or("unknown"),
                announcement.serial,
                announcement.link,
                announcement.vpcd
            );
            let _ = std::io::stdout().flush();
            false
        })
}

/// The one reader that has a card now and whose event count is not the one in `before`,
/// once pcscd shows it.
fn reader_that_got_the_card(before: &HashMap<String, Event>) -> Option<String> {
    let started = Instant::now();
    loop {
        let now = reader_events()?;
        let mut new = now
            .iter()
            .filter(|(name, event)| {
                event.card && before.get(*name).map(|e| e.count) != Some(event.count)
            })
            .map(|(name, _)| name);
        match (new.next(), new.next()) {
            (Some(reader), None) => return Some(reader.clone()),
            (Some(_), Some(_)) => return None,
            (None, _) if started.elapsed() > NAMING => return None,
            (None, _) => thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// A reader's state as pcscd tells it.
#[derive(Clone, Copy)]
struct Event {
    /// How many card events pcscd has counted in the reader.
    count: u32,
    /// Whether a card is in it.
    card: bool,
}

/// Every reader's state; `None` when pcscd cannot be asked.
fn reader_events() -> Option<HashMap<String, Event>> {
    let context = Context::establish(Scope::User).ok()?;
    let names = context.list_readers_owned().ok()?;
    let mut states: Vec<ReaderState> = names
        .into_iter()
        .map(|name| ReaderState::new(name, State::UNAWARE))
        .collect();
    context
        .get_status_change(Duration::ZERO, &mut states)
        .ok()?;
    Some(
        states
            .iter()
            .map(|state| {
                let event = Event {
                    count: state.event_count(),
                    card: state.event_state().contains(State::PRESENT),
                };
                (state.name().to_string_lossy().into_owned(), event)
            })
            .collect(),
    )
}
