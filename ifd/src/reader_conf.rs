//! Entries of pcscd's reader.conf (pcsc-lite's `reader.conf(5)`, read from
//! `/etc/reader.conf.d/` or `pcscd --config DIR`) that load this driver.
//!
//! pcsc-lite 1.9.9 takes `DEVICENAME` and `LIBPATH` as one word of letters, digits and
//! `= \ / - . _ @ :` (a quoted value keeps its quotes), and refuses a reader whose
//! `DEVICENAME` names no file. `FRIENDLYNAME` is quoted.
//!
//! Readers loaded from one driver file share it: pcscd numbers them in the order it reads
//! them (`FRIENDLYNAME 00 00`, `FRIENDLYNAME 01 00`, …; the second number is the slot), so
//! keep them in one reader.conf file, whose entries it reads in order.

use std::path::{Path, PathBuf};

use crate::config::MAX_SLOTS;

/// A reader.conf entry for one reader: `friendly_name` as pcscd shows it, `config` the
/// reader's configuration file, `library` this driver's shared object (`libukey_ifd.so`).
/// Refuses names pcscd would read otherwise.
pub fn entry(friendly_name: &str, config: &Path, library: &Path) -> Result<String, String> {
    if friendly_name.is_empty()
        || friendly_name
            .chars()
            .any(|c| c == '"' || c == '\'' || c.is_control())
    {
        return Err(format!(
            "reader name {friendly_name:?}: use printable characters without quotes"
        ));
    }
    let config = word("DEVICENAME", config)?;
    let library = word("LIBPATH", library)?;
    Ok(format!(
        "FRIENDLYNAME \"{friendly_name}\"\nDEVICENAME {config}\nLIBPATH {library}\n\n"
    ))
}

/// The PC/SC name of `slot` of the `reader`th reader of this driver in pcscd, for a
/// reader.conf whose entries are read in order.
pub fn reader_name(friendly_name: &str, reader: usize, slot: usize) -> String {
    debug_assert!(reader < MAX_SLOTS && slot < MAX_SLOTS);
    format!("{friendly_name} {reader:02X} {slot:02X}")
}

/// The driver's file name, as cargo builds it.
pub const DRIVER_FILE: &str = "libukey_ifd.so";
/// Where a driver installed for the system's pcscd is (Debian's serial driver folder).
pub const INSTALLED_DRIVER: &str = "/usr/lib/pcsc/drivers/serial/libukey_ifd.so";

/// The driver's shared object, for `LIBPATH`: `$UKEY_IFD_DRIVER` if set; else
/// [`DRIVER_FILE`] beside the running executable or in its `deps/` folder (cargo's target
/// folder: `target/release/ukey-sim`, this crate's tests and benches); else
/// [`INSTALLED_DRIVER`] if it exists.
pub fn find_driver() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("UKEY_IFD_DRIVER") {
        return Some(PathBuf::from(path));
    }
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
        .map(|dir| [dir.join(DRIVER_FILE), dir.join("deps").join(DRIVER_FILE)])
        .into_iter()
        .flatten();
    beside
        .chain([PathBuf::from(INSTALLED_DRIVER)])
        .find(|path| path.is_file())
}

/// `path` as one reader.conf word.
fn word(key: &str, path: &Path) -> Result<String, String> {
    let text = path
        .to_str()
        .ok_or_else(|| format!("{key} {}: not UTF-8", path.display()))?;
    let allowed = |c: char| {
        c.is_ascii_alphanumeric() || matches!(c, '=' | '\\' | '/' | '-' | '.' | '_' | '@' | ':')
    };
    if text.is_empty() || !text.chars().all(allowed) {
        return Err(format!(
            "{key} {text}: pcscd reads only letters, digits and = \\ / - . _ @ : there; \
             move the file to such a path"
        ));
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_names_the_configuration_and_the_driver() {
        let text = entry(
            "ukey IFD",
            Path::new("/etc/ukey-ifd/reader0.toml"),
            Path::new("/usr/lib/pcsc/drivers/serial/libukey_ifd.so"),
        )
        .unwrap();
        assert_eq!(
            text,
            "FRIENDLYNAME \"ukey IFD\"\nDEVICENAME /etc/ukey-ifd/reader0.toml\n\
             LIBPATH /usr/lib/pcsc/drivers/serial/libukey_ifd.so\n\n"
        );
    }

    #[test]
    fn paths_pcscd_would_split_or_misread_are_refused() {
        let lib = Path::new("/lib/libukey_ifd.so");
        assert!(entry("ukey", Path::new("/tmp/my reader.toml"), lib).is_err());
        assert!(entry("ukey", Path::new("/tmp/r+1.toml"), lib).is_err());
        assert!(entry("uk\"ey", Path::new("/tmp/r.toml"), lib).is_err());
        assert!(entry("ukey", Path::new("/tmp/r.toml"), Path::new("/a b/lib.so")).is_err());
    }

    #[test]
    fn reader_names_carry_the_reader_and_slot_numbers_in_hex() {
        assert_eq!(reader_name("ukey IFD", 1, 10), "ukey IFD 01 0A");
    }
}
