//! `ukey-sim --dump-descriptors`: the descriptors in the layout of `lsusb -v`, so they can
//! be compared line by line with a real token's.

use std::fmt::Write as _;

use super::descriptor::{Descriptors, le32};

impl Descriptors {
    /// The descriptors as `lsusb -v` prints a device.
    pub fn lsusb(&self) -> String {
        let mut out = String::new();
        let d = &self.device;
        if d.len() < 18 {
            return out;
        }
        let vendor = u16::from_le_bytes([d[8], d[9]]);
        let product = u16::from_le_bytes([d[10], d[11]]);
        let _ = writeln!(
            out,
            "Bus 001 Device {:03}: ID {vendor:04x}:{product:04x} {} {}",
            self.address,
            self.name(d[14]),
            self.name(d[15]),
        );
        out.push_str("Device Descriptor:\n");
        let p = "  ";
        num(&mut out, p, "bLength", d[0]);
        num(&mut out, p, "bDescriptorType", d[1]);
        bcd(&mut out, p, "bcdUSB", d[2], d[3]);
        num_text(&mut out, p, "bDeviceClass", d[4], class_name(d[4]));
        num_text(&mut out, p, "bDeviceSubClass", d[5], "");
        num_text(&mut out, p, "bDeviceProtocol", d[6], "");
        num(&mut out, p, "bMaxPacketSize0", d[7]);
        let _ = writeln!(out, "{p}idVendor           0x{vendor:04x} ");
        let _ = writeln!(out, "{p}idProduct          0x{product:04x} ");
        bcd(&mut out, p, "bcdDevice", d[12], d[13]);
        num_text(&mut out, p, "iManufacturer", d[14], self.name(d[14]));
        num_text(&mut out, p, "iProduct", d[15], self.name(d[15]));
        num_text(&mut out, p, "iSerial", d[16], self.name(d[16]));
        num(&mut out, p, "bNumConfigurations", d[17]);
        for descriptor in self.walk() {
            match descriptor[1] {
                2 if descriptor.len() >= 9 => self.configuration_lines(&mut out, descriptor),
                4 if descriptor.len() >= 9 => self.interface_lines(&mut out, descriptor),
                5 if descriptor.len() >= 7 => endpoint_lines(&mut out, descriptor),
                0x21 if descriptor.len() >= 54 => ccid_lines(&mut out, descriptor),
                _ => {
                    let _ = writeln!(out, "      ** UNRECOGNIZED: {}", spaced(descriptor));
                }
            }
        }
        out
    }

    fn name(&self, index: u8) -> &str {
        self.string(index).unwrap_or("")
    }

    fn configuration_lines(&self, out: &mut String, c: &[u8]) {
        let p = "    ";
        out.push_str("  Configuration Descriptor:\n");
        num(out, p, "bLength", c[0]);
        num(out, p, "bDescriptorType", c[1]);
        let _ = writeln!(
            out,
            "{p}wTotalLength       0x{:04x}",
            u16::from_le_bytes([c[2], c[3]])
        );
        num(out, p, "bNumInterfaces", c[4]);
        num(out, p, "bConfigurationValue", c[5]);
        num_text(out, p, "iConfiguration", c[6], self.name(c[6]));
        let _ = writeln!(out, "{p}bmAttributes         0x{:02x}", c[7]);
        if c[7] & 0x40 != 0 {
            let _ = writeln!(out, "{p}  Self Powered");
        } else {
            let _ = writeln!(out, "{p}  (Bus Powered)");
        }
        if c[7] & 0x20 != 0 {
            let _ = writeln!(out, "{p}  Remote Wakeup");
        }
        let _ = writeln!(out, "{p}MaxPower            {:5}mA", u16::from(c[8]) * 2);
    }

    fn interface_lines(&self, out: &mut String, i: &[u8]) {
        let p = "      ";
        out.push_str("    Interface Descriptor:\n");
        num(out, p, "bLength", i[0]);
        num(out, p, "bDescriptorType", i[1]);
        num(out, p, "bInterfaceNumber", i[2]);
        num(out, p, "bAlternateSetting", i[3]);
        num(out, p, "bNumEndpoints", i[4]);
        num_text(out, p, "bInterfaceClass", i[5], class_name(i[5]));
        num_text(out, p, "bInterfaceSubClass", i[6], "");
        num_text(out, p, "bInterfaceProtocol", i[7], "");
        num_text(out, p, "iInterface", i[8], self.name(i[8]));
    }
}

fn endpoint_lines(out: &mut String, e: &[u8]) {
    let p = "        ";
    out.push_str("      Endpoint Descriptor:\n");
    num(out, p, "bLength", e[0]);
    num(out, p, "bDescriptorType", e[1]);
    let direction = if e[2] & 0x80 != 0 { "IN" } else { "OUT" };
    let _ = writeln!(
        out,
        "{p}bEndpointAddress     0x{:02x}  EP {} {direction}",
        e[2],
        e[2] & 0x0F
    );
    num(out, p, "bmAttributes", e[3]);
    let transfer = ["Control", "Isochronous", "Bulk", "Interrupt"][usize::from(e[3] & 3)];
    let sync = ["None", "Asynchronous", "Adaptive", "Synchronous"][usize::from((e[3] >> 2) & 3)];
    let usage =
        ["Data", "Feedback", "Implicit feedback Data", "(reserved)"][usize::from((e[3] >> 4) & 3)];
    let _ = writeln!(out, "{p}  Transfer Type            {transfer}");
    let _ = writeln!(out, "{p}  Synch Type               {sync}");
    let _ = writeln!(out, "{p}  Usage Type               {usage}");
    let size = u16::from_le_bytes([e[4], e[5]]);
    let _ = writeln!(
        out,
        "{p}wMaxPacketSize     0x{size:04x}  {}x {} bytes",
        ((size >> 11) & 3) + 1,
        size & 0x7FF
    );
    num(out, p, "bInterval", e[6]);
}

