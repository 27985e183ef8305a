//! Reading a restarted token's whole state back and narrowing the model's possible states
//! to the one it holds: metadata of PIN, PUK, management key and every slot, every tracked
//! object, then the values that only a command can test (management key, PIN, PUK), and a
//! signature from every key. A state no possible one explains is a failure.

use std::fmt::Debug;

use super::apdu::hex;
use super::commands::{CERTIFICATES, Command, SLOTS};
use super::dice::Dice;
use super::model::{Factory, LABEL, Reference, SUCCESS, SlotKey, Token};
use super::session::{self, ManagementMetadata, SecretMetadata};
use super::token_process::TokenProcess;

/// The objects read back: the four certificates, the label, and two that no trial writes
/// (CCC and key history), so a write landing in the wrong place shows.
pub const TRACKED_OBJECTS: [u32; 7] = [
    CERTIFICATES[0],
    CERTIFICATES[1],
    CERTIFICATES[2],
    CERTIFICATES[3],
    LABEL,
    0x5FC107,
    0x5FC10C,
];

/// One state the token may hold, named after how it got there ("old", "try spent", "new").
#[derive(Clone, Debug)]
pub struct Candidate {
    /// How the command left it; states that are the same are named together ("old = new").
    pub name: String,
    /// The state.
    pub token: Token,
}

/// What the reading found.
pub struct Observed {
    /// The state the token holds (after the reading's own VERIFYs).
    pub state: Candidate,
    /// Keys whose signature was checked.
    pub signatures: usize,
    /// Keys that need a PIN that is blocked, so could not sign.
    pub unsigned: usize,
}

/// Reads `token` back and keeps the `candidates` it matches; fails if none does, or if two
/// different states remain. `test_puk` also tests the PUK when all candidates agree on it.
pub fn observe(
    token: &mut TokenProcess,
    factory: &Factory,
    candidates: Vec<Candidate>,
    test_puk: bool,
    dice: &mut Dice,
) -> Result<Observed, String> {
    let mut narrowing = Narrowing {
        candidates,
        history: Vec::new(),
    };
    for which in [Reference::Pin, Reference::Puk] {
        let observed = session::secret_metadata(token, which)?;
        narrowing.keep(&format!("{which:?} metadata"), observed, |t| {
            secret_metadata(t, which)
        })?;
    }
    let management = session::management_metadata(token)?;
    narrowing.keep("9B metadata", management, |t| ManagementMetadata {
        algorithm: t.management_key.algorithm,
        is_default: t.management_key_is_default,
    })?;
    for slot in SLOTS {
        narrowing.keep_slot(slot, session::slot_metadata(token, slot)?)?;
    }
    for tag in TRACKED_OBJECTS {
        let observed = session::get_object(token, tag)?.map(Shown);
        narrowing.keep(&format!("object {tag:06X}"), observed, |t| {
            factory.readable_object(t, tag).map(Shown)
        })?;
    }
    narrowing.find_management_key(token, dice)?;
    narrowing.test_secret(token, factory, Reference::Pin, true)?;
    narrowing.test_secret(token, factory, Reference::Puk, test_puk)?;
    let state = narrowing.only_one()?;
    let mut observed = Observed {
        state,
        signatures: 0,
        unsigned: 0,
    };
    check_signatures(token, factory, &mut observed, dice)?;
    Ok(observed)
}

/// Signs with every key, after a VERIFY where the key's policy asks for the PIN.
fn check_signatures(
    token: &mut TokenProcess,
    factory: &Factory,
    observed: &mut Observed,
    dice: &mut Dice,
) -> Result<(), String> {
    for (slot, key) in observed.state.token.slots.clone() {
        if key.pin_policy != 0x01 {
            if observed.state.token.pin.is_blocked() {
                observed.unsigned += 1;
                continue;
            }
            let verify = Command::Verify {
                pin: observed.state.token.pin.value.clone(),
            };
            observed.state.token = session::run(token, &verify, &observed.state.token, factory)?;
        }
        session::check_signature(token, slot, &key, dice)?;
        observed.signatures += 1;
    }
    Ok(())
}

fn secret_metadata(token: &Token, which: Reference) -> SecretMetadata {
    let secret = token.secret(which);
    SecretMetadata {
        is_default: secret.is_default,
        tries_max: secret.tries_max,
        tries_left: secret.tries_left,
    }
}

/// An object's value, shown short in messages.
#[derive(PartialEq)]
struct Shown(Vec<u8>);

impl Debug for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bytes = &self.0;
        if bytes.len() <= 24 {
            write!(f, "{}", hex(bytes))
        } else {
            let end = &bytes[bytes.len() - 8..];
            write!(f, "{} bytes {}…{}", bytes.len(), hex(&bytes[..8]), hex(end))
        }
    }
}

/// The candidates still possible, and what ruled the others out.
struct Narrowing {
    candidates: Vec<Candidate>,
    history: Vec<String>,
}

impl Narrowing {
    /// Notes what ruled out candidates, if any were, since there were `before`.
    fn note(&mut self, what: String, before: usize) {
        if self.candidates.len() < before {
            let left: Vec<&str> = self.candidates.iter().map(|c| c.name.as_str()).collect();
            self.history
                .push(format!("{what} left {}", left.join(", ")));
        }
    }

    /// `message`, with what had ruled candidates out before.
    fn failure(&self, message: String) -> String {
        match self.history.as_slice() {
            [] => message,
            history => format!("{message} (before that: {})", history.join("; ")),
        }
    }

