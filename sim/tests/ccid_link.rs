//! The emulated USB CCID device: descriptors as libccid reads them, the ATR, multi-packet
//! and chained XfrBlock exchanges, time extensions, and the real applet behind it.

use std::thread;
use std::time::Duration;

use ukey_sim::{Applet, CcidLink, CcidOptions, DirectLink, Link, LinkKind, Token, TokenOptions};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Answers every command with its bytes reversed and 90 00, after an optional delay.
#[derive(Default)]
struct Mirror {
    delay: Duration,
    resets: usize,
    answer: Vec<u8>,
}

impl Applet for Mirror {
    fn reset(&mut self) {
        self.resets += 1;
    }

    fn process(&mut self, command: &[u8]) -> &[u8] {
        thread::sleep(self.delay);
        self.answer = command.iter().rev().copied().collect();
        self.answer.extend_from_slice(&[0x90, 0x00]);
        &self.answer
    }
}

fn mirrored(command: &[u8]) -> Vec<u8> {
    let mut answer: Vec<u8> = command.iter().rev().copied().collect();
    answer.extend_from_slice(&[0x90, 0x00]);
    answer
}

#[test]
fn the_descriptors_are_those_libccid_expects() -> TestResult {
    let link = CcidLink::start(
        Mirror::default(),
        CcidOptions {
            serial_number: "4711".into(),
            ..CcidOptions::default()
        },
    )?;
    let descriptors = link.descriptors();
    let device = descriptors.device();
    assert_eq!(device.len(), 18);
    assert_eq!(
        u16::from_le_bytes([device[8], device[9]]),
        ukey_sim::ccid::USB_VID
    );
    assert_eq!(
        u16::from_le_bytes([device[10], device[11]]),
        ukey_sim::ccid::USB_PID
    );
    assert_eq!(
        descriptors.string(device[14]),
        Some(ukey_sim::ccid::MANUFACTURER)
    );
    assert_eq!(
        descriptors.string(device[15]),
        Some(ukey_sim::ccid::PRODUCT)
    );
    assert_eq!(descriptors.string(device[16]), Some("4711"));

    let class = descriptors.ccid_class().ok_or("no CCID class descriptor")?;
    let le32 =
        |at: usize| u32::from_le_bytes([class[at], class[at + 1], class[at + 2], class[at + 3]]);
    assert_eq!((class[0], class[1]), (54, 0x21), "bLength, bDescriptorType");
    assert_eq!(class[4], 0, "one slot");
    assert_eq!(le32(6), 0x02, "T=1 only");
    assert_eq!(
        le32(40) & 0x0007_0000,
        0x0004_0000,
        "short and extended APDU exchange"
    );
    assert_eq!(le32(44), 3072, "dwMaxCCIDMsgLen");

    let lsusb = descriptors.lsusb();
    for line in [
        "ID 1209:0001 ukey ukey USB token",
        "      bInterfaceClass        11 Chip/SmartCard",
        "      ChipCard Interface Descriptor:",
        "        dwProtocols             2  T=1",
        "        dwFeatures       00040840",
        "          Short and extended APDU level exchange",
        "        dwMaxCCIDMsgLen      3072",
        "        bEndpointAddress     0x81  EP 1 IN",
        "        bEndpointAddress     0x01  EP 1 OUT",
        "        wMaxPacketSize     0x0040  1x 64 bytes",
    ] {
        assert!(
            lsusb.contains(line),
            "lsusb layout lacks {line:?}:\n{lsusb}"
        );
    }
    Ok(())
}

#[test]
fn the_ccid_atr_is_the_firmware_atr() -> TestResult {
    let mut link = CcidLink::start(Mirror::default(), CcidOptions::default())?;
    assert_eq!(link.power_on()?, ukey_firmware::ATR);
    assert_eq!(link.atr()?, ukey_firmware::ATR);
    let mut direct = DirectLink::new(Mirror::default());
    assert_eq!(direct.power_on()?, ukey_firmware::ATR);
    Ok(())
}

#[test]
fn apdus_of_every_size_cross_the_usb_link_intact() -> TestResult {
    let mut link = CcidLink::start(Mirror::default(), CcidOptions::default())?;
    link.power_on()?;
    // 54 bytes fill the first 64-byte packet after the 10-byte header; 3,062 fill one CCID
    // message (dwMaxCCIDMsgLen 3,072); longer commands are chained.
    for size in [
        4, 5, 53, 54, 55, 64, 118, 119, 261, 1000, 3062, 3063, 5000, 7000, 7610, 20_000,
    ] {
        let command: Vec<u8> = (0..size).map(|i: usize| (i * 7 + size) as u8).collect();
        assert_eq!(
            link.transmit(&command)?,
            mirrored(&command),
            "{size}-byte APDU"
        );
    }
    Ok(())
}

