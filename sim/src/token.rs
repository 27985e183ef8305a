//! A simulated token: the firmware's card over its flash and RNG, behind the chosen link.

use std::path::PathBuf;
use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use ukey_firmware::flash::FileFlash;
use ukey_firmware::{Card, OpenError, Opened, Profile};

use crate::ccid::{CcidLink, CcidOptions, Descriptors};
use crate::error::{Error, Result};
use crate::flash::{Flash, PAGES};
use crate::link::{DirectLink, Link};
use crate::profile::{DEFAULT_SERIAL, Fixtures};
use crate::qemu::{self, QemuLink};
use crate::trace;

/// The card a simulated token runs.
pub type SimCard = Card<Flash, ChaCha20Rng>;

/// How APDUs reach the card.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LinkKind {
    /// Straight to `Card::process`.
    #[default]
    Direct,
    /// Through the emulated USB CCID device.
    Ccid,
    /// On the emulated Cortex-M4 board under QEMU, over its UART.
    Qemu,
}

/// Everything a token is started with.
#[derive(Clone, Debug)]
pub struct TokenOptions {
    /// What a blank flash is made into.
    pub profile: Profile,
    /// What a token made from a blank flash is preloaded with (see [`crate::profile`]).
    pub fixtures: Fixtures,
    /// The image file holding the flash; `None` keeps it in memory.
    pub image: Option<PathBuf>,
    /// Seeds the RNG for reproducible runs (insecure: keys become predictable); `None`
    /// seeds it from the operating system.
    pub seed: Option<u64>,
    /// How APDUs reach the card.
    pub link: LinkKind,
    /// Logs every power event, APDU and status word to stderr.
    pub verbose: bool,
    /// With the CCID link: how long the applet may work before the device sends a time
    /// extension.
    pub time_extension: Duration,
    /// With the QEMU link: the board image; `None` takes `$UKEY_QEMU_KERNEL` or the release
    /// build of `firmware/boards/mps2-an386` in this source tree.
    pub kernel: Option<PathBuf>,
}

impl Default for TokenOptions {
    fn default() -> Self {
        Self {
            profile: Profile::standard(DEFAULT_SERIAL),
            fixtures: Fixtures::default(),
            image: None,
            seed: None,
            link: LinkKind::Direct,
            verbose: false,
            time_extension: CcidOptions::default().time_extension,
            kernel: None,
        }
    }
}

enum Inner {
    Direct(Box<DirectLink<SimCard>>),
    Ccid(Box<CcidLink<SimCard>>),
    Qemu(Box<QemuLink>),
}

/// A running token. It is a [`Link`]: power it on and send it APDUs in process, or play it
/// in a vpcd reader with [`crate::vpcd::run`]. [`Token::close`] flushes its image.
pub struct Token {
    inner: Inner,
    verbose: bool,
}

impl Token {
    /// Opens the token: its image (created from the profile on first use), its RNG, its
    /// link. A bad or locked image is refused and left as it was.
    pub fn open(options: &TokenOptions) -> Result<Self> {
        options.profile.validate().map_err(|error| {
            Error::Profile(format!(
                "the profile breaks a rule of the card edge: {error:?}"
            ))
        })?;
        let inner = match options.link {
            LinkKind::Direct => Inner::Direct(Box::new(DirectLink::new(open_card(options)?))),
            LinkKind::Ccid => Inner::Ccid(Box::new(CcidLink::start(
                open_card(options)?,
                CcidOptions {
                    serial_number: options.profile.serial.to_string(),
                    time_extension: options.time_extension,
                },
            )?)),
            LinkKind::Qemu if !options.fixtures.is_empty() => {
                return Err(Error::Profile(
                    "profile fixtures (preloaded keys and objects) need the direct or ccid \
                     link; the QEMU board takes the profile's settings only"
                        .to_string(),
                ));
            }
            LinkKind::Qemu => Inner::Qemu(Box::new(QemuLink::start(
                &qemu::kernel_path(options.kernel.as_deref()),
                &options.profile,
                options.image.as_deref(),
                options.seed,
            )?)),
        };
        Ok(Self {
            inner,
            verbose: options.verbose,
        })
    }

    /// The USB descriptors, with the CCID link.
    pub fn descriptors(&self) -> Option<&Descriptors> {
        match &self.inner {
            Inner::Direct(_) | Inner::Qemu(_) => None,
            Inner::Ccid(link) => Some(link.descriptors()),
        }
    }

