//! `ukey-sim [OPTIONS]`: plays a token in a vpcd reader until SIGINT or SIGTERM.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use ukey_sim::{Control, Error, LinkKind, Result, Token, TokenOptions, profile, serve, vpcd};

use super::making::{self, Asked};
use super::ready::{self, Announcement};

/// How long a stopped token waits for vpcd to find its slot empty.
const REMOVAL_SEEN: Duration = Duration::from_secs(10);

/// How APDUs reach the applet.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum LinkArg {
    /// Straight to the applet.
    Direct,
    /// Through the emulated USB CCID device (usb-device + usbd-ccid).
    Ccid,
    /// On an emulated Cortex-M4 (QEMU's mps2-an386 board), over its UART.
    Qemu,
}

#[derive(Debug, Args)]
pub(super) struct RunCmd {
    /// vpcd's address for this slot (vpcd listens on 35963 for slot 0, 35964 for slot 1).
    #[arg(long, value_name = "HOST:PORT", default_value = vpcd::DEFAULT_ADDR)]
    vpcd: String,

    /// How APDUs reach the applet.
    #[arg(long, value_enum, default_value = "direct")]
    link: LinkArg,

    /// With --link qemu: the board image to boot (default: $UKEY_QEMU_KERNEL, else the
    /// release build of firmware/boards/mps2-an386 in this source tree).
    #[arg(long, value_name = "PATH")]
    kernel: Option<PathBuf>,

    /// Keep the token's flash in this image file, created from the profile on first use.
    /// Without it the token lives in memory and is lost at exit.
    #[arg(long, value_name = "PATH")]
    image: Option<PathBuf>,

    /// What a new token is made with: default, bjca, or a TOML file.
    ///
    /// A TOML file overrides serial, label, PIN/PUK, tries and management key, and may
    /// preload fixtures: [[keys]] entries (slot 9A/9C/9D/9E, algorithm P-256 or SM2,
    /// private_key a PKCS#8 or SEC1 PEM/DER file, optional certificate PEM/DER for that
    /// key, pin_policy) and [objects] (chuid, ccc, printed_information, key_history), with
    /// paths relative to the TOML file. A bad fixture is refused before any image is made;
    /// fixtures go into a token only when its image is made. Example:
    /// sim/fixtures/ci-token.toml. [default: default]
    ///
    /// Refused for an --image that exists already, unless --reprovision is given.
    #[arg(long, value_name = "default|bjca|FILE.toml")]
    profile: Option<String>,

    /// The serial of a new token (default: the profile file's, else a random one).
    #[arg(long, value_name = "N")]
    serial: Option<u32>,

    /// Re-personalise the token in the existing --image with --profile and --serial: its
    /// keys, certificates, PINs and serial are replaced.
    #[arg(long, requires = "image")]
    reprovision: bool,

    /// Seed the RNG with N for reproducible runs. Insecure: keys become predictable.
    #[arg(long, value_name = "N")]
    insecure_seed: Option<u64>,

    /// Give up, with an error, when pcscd has not powered the token on within SECS (no
    /// vpcd listening at the address, a wrong port). Once it has, one line on stdout says
    /// so: `ready reader="NAME" serial=N link=LINK vpcd=HOST:PORT`.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    ready_timeout: u64,

    /// Log every power event, APDU and status word in hex to stderr.
    #[arg(short, long)]
    verbose: bool,

    /// Print the emulated USB device's descriptors in lsusb's layout and exit.
    #[arg(long)]
    dump_descriptors: bool,
}

impl RunCmd {
    pub(super) fn run(self) -> Result<()> {
        let profile::Loaded { profile, fixtures } = making::settle(&Asked {
            profile: self.profile.as_deref(),
            serial: self.serial,
            image: self.image.as_deref(),
            reprovision: self.reprovision,
            seed: self.insecure_seed,
        })?;
        if let Some(seed) = self.insecure_seed {
            eprintln!(
                "ukey-sim: warning: --insecure-seed {seed} makes the token's keys and \
                 challenges predictable; use it for reproducible tests only"
            );
        }
        let mut options = TokenOptions {
            profile,
            fixtures,
            image: self.image,
            seed: self.insecure_seed,
            link: match self.link {
                LinkArg::Direct => LinkKind::Direct,
                LinkArg::Ccid => LinkKind::Ccid,
                LinkArg::Qemu => LinkKind::Qemu,
            },
            kernel: self.kernel,
            verbose: self.verbose,
            ..TokenOptions::default()
        };
        if self.dump_descriptors {
            options.link = LinkKind::Ccid;
            let token = Token::open(&options)?;
            if let Some(descriptors) = token.descriptors() {
                print!("{}", descriptors.lsusb());
            }
            return token.close();
        }
        if self.reprovision {
            ukey_sim::reprovision(&options)?;
            eprintln!(
                "ukey-sim: re-personalised the token in the image, serial {}",
                options.profile.serial
            );
        }
        let mut token = Token::open(&options)?;
        let serial = token.serial()?;
        let control = Control::new();
        let stop = control.clone();
        super::stop_on_signal(move || stop.stop())?;
        let timeout = Duration::from_secs(self.ready_timeout);
        let announcement = Announcement {
            serial,
            link: link_name(options.link),
            vpcd: self.vpcd.clone(),
        };
        let watcher = ready::announce_when_seen(control.clone(), announcement, timeout)
            .map_err(|error| Error::io("starting the readiness thread", error))?;
        let served = serve(token, &self.vpcd, &control, self.verbose);
        control.stop();
        let timed_out = watcher.join().unwrap_or(false);
        served?;
        // Exit only once vpcd has found the slot empty: a token started next in the same
        // slot (a replug) is then a new card to pcscd, which powers it on. Without this,
        // the next token could take the slot before vpcd polled it, and pcscd would go on
        // treating it as the card that left.
        vpcd::wait_polled(&self.vpcd, REMOVAL_SEEN)?;
        if timed_out {
            return Err(Error::Vpcd(format!(
                "pcscd did not power the token on within {timeout:?} through vpcd at {}: is \
                 a pcscd with a vpcd reader on that port running? (`ukey-sim pcscd` prints \
                 the addresses of its readers)",
                self.vpcd
            )));
        }
        Ok(())
    }
}

/// The link's name as `--link` spells it.
fn link_name(link: LinkKind) -> &'static str {
    match link {
        LinkKind::Direct => "direct",
        LinkKind::Ccid => "ccid",
        LinkKind::Qemu => "qemu",
    }
}
