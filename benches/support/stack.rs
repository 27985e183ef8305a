//! The whole stack on loopback: a private pcscd (ukey-sim's `Testbed`) with a bench token in
//! a vpcd reader on each link, reached through the PC/SC client library as any host program
//! reaches a token.

use std::ffi::CString;
use std::thread;
use std::time::{Duration, Instant};

use pcsc::{Context, Protocols, Scope, ShareMode};
use ukey_sim::{LinkKind, Testbed};

use super::apdu::{self, Publics, Transmit};
use super::tokens;

/// The links, in the order the benches report them.
pub const LINKS: [LinkKind; 2] = [LinkKind::Direct, LinkKind::Ccid];

/// A link's name in bench ids and reports.
pub fn link_name(link: LinkKind) -> &'static str {
    match link {
        LinkKind::Direct => "direct",
        LinkKind::Ccid => "ccid",
        LinkKind::Qemu => "qemu",
    }
}

/// A connection to one bench token through pcscd.
pub struct Connected {
    /// The token's link behind vpcd.
    pub link: LinkKind,
    /// The PC/SC connection, shared mode, T=1.
    pub card: pcsc::Card,
    /// The public points of its keys, in the order of `Curve::ALL`.
    pub publics: Publics,
}

impl Transmit for pcsc::Card {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, String> {
        let mut buffer = [0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];
        pcsc::Card::transmit(self, apdu, &mut buffer)
            .map(<[u8]>::to_vec)
            .map_err(|e| format!("SCardTransmit: {e}"))
    }
}

/// A vpcd slot of the stack's pcscd left free for a token in another process.
pub struct SpareSlot {
    /// The vpcd address a token connects to (`ukey-sim --vpcd`).
    pub vpcd: String,
    /// The reader name PC/SC clients see it in.
    pub reader: String,
}

/// A private pcscd with a token on each of [`LINKS`], each connected, provisioned and with
/// its PIN verified, and as many slots again left free. Fields drop in order: connections,
/// then the context, then pcscd.
pub struct Stack {
    /// One connection per link, in the order of [`LINKS`].
    pub tokens: Vec<Connected>,
    context: Context,
    bed: Testbed,
}

impl Stack {
    /// Starts pcscd and the tokens, and points this process's PC/SC client library at that
    /// pcscd (`PCSCLITE_CSOCK_NAME`).
    pub fn start() -> Result<Self, String> {
        // Two vpcd readers of two slots each: the first two for the tokens here.
        let mut bed = Testbed::start(2).map_err(|e| format!("starting pcscd: {e}"))?;
        for (slot, link) in LINKS.into_iter().enumerate() {
            bed.insert(slot, &tokens::options(link))
                .map_err(|e| format!("inserting a {} token: {e}", link_name(link)))?;
        }
        // SAFETY: set before the first PC/SC call of this process, which is the only
        // reader of this variable; the token threads started above read no environment.
        unsafe { std::env::set_var("PCSCLITE_CSOCK_NAME", bed.socket()) };
        let context =
            Context::establish(Scope::User).map_err(|e| format!("SCardEstablishContext: {e}"))?;
        let mut tokens = Vec::new();
        for (slot, link) in LINKS.into_iter().enumerate() {
            let reader = bed.reader(slot).map_err(|e| e.to_string())?;
            let mut card = connect(&context, &reader)?;
            let publics = apdu::provision(&mut card)?;
            tokens.push(Connected {
                link,
                card,
                publics,
            });
        }
        Ok(Self {
            tokens,
            context,
            bed,
        })
    }

    /// The slots after the connected tokens', free for tokens in other processes.
    pub fn spare_slots(&self) -> Vec<SpareSlot> {
        (LINKS.len()..self.bed.pcscd().slots())
            .filter_map(|slot| {
                Some(SpareSlot {
                    vpcd: self.bed.pcscd().vpcd_addr(slot)?,
                    reader: self.bed.reader(slot).ok()?,
                })
            })
            .collect()
    }

    /// The pid of the stack's pcscd: the process whose command line names this stack's
    /// reader configuration.
    pub fn pcscd_pid(&self) -> Result<u32, String> {
        let config = self.bed.pcscd().dir().join("reader.conf.d");
        let config = config.to_string_lossy();
        let entries = std::fs::read_dir("/proc").map_err(|e| format!("/proc: {e}"))?;
        entries
            .filter_map(Result::ok)
            .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
            .find(|pid| {
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                let words: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
                words.first().is_some_and(|w| w.ends_with(b"pcscd"))
                    && words.contains(&config.as_bytes())
            })
            .ok_or_else(|| format!("no pcscd process reads {config}"))
    }

    /// Connects to the token in `reader` once pcscd sees one there, waiting up to `timeout`.
    pub fn connect_when_present(
        &self,
        reader: &str,
        timeout: Duration,
    ) -> Result<pcsc::Card, String> {
        let started = Instant::now();
        loop {
            match connect(&self.context, reader) {
                Ok(card) => return Ok(card),
                Err(_) if started.elapsed() < timeout => thread::sleep(Duration::from_millis(20)),
                Err(error) => return Err(format!("no token within {timeout:?}: {error}")),
            }
        }
    }
}

/// Connects to the card in `reader`, shared, T=1.
fn connect(context: &Context, reader: &str) -> Result<pcsc::Card, String> {
    let name = CString::new(reader).map_err(|e| e.to_string())?;
    context
        .connect(&name, ShareMode::Shared, Protocols::T1)
        .map_err(|e| format!("SCardConnect to {reader:?}: {e}"))
}