fn ccid_lines(out: &mut String, c: &[u8]) {
    let p = "        ";
    out.push_str("      ChipCard Interface Descriptor:\n");
    num(out, p, "bLength", c[0]);
    num(out, p, "bDescriptorType", c[1]);
    let warning = if c[3] != 1 || c[2] != 0 {
        "  (Warning: Only accurate for version 1.0)"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "{p}bcdCCID             {:2x}.{:02x}{warning}",
        c[3], c[2]
    );
    num(out, p, "nMaxSlotIndex", c[4]);
    let mut voltages = String::new();
    for (bit, name) in [(1, "5.0V "), (2, "3.0V "), (4, "1.8V ")] {
        if c[5] & bit != 0 {
            voltages.push_str(name);
        }
    }
    let _ = writeln!(out, "{p}bVoltageSupport     {:5}  {voltages}", c[5]);
    let protocols = le32(c, 6);
    let mut names = String::new();
    if protocols & 1 != 0 {
        names.push_str(" T=0");
    }
    if protocols & 2 != 0 {
        names.push_str(" T=1");
    }
    if protocols & !3 != 0 {
        names.push_str(" (Invalid values detected)");
    }
    let _ = writeln!(out, "{p}dwProtocols         {protocols:5} {names}");
    let _ = writeln!(out, "{p}dwDefaultClock      {:5}", le32(c, 10));
    let _ = writeln!(out, "{p}dwMaxiumumClock     {:5}", le32(c, 14));
    num(out, p, "bNumClockSupported", c[18]);
    let _ = writeln!(out, "{p}dwDataRate        {:7} bps", le32(c, 19));
    let _ = writeln!(out, "{p}dwMaxDataRate     {:7} bps", le32(c, 23));
    num(out, p, "bNumDataRatesSupp.", c[27]);
    let _ = writeln!(out, "{p}dwMaxIFSD           {:5}", le32(c, 28));
    let _ = writeln!(out, "{p}dwSyncProtocols  {:08X} ", le32(c, 32));
    let _ = writeln!(out, "{p}dwMechanical     {:08X} ", le32(c, 36));
    let features = le32(c, 40);
    let _ = writeln!(out, "{p}dwFeatures       {features:08X}");
    for (bit, text) in FEATURES {
        if features & bit != 0 {
            let _ = writeln!(out, "{p}  {text}");
        }
    }
    let exchange = match features & 0x0007_0000 {
        0x0001_0000 => "TPDU level exchange",
        0x0002_0000 => "Short APDU level exchange",
        0x0004_0000 => "Short and extended APDU level exchange",
        0 => "",
        _ => "WARNING: conflicting exchange levels",
    };
    if !exchange.is_empty() {
        let _ = writeln!(out, "{p}  {exchange}");
    }
    let _ = writeln!(out, "{p}dwMaxCCIDMsgLen     {:5}", le32(c, 44));
    for (label, byte) in [("bClassGetResponse", c[48]), ("bClassEnvelope", c[49])] {
        if byte == 0xFF {
            let _ = writeln!(out, "{p}{label:<21}echo");
        } else {
            let _ = writeln!(out, "{p}{label:<21}  {byte:02X}");
        }
    }
    if c[50] == 0 && c[51] == 0 {
        let _ = writeln!(out, "{p}wlcdLayout           none");
    } else {
        let _ = writeln!(
            out,
            "{p}wlcdLayout           {} cols {} lines",
            c[50], c[51]
        );
    }
    let mut pin = String::new();
    if c[52] & 1 != 0 {
        pin.push_str(" verification");
    }
    if c[52] & 2 != 0 {
        pin.push_str(" modification");
    }
    let _ = writeln!(out, "{p}bPINSupport         {:5} {pin}", c[52]);
    num(out, p, "bMaxCCIDBusySlots", c[53]);
}

/// dwFeatures bits below the exchange level, in lsusb's words.
const FEATURES: [(u32, &str); 10] = [
    (0x0002, "Auto configuration based on ATR"),
    (0x0004, "Auto activation on insert"),
    (0x0008, "Auto voltage selection"),
    (0x0010, "Auto clock change"),
    (0x0020, "Auto baud rate change"),
    (0x0040, "Auto parameter negotiation made by CCID"),
    (0x0080, "Auto PPS made by CCID"),
    (0x0100, "CCID can set ICC in clock stop mode"),
    (0x0200, "NAD value other than 0x00 accepted"),
    (0x0400, "Auto IFSD exchange"),
];

fn class_name(class: u8) -> &'static str {
    match class {
        0 => "[unknown]",
        CCID_CLASS => "Chip/SmartCard",
        _ => "",
    }
}

const CCID_CLASS: u8 = 0x0B;

fn num(out: &mut String, prefix: &str, label: &str, value: u8) {
    let _ = writeln!(out, "{prefix}{label:<20}{value:5}");
}

fn num_text(out: &mut String, prefix: &str, label: &str, value: u8, text: &str) {
    let _ = writeln!(out, "{prefix}{label:<20}{value:5} {text}");
}

fn bcd(out: &mut String, prefix: &str, label: &str, low: u8, high: u8) {
    let _ = writeln!(out, "{prefix}{label:<20}{high:2x}.{low:02x}");
}

fn spaced(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}