    /// Unplugs the token: takes the card back from its link and makes its image durable.
    pub fn close(self) -> Result<()> {
        let card = match self.inner {
            Inner::Direct(link) => link.into_applet(),
            Inner::Ccid(link) => link.into_applet()?,
            Inner::Qemu(link) => return link.close(),
        };
        match card.into_flash() {
            Some(Flash::File(mut file)) => file.flush().map_err(Error::Image),
            Some(Flash::Ram(_)) | None => Ok(()),
        }
    }

    /// The token's serial, asked in process before it is played and left out of the
    /// trace ([`crate::identity::serial`]).
    pub fn serial(&mut self) -> Result<u32> {
        crate::identity::serial(self.link())
    }

    fn link(&mut self) -> &mut dyn Link {
        match &mut self.inner {
            Inner::Direct(link) => link.as_mut(),
            Inner::Ccid(link) => link.as_mut(),
            Inner::Qemu(link) => link.as_mut(),
        }
    }
}

impl Link for Token {
    fn power_on(&mut self) -> Result<Vec<u8>> {
        let atr = self.link().power_on()?;
        if self.verbose {
            trace::power("power on", Some(&atr));
        }
        Ok(atr)
    }

    fn power_off(&mut self) -> Result<()> {
        if self.verbose {
            trace::power("power off", None);
        }
        self.link().power_off()
    }

    fn reset(&mut self) -> Result<Vec<u8>> {
        let atr = self.link().reset()?;
        if self.verbose {
            trace::power("reset", Some(&atr));
        }
        Ok(atr)
    }

    fn atr(&mut self) -> Result<Vec<u8>> {
        self.link().atr()
    }

    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>> {
        if self.verbose {
            trace::command(command);
        }
        let response = self.link().transmit(command)?;
        if self.verbose {
            trace::response(&response);
        }
        Ok(response)
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let link = match self.inner {
            Inner::Direct(_) => LinkKind::Direct,
            Inner::Ccid(_) => LinkKind::Ccid,
            Inner::Qemu(_) => LinkKind::Qemu,
        };
        f.debug_struct("Token")
            .field("link", &link)
            .finish_non_exhaustive()
    }
}

/// The card of the in-process links: its image (created from the profile on first use), its
/// RNG. A new image takes its name only once the token in it is made (factory records,
/// fixtures): a token killed or refused while being made leaves no image.
fn open_card(options: &TokenOptions) -> Result<SimCard> {
    let rng = rng(options.seed)?;
    let (flash, new_image) = match &options.image {
        Some(path) => {
            let (file, new_image) = FileFlash::open_or_create(path, PAGES).map_err(Error::Image)?;
            (Flash::File(file), new_image)
        }
        None => (Flash::ram(), None),
    };
    let place = match &options.image {
        Some(path) => format!("flash image {}", path.display()),
        None => "flash".to_string(),
    };
    let refused = |error| Error::Open(format!("{place}: {error}"));
    if let Flash::File(file) = &flash
        && new_image.is_none()
    {
        trial_open(file, &options.profile).map_err(refused)?;
    }
    let mut card = Card::new();
    let opened = card.load(flash, rng, &options.profile).map_err(refused)?;
    if let Opened::Existing(damage) = opened
        && !damage.is_none()
    {
        eprintln!("ukey-sim: warning: {place}: {damage}");
    }
    if opened == Opened::New {
        options.fixtures.provision(&mut card)?;
    }
    if let Some(new_image) = new_image {
        new_image.publish().map_err(Error::Image)?;
    }
    Ok(card)
}

/// Opens a copy of an existing image in memory, and gives its refusal if it is refused.
/// Opening a damaged flash may write before it refuses (sequential-storage finishes what
/// looks like an interrupted migration, then meets the damage); a refused image file must
/// stay as it was, for the user to keep or inspect.
fn trial_open(file: &FileFlash, profile: &Profile) -> std::result::Result<(), OpenError> {
    match Flash::ram_copy(file) {
        Some(copy) => Card::new()
            .load(copy, ChaCha20Rng::seed_from_u64(0), profile)
            .map(drop),
        None => Ok(()),
    }
}

/// The token's RNG: ChaCha20 seeded from the operating system, or from `seed`.
fn rng(seed: Option<u64>) -> Result<ChaCha20Rng> {
    match seed {
        Some(seed) => Ok(ChaCha20Rng::seed_from_u64(seed)),
        None => {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key).map_err(|error| {
                Error::io("seeding the RNG from the operating system", error.into())
            })?;
            Ok(ChaCha20Rng::from_seed(key))
        }
    }
}
