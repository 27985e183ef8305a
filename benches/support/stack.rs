//! The whole stack on loopback: a private pcscd (ukey-sim's `Testbed`) with a bench token in
//! a vpcd reader on each link, reached through the PC/SC client library as any host program
//! reaches a token.

use std::ffi::CString;

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

/// A private pcscd with a token on each of [`LINKS`], each connected, provisioned and with
/// its PIN verified. Fields drop in order: connections, then the context, then pcscd.
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
        let mut bed = Testbed::start(1).map_err(|e| format!("starting pcscd: {e}"))?;
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
            let reader = CString::new(reader).map_err(|e| e.to_string())?;
            let mut card = context
                .connect(&reader, ShareMode::Shared, Protocols::T1)
                .map_err(|e| format!("SCardConnect to {reader:?}: {e}"))?;
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
}
