//! Commands and answers read back from a token's trace, for checks on what reached the
//! card (a client may fail after the card did its part, or before anything reached it).

/// One command APDU the token received and its answer, as the trace shows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchange {
    /// The command APDU.
    pub command: Vec<u8>,
    /// The response data, without the status word.
    pub data: Vec<u8>,
    /// The status word.
    pub sw: u16,
}

/// Who writes the trace lines: a simulated token (`ukey-sim -v`), or the spy between the
/// clients and a real reader.
const SOURCES: &[&str] = &["ukey-sim: ", "pcsc-spy: "];

/// The exchanges in `trace` (lines as `ukey-sim -v` prints them), in order. A command
/// without an answer (the token was stopped) is left out.
pub(crate) fn parse(trace: &str) -> Vec<Exchange> {
    let mut exchanges = Vec::new();
    let mut command = None;
    for line in trace.lines() {
        let Some(line) = SOURCES.iter().find_map(|source| line.strip_prefix(source)) else {
            continue;
        };
        if let Some(hex) = line.strip_prefix("> ") {
            command = unhex(hex);
        } else if let Some(answer) = line.strip_prefix("< ")
            && let Some(command) = command.take()
            && let Some((data, sw)) = parse_answer(answer)
        {
            exchanges.push(Exchange { command, data, sw });
        }
    }
    exchanges
}

/// `DATA SW XXXX` or `SW XXXX`.
fn parse_answer(answer: &str) -> Option<(Vec<u8>, u16)> {
    let (data, sw) = match answer.strip_prefix("SW ") {
        Some(sw) => ("", sw),
        None => answer.split_once(" SW ")?,
    };
    Some((unhex(data)?, u16::from_str_radix(sw.trim(), 16).ok()?))
}

fn unhex(hex: &str) -> Option<Vec<u8>> {
    let hex = hex.trim();
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_pair_with_their_answers_and_other_lines_are_skipped() {
        let trace = "ukey-sim: power on, ATR 3B86\n\
                     ukey-sim: > 00A4040005A000000308\n\
                     ukey-sim: < 61264F SW 9000\n\
                     ukey-sim: > 00200080\n\
                     ukey-sim: < SW 63C2\n\
                     ukey-sim: > 00FD0000\n\
                     pcsc-spy: > 00F80000\n\
                     pcsc-spy: < 01312D01 SW 9000\n";
        assert_eq!(
            parse(trace),
            vec![
                Exchange {
                    command: vec![0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08],
                    data: vec![0x61, 0x26, 0x4F],
                    sw: 0x9000,
                },
                Exchange {
                    command: vec![0x00, 0x20, 0x00, 0x80],
                    data: vec![],
                    sw: 0x63C2,
                },
                Exchange {
                    command: vec![0x00, 0xF8, 0x00, 0x00],
                    data: vec![0x01, 0x31, 0x2D, 0x01],
                    sw: 0x9000,
                },
            ]
        );
    }
}
