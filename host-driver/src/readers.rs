//! Finding tokens: which readers pcscd knows, which of them hold a ukey (PIV) token, and
//! opening one by reader name or serial.

use crate::error::{Error, Result};
use crate::piv::Version;
use crate::token::Token;
use crate::transport::{self, PcscTransport};

/// Which token to open.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Selector {
    /// The only token connected; with several, [`Error::SeveralTokens`] lists them.
    #[default]
    Any,
    /// The token in the reader whose name is this, or contains it (case does not matter).
    Reader(String),
    /// The token with this serial number.
    Serial(u32),
}

impl Selector {
    /// Which of `names` (readers' names) this selector picks: for a reader name, the reader
    /// of exactly that name, else every reader whose name contains it (case does not
    /// matter); for the others, every reader. The one rule `open`, `wait` and `doctor` share.
    pub fn pick<'a, T>(&self, names: &'a [T], name: impl Fn(&T) -> &str) -> Vec<&'a T> {
        let Selector::Reader(wanted) = self else {
            return names.iter().collect();
        };
        let exact: Vec<_> = names.iter().filter(|n| name(n) == wanted).collect();
        if !exact.is_empty() {
            return exact;
        }
        let wanted = wanted.to_lowercase();
        names
            .iter()
            .filter(|n| name(n).to_lowercase().contains(&wanted))
            .collect()
    }
}

/// One reader and what it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ReaderInfo {
    /// The reader's name as pcscd gives it.
    pub name: String,
    /// Whether a card or token is seen in it.
    pub card_present: bool,
    /// The token in it, if the card answers as a ukey (PIV) token.
    pub token: Option<TokenSummary>,
}

/// The identity of a token found in a reader.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct TokenSummary {
    /// Serial number, when the token tells it.
    pub serial: Option<u32>,
    /// The PIV version GET VERSION answers (YubiKey numbering), when the token tells it;
    /// the firmware's own version is in [`crate::DeviceInfo::firmware`].
    pub version: Option<Version>,
    /// The application label.
    pub application: Option<String>,
}

/// Every reader pcscd knows, each with its token if it holds one.
pub fn readers() -> Result<Vec<ReaderInfo>> {
    let context = transport::establish()?;
    let mut out = Vec::new();
    for name in transport::reader_names(&context)? {
        let display = name.to_string_lossy().into_owned();
        let info = match PcscTransport::connect(context.clone(), &name) {
            Ok(t) => {
                let mut token = Token::with_transport(Box::new(t));
                ReaderInfo {
                    name: display,
                    card_present: true,
                    token: summary(&mut token),
                }
            }
            Err(Error::NoCard { .. }) | Err(Error::CardRemoved) => ReaderInfo {
                name: display,
                card_present: false,
                token: None,
            },
            Err(Error::TokenBusy) => ReaderInfo {
                name: display,
                card_present: true,
                token: None,
            },
            Err(e) => return Err(e),
        };
        out.push(info);
    }
    Ok(out)
}

fn summary(token: &mut Token) -> Option<TokenSummary> {
    let app = token.application().ok()?;
    Some(TokenSummary {
        serial: token.serial().ok(),
        version: token.version().ok(),
        application: app.label,
    })
}

impl Token {
    /// Opens the token `selector` names. When none matches, the error says what was seen
    /// instead: no pcscd, no reader, a reader with no card, a card that is no ukey token.
    pub fn open(selector: &Selector) -> Result<Token> {
        let context = transport::establish()?;
        let names = transport::reader_names(&context)?;
        if names.is_empty() {
            return Err(Error::NoReader);
        }
        let display: Vec<(String, &std::ffi::CString)> = names
            .iter()
            .map(|n| (n.to_string_lossy().into_owned(), n))
            .collect();
        let candidates: Vec<_> = selector
            .pick(&display, |(name, _)| name)
            .into_iter()
            .map(|(_, n)| *n)
            .collect();
        if let (Selector::Reader(wanted), true) = (selector, candidates.is_empty()) {
            return Err(Error::ReaderNotFound {
                reader: wanted.clone(),
            });
        }
        if *selector == Selector::Any && candidates.len() > 1 {
            return only_token(&context, &candidates);
        }
        let mut first_problem = None;
        for name in candidates {
            let attempt = open_piv(&context, name).and_then(|mut token| {
                if let Selector::Serial(wanted) = selector {
                    let serial = token.serial()?;
                    if serial != *wanted {
                        return Err(Error::TokenNotFound { serial: *wanted });
                    }
                }
                Ok(token)
            });
            match attempt {
                Ok(token) => return Ok(token),
                Err(e @ (Error::PcscdNotRunning | Error::TokenBusy)) => return Err(e),
                Err(e) => {
                    first_problem.get_or_insert(e);
                }
            }
        }
        Err(match (selector, first_problem) {
            (Selector::Serial(serial), _) => Error::TokenNotFound { serial: *serial },
            (_, Some(e)) => e,
            (_, None) => Error::NoToken,
        })
    }
}

/// The one ukey token among several readers; several tokens are refused with their list,
/// and when none holds one, the first problem seen says why.
fn only_token(context: &pcsc::Context, names: &[&std::ffi::CString]) -> Result<Token> {
    let mut found = Vec::new();
    let mut first_problem = None;
    for name in names {
        match open_piv(context, name) {
            Ok(token) => found.push((name.to_string_lossy().into_owned(), token)),
            Err(e @ (Error::PcscdNotRunning | Error::TokenBusy)) => return Err(e),
            Err(e) => {
                first_problem.get_or_insert(e);
            }
        }
    }
    if found.len() > 1 {
        let tokens = found
            .iter_mut()
            .map(|(reader, token)| match token.serial() {
                Ok(serial) => format!("\"{reader}\" (serial {serial})"),
                Err(_) => format!("\"{reader}\""),
            })
            .collect();
        return Err(Error::SeveralTokens { tokens });
    }
    match found.pop() {
        Some((_, token)) => Ok(token),
        None => Err(first_problem.unwrap_or(Error::NoToken)),
    }
}

/// The token in reader `name`, its PIV application selected.
fn open_piv(context: &pcsc::Context, name: &std::ffi::CStr) -> Result<Token> {
    let mut token = Token::with_transport(Box::new(PcscTransport::connect(context.clone(), name)?));
    token.application()?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 3] = [
        "Virtual PCD 00 00",
        "Virtual PCD 00 01",
        "Yubico YubiKey OTP+FIDO+CCID 01 00",
    ];

    fn picked(selector: Selector) -> Vec<&'static str> {
        selector.pick(&NAMES, |n| n).into_iter().copied().collect()
    }

    #[test]
    fn a_reader_name_picks_the_exact_name_first_then_any_containing_it() {
        let reader = |name: &str| Selector::Reader(name.to_string());
        assert_eq!(picked(reader("Virtual PCD 00 00")), ["Virtual PCD 00 00"]);
        assert_eq!(picked(reader("virtual pcd")), &NAMES[..2]);
        assert_eq!(picked(reader("yubikey")), [NAMES[2]]);
        assert!(picked(reader("Gemalto")).is_empty());
        assert_eq!(picked(Selector::Any), NAMES);
        assert_eq!(picked(Selector::Serial(7)), NAMES);
    }
}