    /// Keeps the candidates whose `expected` view equals what the token showed.
    fn keep<T: PartialEq + Debug>(
        &mut self,
        what: &str,
        observed: T,
        expected: impl Fn(&Token) -> T,
    ) -> Result<(), String> {
        let possible: Vec<String> = self
            .candidates
            .iter()
            .map(|c| format!("{}: {:?}", c.name, expected(&c.token)))
            .collect();
        let before = self.candidates.len();
        self.candidates.retain(|c| expected(&c.token) == observed);
        if self.candidates.is_empty() {
            return Err(self.failure(format!(
                "{what} is {observed:?}; possible were {}",
                possible.join(", ")
            )));
        }
        self.note(format!("{what} {observed:?}"), before);
        Ok(())
    }

    /// Keeps the candidates whose key in `slot` is the one shown; a generated key whose
    /// answer was lost takes the public point shown.
    fn keep_slot(&mut self, slot: u8, observed: Option<SlotKey>) -> Result<(), String> {
        let matches = |expected: &Option<SlotKey>| match (expected, &observed) {
            (None, None) => true,
            (Some(expected), Some(seen)) => {
                let mut expected = expected.clone();
                expected.public = expected.public.or_else(|| seen.public.clone());
                expected == *seen
            }
            _ => false,
        };
        let possible: Vec<String> = self
            .candidates
            .iter()
            .map(|c| format!("{}: {:?}", c.name, c.token.slots.get(&slot)))
            .collect();
        let before = self.candidates.len();
        self.candidates
            .retain(|c| matches(&c.token.slots.get(&slot).cloned()));
        if self.candidates.is_empty() {
            return Err(self.failure(format!(
                "slot {slot:02X} holds {observed:?}; possible were {}",
                possible.join(", ")
            )));
        }
        self.note(format!("slot {slot:02X} {observed:?}"), before);
        for candidate in &mut self.candidates {
            if let (Some(key), Some(seen)) = (candidate.token.slots.get_mut(&slot), &observed) {
                key.public = seen.public.clone();
            }
        }
        Ok(())
    }

    /// Finds which candidate's management key the token takes.
    fn find_management_key(
        &mut self,
        token: &mut TokenProcess,
        dice: &mut Dice,
    ) -> Result<(), String> {
        let mut tried = Vec::new();
        for candidate in self.candidates.clone() {
            let key = candidate.token.management_key;
            if tried.contains(&key) {
                continue;
            }
            if session::authenticate(token, &key, dice)? {
                let before = self.candidates.len();
                self.candidates.retain(|c| c.token.management_key == key);
                self.note(format!("management key {}", hex(&key.key)), before);
                return Ok(());
            }
            tried.push(key);
        }
        Err(self.failure(format!(
            "the token takes none of the possible management keys {}",
            tried
                .iter()
                .map(|key| format!("{:02X}:{}", key.algorithm, hex(&key.key)))
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }

    /// Tests the PIN (VERIFY) or PUK (CHANGE REFERENCE DATA to itself) with each candidate's
    /// value until one is taken; every answer must be the model's for the candidates kept.
    /// Skipped when it is blocked, or when `always` is false and all candidates agree.
    fn test_secret(
        &mut self,
        token: &mut TokenProcess,
        factory: &Factory,
        which: Reference,
        always: bool,
    ) -> Result<(), String> {
        let values: Vec<Vec<u8>> = self.candidates.iter().fold(Vec::new(), |mut values, c| {
            let value = &c.token.secret(which).value;
            if !values.contains(value) {
                values.push(value.clone());
            }
            values
        });
        let blocked = self
            .candidates
            .iter()
            .all(|c| c.token.secret(which).is_blocked());
        if blocked || (values.len() == 1 && !always) {
            return Ok(());
        }
        for value in values {
            let command = match which {
                Reference::Pin => Command::Verify { pin: value },
                Reference::Puk => Command::ChangeReference {
                    which,
                    old: value.clone(),
                    new: value,
                },
            };
            let (_, status) = token.command(&command.apdu())?;
            let before = self.candidates.clone();
            self.candidates = before
                .iter()
                .filter_map(|c| {
                    let outcomes = command.outcomes(&c.token, factory);
                    (outcomes.status == status).then(|| Candidate {
                        name: c.name.clone(),
                        token: outcomes.completed,
                    })
                })
                .collect();
            if self.candidates.is_empty() {
                let expected: Vec<String> = before
                    .iter()
                    .map(|c| {
                        format!(
                            "{}: {:04X}",
                            c.name,
                            command.outcomes(&c.token, factory).status
                        )
                    })
                    .collect();
                return Err(self.failure(format!(
                    "{command} answered {status:04X}; possible were {}",
                    expected.join(", ")
                )));
            }
            self.note(format!("{command} {status:04X}"), before.len());
            if status == SUCCESS {
                break;
            }
        }
        Ok(())
    }

    /// The one state left; identical candidates count as one.
    fn only_one(mut self) -> Result<Candidate, String> {
        let mut first = self.candidates.remove(0);
        if let Some(other) = self.candidates.iter().find(|c| c.token != first.token) {
            return Err(self.failure(format!(
                "the reading could not tell {} from {}:\n{:?}\n{:?}",
                first.name, other.name, first.token, other.token
            )));
        }
        for other in self.candidates {
            if !first.name.split(" = ").any(|name| name == other.name) {
                first.name = format!("{} = {}", first.name, other.name);
            }
        }
        Ok(first)
    }
}
