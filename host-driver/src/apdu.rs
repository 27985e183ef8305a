//! Command APDUs: encoding, command chaining for long data and collecting `61 xx` parts with
//! GET RESPONSE (card-edge.md, "Link"; ISO 7816-4 sections 5.1 and 5.3.3).

use ukey_card_edge::{CLA_CHAINING, Instruction, StatusWord};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::transport::Link;

/// The most data one short APDU carries.
const CHUNK: usize = 255;
/// The most response data accepted from one command, in case a token keeps saying `61 xx`.
const MAX_RESPONSE: usize = 64 * 1024;

/// A command to the token. Its data is wiped from memory when it is dropped, since it may
/// hold a PIN or a key.
pub(crate) struct Apdu {
    ins: Instruction,
    p1: u8,
    p2: u8,
    data: Zeroizing<Vec<u8>>,
    expects_data: bool,
}

/// What the token answered: all parts of the data joined, and the final status word.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) sw: StatusWord,
    pub(crate) data: Vec<u8>,
}

impl Apdu {
    /// A command with class `00`, no data and no Le.
    pub(crate) fn new(ins: Instruction, p1: u8, p2: u8) -> Self {
        Self {
            ins,
            p1,
            p2,
            data: Zeroizing::new(Vec::new()),
            expects_data: false,
        }
    }

    /// Sets the command data.
    pub(crate) fn data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = Zeroizing::new(data.into());
        self
    }

    /// Adds `Le = 00`: the command answers with data.
    pub(crate) fn expect_data(mut self) -> Self {
        self.expects_data = true;
        self
    }

    /// One short APDU; `chunk` is part of the data, `last` says whether more follows.
    fn encode(&self, chunk: &[u8], last: bool) -> Zeroizing<Vec<u8>> {
        let cla = if last { 0x00 } else { CLA_CHAINING };
        let mut out = Zeroizing::new(Vec::with_capacity(chunk.len() + 6));
        out.extend_from_slice(&[cla, self.ins.byte(), self.p1, self.p2]);
        if !chunk.is_empty() {
            out.push(chunk.len() as u8);
            out.extend_from_slice(chunk);
        }
        if last && self.expects_data {
            out.push(0x00);
        }
        out
    }

    /// Sends the command, in several chained parts if its data is long, and collects the
    /// whole response.
    pub(crate) fn transmit(&self, link: &mut dyn Link) -> Result<Response> {
        let chunks: Vec<&[u8]> = if self.data.is_empty() {
            vec![&[]]
        } else {
            self.data.chunks(CHUNK).collect()
        };
        let last = chunks.len() - 1;
        let mut response = None;
        for (i, chunk) in chunks.iter().enumerate() {
            let r = exchange(link, &self.encode(chunk, i == last))?;
            if i != last && r.sw != StatusWord::Success {
                return Ok(r);
            }
            response = Some(r);
        }
        let mut response = response.ok_or_else(|| Error::response("no response"))?;
        while let StatusWord::MoreData { len } = response.sw {
            if response.data.len() > MAX_RESPONSE {
                return Err(Error::response("the response does not end"));
            }
            let get_response = Instruction::GetResponse.byte();
            let more = exchange(link, &[0x00, get_response, 0x00, 0x00, len])?;
            response.data.extend_from_slice(&more.data);
            response.sw = more.sw;
        }
        Ok(response)
    }
}

impl Response {
    /// The data when the status is `90 00`; otherwise the error the status word means.
    pub(crate) fn ok(self, command: &'static str) -> Result<Vec<u8>> {
        match self.sw {
            StatusWord::Success => Ok(self.data),
            sw => Err(Error::from_status(command, sw)),
        }
    }
}

fn exchange(link: &mut dyn Link, command: &[u8]) -> Result<Response> {
    let mut raw = link.exchange(command)?;
    if raw.len() < 2 {
        return Err(Error::response("the answer has no status word"));
    }
    let sw2 = raw.pop().unwrap_or_default();
    let sw1 = raw.pop().unwrap_or_default();
    Ok(Response {
        sw: StatusWord::from_bytes(sw1, sw2),
        data: raw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Transport;
    use crate::transport::script::{Script, hex};

    fn run(apdu: &Apdu, steps: Vec<(Vec<u8>, Vec<u8>)>) -> Response {
        let (mut script, log) = Script::from_bytes(steps);
        let response = {
            let mut session = script.begin().unwrap();
            apdu.transmit(session.as_mut()).unwrap()
        };
        assert!(
            log.lock().unwrap().steps.is_empty(),
            "script not played out"
        );
        response
    }

    #[test]
    fn short_command_with_le() {
        let r = run(
            &Apdu::new(Instruction::GetVersion, 0, 0).expect_data(),
            vec![(hex("00FD000000"), hex("050700 9000"))],
        );
        assert_eq!(r.sw, StatusWord::Success);
        assert_eq!(r.data, [5, 7, 0]);
    }

    #[test]
    fn long_data_is_chained() {
        let data: Vec<u8> = (0..600u16).map(|i| i as u8).collect();
        let mut first = hex("10DB3FFF FF");
        first.extend_from_slice(&data[..255]);
        let mut second = hex("10DB3FFF FF");
        second.extend_from_slice(&data[255..510]);
        let mut third = hex("00DB3FFF 5A");
        third.extend_from_slice(&data[510..]);
        let r = run(
            &Apdu::new(Instruction::PutData, 0x3F, 0xFF).data(data.clone()),
            vec![
                (first, hex("9000")),
                (second, hex("9000")),
                (third, hex("9000")),
            ],
        );
        assert_eq!(r.sw, StatusWord::Success);
    }

    #[test]
    fn chain_stops_at_first_refusal() {
        let data = vec![0u8; 300];
        let mut first = hex("10DB3FFF FF");
        first.extend_from_slice(&data[..255]);
        let r = run(
            &Apdu::new(Instruction::PutData, 0x3F, 0xFF).data(data),
            vec![(first, hex("6982"))],
        );
        assert_eq!(r.sw, StatusWord::SecurityStatusNotSatisfied);
    }

    #[test]
    fn more_data_is_fetched_with_get_response() {
        let mut part1 = vec![0x11; 256];
        part1.extend(hex("6100"));
        let mut part2 = vec![0x22; 256];
        part2.extend(hex("6104"));
        let r = run(
            &Apdu::new(Instruction::GetData, 0x3F, 0xFF)
                .data(hex("5C035FC105"))
                .expect_data(),
            vec![
                (hex("00CB3FFF 05 5C035FC105 00"), part1),
                (hex("00C0000000"), part2),
                (hex("00C0000004"), hex("33333333 9000")),
            ],
        );
        assert_eq!(r.sw, StatusWord::Success);
        assert_eq!(r.data.len(), 516);
        assert_eq!(&r.data[510..], [0x22, 0x22, 0x33, 0x33, 0x33, 0x33]);
    }

    #[test]
    fn status_words_become_errors() {
        let r = run(
            &Apdu::new(Instruction::Verify, 0x00, 0x80),
            vec![(hex("00200080"), hex("63C2"))],
        );
        assert!(matches!(r.ok("VERIFY"), Err(Error::WrongPin { tries: 2 })));
    }

    #[test]
    fn a_response_without_status_word_is_an_error() {
        let (mut script, _log) = Script::new(&[("00FD000000", "90")]);
        let mut session = script.begin().unwrap();
        let err = Apdu::new(Instruction::GetVersion, 0, 0)
            .expect_data()
            .transmit(session.as_mut());
        assert!(matches!(err, Err(Error::BadResponse { .. })));
    }
}
