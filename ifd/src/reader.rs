//! A reader: its slots as its configuration file describes them, the tokens they start
//! with, and its control socket.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ukey_sim::{LinkKind, TokenOptions, profile};

use crate::config::{ReaderConfig, SlotConfig, resolve};
use crate::control::ControlServer;
use crate::refusal::log;
use crate::slot::Slot;

/// An open reader. Dropping it stops its control socket and pulls out its tokens,
/// flushing their images.
pub struct Reader {
    device: String,
    slots: Arc<[Slot]>,
    /// Stopped after `Reader::drop` closed the slots.
    _control: Option<ControlServer>,
}

impl Reader {
    /// Opens the reader that `device` (reader.conf's `DEVICENAME`) configures: reads the
    /// file, plugs in the configured tokens, starts the control socket. Any failure undoes
    /// what was done and says what to fix.
    pub fn open(device: &str) -> Result<Self, String> {
        let path = Path::new(device);
        let config = ReaderConfig::load(path).map_err(|error| error.to_string())?;
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let count = config.slot_count()?;
        let slots = (0..count)
            .map(|index| {
                let slot = config.slot(index);
                let template = template(&slot, &dir, config.verbose)
                    .map_err(|reason| format!("{device}: slot {index}: {reason}"))?;
                Ok(Slot::new(
                    template,
                    slot.image.map(|image| resolve(&dir, &image)),
                ))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let mut reader = Self {
            device: device.to_string(),
            slots: slots.into(),
            _control: None,
        };
        for (index, slot) in reader.slots.iter().enumerate() {
            if config.slot(index).image.is_some() {
                slot.insert(None)
                    .map_err(|reason| format!("{device}: slot {index}: {reason}"))?;
            }
        }
        if let Some(socket) = &config.control {
            let server =
                ControlServer::start(resolve(&dir, socket), reader.slots.clone(), dir.clone())
                    .map_err(|reason| format!("{device}: {reason}"))?;
            reader._control = Some(server);
        }
        Ok(reader)
    }

    /// The configuration file this reader was opened with.
    pub fn device(&self) -> &str {
        &self.device
    }

    /// How many slots the reader has.
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// Slot `index`, if the reader has it.
    pub fn slot(&self, index: u16) -> Option<&Slot> {
        self.slots.get(usize::from(index))
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        for (index, slot) in self.slots.iter().enumerate() {
            if let Err(reason) = slot.close() {
                log(format_args!("{}: slot {index}: {reason}", self.device));
            }
        }
    }
}

/// The options a slot's tokens are opened with: its profile (with fixtures), seed and
/// tracing, on the direct link (the applet called in pcscd's thread).
fn template(slot: &SlotConfig, dir: &Path, verbose: bool) -> Result<TokenOptions, String> {
    let name = match slot.profile.as_deref() {
        None => "default".to_string(),
        Some(built_in @ ("default" | "bjca")) => built_in.to_string(),
        Some(file) => resolve(dir, &PathBuf::from(file))
            .to_str()
            .ok_or_else(|| format!("profile {file}: the path is not UTF-8"))?
            .to_string(),
    };
    let profile::Loaded { profile, fixtures } =
        profile::load(&name).map_err(|error| error.to_string())?;
    Ok(TokenOptions {
        profile,
        fixtures,
        image: None,
        seed: slot.insecure_seed,
        link: LinkKind::Direct,
        verbose,
        ..TokenOptions::default()
    })
}
