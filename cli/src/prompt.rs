//! PINs and PUKs from their options, or asked for without echo.

use ukey_host::Pin;

use crate::Failure;
use crate::error::Error;

/// A PIN or PUK from its option, or asked for without echo.
pub(crate) fn secret(given: Option<&str>, prompt: &str) -> Result<Pin, Failure> {
    match given {
        Some(value) => Ok(Pin::new(value)?),
        None => Ok(Pin::new(&ask(prompt)?)?),
    }
}

/// A new PIN or PUK from its option, or asked for twice without echo.
/// A factory value (`123456`, `12345678`) is refused: anyone holding the token may try it.
pub(crate) fn new_secret(given: Option<&str>, what: &str) -> Result<Pin, Failure> {
    let pin = match given {
        Some(value) => Pin::new(value)?,
        None => {
            let first =
                zeroize::Zeroizing::new(ask(&format!("New {what} (6 to 8 ASCII characters): "))?);
            let pin = Pin::new(&first)?;
            let again = zeroize::Zeroizing::new(ask(&format!("New {what} again: "))?);
            if *first != *again {
                return Err(Error::Usage(format!("the two {what}s differ")).into());
            }
            pin
        }
    };
    if pin.is_factory_default() {
        return Err(Error::Usage(format!(
            "the new {what} is a factory value that anyone may try; choose another of 6 to 8 \
             ASCII characters"
        ))
        .into());
    }
    Ok(pin)
}

fn ask(prompt: &str) -> Result<String, Failure> {
    rpassword::prompt_password(prompt).map_err(|_| {
        Failure::from(Error::Usage(format!(
            "{} not given and there is no terminal to ask on",
            prompt.trim_end_matches([':', ' '])
        )))
    })
}
