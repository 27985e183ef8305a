//! `--reprovision`: re-personalises the token in an existing image with a profile, as a
//! token sent back to be issued again. Its keys, certificates, PINs and serial are
//! replaced by what the profile makes.
//!
//! The new token is made aside (`IMAGE.reprovision`) and renamed over the old image while
//! the old image's lock is held, so a simulator still playing the old token refuses the
//! change (the image is locked) instead of writing to a file that is no longer there.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use ukey_firmware::flash::FileFlash;

use crate::error::{Error, Result};
use crate::token::{LinkKind, Token, TokenOptions};

/// Replaces the token in `options.image` with a new one made from `options` (profile,
/// fixtures, seed). A missing, locked or damaged image is refused and left as it was.
pub fn reprovision(options: &TokenOptions) -> Result<()> {
    let path = options
        .image
        .as_deref()
        .ok_or_else(|| Error::Profile("--reprovision needs --image".into()))?;
    if options.link == LinkKind::Qemu {
        return Err(Error::Profile(
            "--reprovision works on the images of the direct and ccid links".into(),
        ));
    }
    let held = FileFlash::open(path).map_err(Error::Image)?;
    let aside = aside(path);
    remove_if_present(&aside)?;
    let made = Token::open(&TokenOptions {
        image: Some(aside.clone()),
        ..options.clone()
    })
    .and_then(Token::close)
    .and_then(|()| {
        fs::rename(&aside, path)
            .map_err(|error| Error::io(format!("replacing {}", path.display()), error))
    });
    if made.is_err() {
        let _ = remove_if_present(&aside);
    }
    drop(held);
    made
}

/// Where the new token is made before it takes the image's name.
fn aside(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".reprovision");
    PathBuf::from(name)
}

fn remove_if_present(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(error) if error.kind() != ErrorKind::NotFound => {
            Err(Error::io(format!("removing {}", path.display()), error))
        }
        _ => Ok(()),
    }
}