#[test]
fn the_host_waits_through_time_extensions() -> TestResult {
    let applet = Mirror {
        delay: Duration::from_millis(60),
        ..Mirror::default()
    };
    let mut link = CcidLink::start(
        applet,
        CcidOptions {
            time_extension: Duration::from_millis(10),
            ..CcidOptions::default()
        },
    )?;
    link.power_on()?;
    let command = [0x00, 0x87, 0x11, 0x9C];
    assert_eq!(link.transmit(&command)?, mirrored(&command));
    let extensions = link.time_extensions()?;
    assert!(
        extensions >= 2,
        "{extensions} time extensions in 60 ms at one per 10 ms"
    );
    Ok(())
}

#[test]
fn power_events_reach_the_applet() -> TestResult {
    let mut link = CcidLink::start(Mirror::default(), CcidOptions::default())?;
    link.power_on()?;
    link.power_off()?;
    link.reset()?;
    let applet = link.into_applet()?;
    assert_eq!(applet.resets, 4, "on, off, and reset (off + on)");
    Ok(())
}

const SELECT_PIV: &[u8] = &[0x00, 0xA4, 0x04, 0x00, 0x05, 0xA0, 0x00, 0x00, 0x03, 0x08];

/// A script of commands that need no management key: selection, version, serial, PIN
/// tries, discovery and a long response through GET RESPONSE.
fn script() -> Vec<Vec<u8>> {
    vec![
        SELECT_PIV.to_vec(),
        vec![0x00, 0xFD, 0x00, 0x00],
        vec![0x00, 0xF8, 0x00, 0x00],
        vec![0x00, 0x20, 0x00, 0x80],
        vec![
            0x00, 0x20, 0x00, 0x80, 0x08, b'9', b'9', b'9', b'9', b'9', b'9', 0xFF, 0xFF,
        ],
        vec![0x00, 0x20, 0x00, 0x80],
        vec![
            0x00, 0x20, 0x00, 0x80, 0x08, b'1', b'2', b'3', b'4', b'5', b'6', 0xFF, 0xFF,
        ],
        vec![0x00, 0x20, 0x00, 0x80],
        vec![0x00, 0xCB, 0x3F, 0xFF, 0x03, 0x5C, 0x01, 0x7E],
        vec![0x00, 0xCB, 0x3F, 0xFF, 0x05, 0x5C, 0x03, 0x5F, 0xFF, 0x01],
        vec![0x00, 0xF7, 0x00, 0x80],
        vec![0x00, 0xF7, 0x00, 0x9A],
        vec![0x00, 0x47, 0x00, 0x9A, 0x05, 0xAC, 0x03, 0x80, 0x01, 0x11],
    ]
}

fn run_script(link: LinkKind) -> Result<Vec<Vec<u8>>, ukey_sim::Error> {
    let mut token = Token::open(&TokenOptions {
        link,
        seed: Some(7),
        ..TokenOptions::default()
    })?;
    token.power_on()?;
    let mut responses = Vec::new();
    for command in script() {
        responses.push(token.transmit(&command)?);
    }
    token.close()?;
    Ok(responses)
}

#[test]
fn the_applet_answers_the_same_on_both_links() -> TestResult {
    let direct = run_script(LinkKind::Direct)?;
    let ccid = run_script(LinkKind::Ccid)?;
    assert_eq!(direct, ccid);
    let select = &direct[0];
    assert_eq!(select.last(), Some(&0x00));
    assert_eq!(
        select[select.len() - 2],
        0x90,
        "SELECT answers 90 00: {select:02X?}"
    );
    Ok(())
}

#[test]
fn power_off_forgets_the_verified_pin_on_both_links() -> TestResult {
    for link in [LinkKind::Direct, LinkKind::Ccid] {
        let mut token = Token::open(&TokenOptions {
            link,
            ..TokenOptions::default()
        })?;
        token.power_on()?;
        token.transmit(SELECT_PIV)?;
        let verify = [
            0x00, 0x20, 0x00, 0x80, 0x08, b'1', b'2', b'3', b'4', b'5', b'6', 0xFF, 0xFF,
        ];
        assert_eq!(token.transmit(&verify)?, [0x90, 0x00], "{link:?}");
        assert_eq!(
            token.transmit(&[0x00, 0x20, 0x00, 0x80])?,
            [0x90, 0x00],
            "{link:?}"
        );
        token.power_off()?;
        token.power_on()?;
        token.transmit(SELECT_PIV)?;
        assert_eq!(
            token.transmit(&[0x00, 0x20, 0x00, 0x80])?,
            [0x63, 0xC3],
            "{link:?}"
        );
        token.close()?;
    }
    Ok(())
}
