//! [`Token`]: one ukey (PIV) token and the operations of card-edge.md, one file per
//! concern: the session and its reconnection here, then [`pin`], [`admin`] (management key,
//! retries, reset), [`protected`] (the management key kept under the PIN), [`objects`] (data objects, certificates, label), [`keys`] (generation,
//! metadata), [`signer`] and [`status`]. Every public call is one transaction: the application is
//! selected, then the call's APDUs follow with no other program's in between.

mod admin;
mod agree;
mod keys;
mod objects;
mod pin;
mod protected;
mod relocate;
mod signer;
mod status;
#[cfg(test)]
mod tests;

pub use admin::ManagementKeyMetadata;
pub use keys::KeyMetadata;
pub use objects::DeviceInfo;
pub use pin::{PinStatus, RetryMetadata};
pub use signer::Signer;
pub use status::{SecretState, SlotStatus, Status};

use ukey_card_edge::{Instruction, PIV_AID, PIV_RID_LEN, StatusWord};

use crate::apdu::{Apdu, Response};
use crate::error::{Error, Result};
use crate::piv::{Algorithm, Version};
use crate::tlv;
use crate::transport::{Link, Transport};

/// What SELECT tells about the application.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ApplicationInfo {
    /// The application label ("ukey PIV").
    pub label: Option<String>,
    /// The signature algorithms it announces.
    pub algorithms: Vec<Algorithm>,
}

/// One token.
pub struct Token {
    transport: Box<dyn Transport>,
    /// What the last SELECT answered.
    application: Option<ApplicationInfo>,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("reader", &self.transport.reader())
            .finish()
    }
}

impl Token {
    /// A token reached through `transport`: pcscd's for [`Token::open`], or any other (a
    /// [`Recording`](crate::transport::Recording) of one, a link straight to an applet).
    pub fn with_transport(transport: Box<dyn Transport>) -> Self {
        Self {
            transport,
            application: None,
        }
    }

    /// The transport, to wrap it or hand it to another [`Token`].
    pub fn into_transport(self) -> Box<dyn Transport> {
        self.transport
    }

    /// The name of the reader that holds the token.
    pub fn reader(&self) -> &str {
        self.transport.reader()
    }

    /// Runs `f` in one transaction, after selecting the application. When the connection
    /// turns out to be lost at the selection, before anything else was sent, the token is
    /// reconnected and the transaction begun again, once.
    fn session<T>(&mut self, f: impl FnOnce(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        let result = self.select_then(f);
        self.name_reader(result)
    }

    fn select_then<T>(&mut self, f: impl FnOnce(&mut Tx<'_>) -> Result<T>) -> Result<T> {
        let mut retried = false;
        loop {
            let mut link = self.transport.begin()?;
            let mut tx = Tx {
                link: link.as_mut(),
            };
            match tx.select() {
                Ok(app) => {
                    self.application = Some(app);
                    return f(&mut tx);
                }
                Err(Error::CardReset | Error::CardRemoved) if !retried => {
                    drop(link);
                    retried = true;
                    self.transport.reconnect()?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Fills in the reader's name where an error needs it.
    fn name_reader<T>(&self, result: Result<T>) -> Result<T> {
        result.map_err(|err| match err {
            Error::NotPiv { .. } => Error::NotPiv {
                reader: self.reader().to_owned(),
            },
            other => other,
        })
    }

    /// Selects the application and reads its property template.
    pub fn application(&mut self) -> Result<ApplicationInfo> {
        self.session(|_| Ok(()))?;
        self.application
            .clone()
            .ok_or_else(|| Error::response("no answer to SELECT"))
    }

    /// The PIV version GET VERSION answers: ukey answers the card edge's YubiKey-compatible
    /// number so that yubico-piv-tool asks for the serial and metadata. The firmware's own
    /// version is in [`Token::device_info`].
    pub fn version(&mut self) -> Result<Version> {
        self.session(|tx| tx.version())
    }

    /// The serial number (GET SERIAL).
    pub fn serial(&mut self) -> Result<u32> {
        self.session(|tx| tx.serial())
    }
}

/// One transaction's worth of commands; each concern adds its own in its file.
struct Tx<'a> {
    link: &'a mut dyn Link,
}

impl Tx<'_> {
    fn send(&mut self, apdu: &Apdu) -> Result<Response> {
        apdu.transmit(self.link)
    }

    fn select(&mut self) -> Result<ApplicationInfo> {
        let r = self.send(
            &Apdu::new(Instruction::Select, 0x04, 0x00)
                .data(PIV_AID[..PIV_RID_LEN].to_vec())
                .expect_data(),
        )?;
        match r.sw {
            StatusWord::Success => parse_application(&r.data),
            StatusWord::NotFound => Err(Error::NotPiv {
                reader: String::new(),
            }),
            sw => Err(Error::from_status("SELECT", sw)),
        }
    }

    fn version(&mut self) -> Result<Version> {
        let r = self
            .send(&Apdu::new(Instruction::GetVersion, 0, 0).expect_data())?
            .ok("GET VERSION")?;
        match r.as_slice() {
            [major, minor, patch, ..] => Ok(Version {
                major: *major,
                minor: *minor,
                patch: *patch,
            }),
            _ => Err(Error::response("the version has fewer than 3 bytes")),
        }
    }

    fn serial(&mut self) -> Result<u32> {
        let r = self
            .send(&Apdu::new(Instruction::GetSerial, 0, 0).expect_data())?
            .ok("GET SERIAL")?;
        let bytes: [u8; 4] = r
            .as_slice()
            .try_into()
            .map_err(|_| Error::response("the serial is not 4 bytes"))?;
        Ok(u32::from_be_bytes(bytes))
    }

    fn metadata(&mut self, reference: u8) -> Result<Option<Vec<u8>>> {
        let r = self.send(&Apdu::new(Instruction::GetMetadata, 0x00, reference).expect_data())?;
        match r.sw {
            StatusWord::Success => Ok(Some(r.data)),
            StatusWord::ReferenceNotFound => Ok(None),
            sw => Err(Error::from_status("GET METADATA", sw)),
        }
    }
}

fn parse_application(data: &[u8]) -> Result<ApplicationInfo> {
    let template = tlv::require(data, 0x61)?;
    let label = tlv::find(template, 0x50)?.map(|l| String::from_utf8_lossy(l).into_owned());
    let algorithms = match tlv::find(template, 0xAC)? {
        Some(list) => tlv::parse(list)?
            .into_iter()
            .filter(|t| t.tag == 0x80)
            .filter_map(|t| t.value.first().copied().and_then(Algorithm::from_id))
            .collect(),
        None => Vec::new(),
    };
    Ok(ApplicationInfo { label, algorithms })
}
