//! The host side of the cable: a USB host controller that enumerates the device, and a
//! CCID reader driver over it that sends what libccid sends (CCID rev 1.1.0, 6.1 and 6.2).

use usb_device::endpoint::EndpointAddress;

use super::bus::{SharedWire, lock};
use super::descriptor::{CONFIGURATION, CcidInterface, DEVICE, Descriptors, STRING};
use super::device::Device;
use crate::applet::Applet;
use crate::error::{Error, Result};

/// Standard requests (USB 2.0, table 9-4).
const GET_DESCRIPTOR: u8 = 6;
const SET_ADDRESS: u8 = 5;
const SET_CONFIGURATION: u8 = 9;
/// bmRequestType for standard device requests.
const DEVICE_TO_HOST: u8 = 0x80;
const HOST_TO_DEVICE: u8 = 0x00;
/// The address the host gives the device.
const ADDRESS: u8 = 1;
const LANG_EN_US: u16 = 0x0409;

/// CCID bulk messages (CCID rev 1.1.0, 6.1 and 6.2).
const PC_TO_RDR_ICC_POWER_ON: u8 = 0x62;
const PC_TO_RDR_ICC_POWER_OFF: u8 = 0x63;
const PC_TO_RDR_GET_SLOT_STATUS: u8 = 0x65;
const PC_TO_RDR_XFR_BLOCK: u8 = 0x6F;
const RDR_TO_PC_DATA_BLOCK: u8 = 0x80;
const RDR_TO_PC_SLOT_STATUS: u8 = 0x81;
const HEADER_LEN: usize = 10;
/// bStatus bits 7..6 (CCID 6.2.6): 0 processed, 1 failed, 2 time extension requested.
const STATUS_FAILED: u8 = 1;
const STATUS_TIME_EXTENSION: u8 = 2;
/// wLevelParameter / bChainParameter for APDU-level exchanges (CCID 6.1.4, 6.2.1).
const CHAIN_BEGINS_AND_ENDS: u8 = 0x00;
const CHAIN_BEGINS: u8 = 0x01;
const CHAIN_ENDS: u8 = 0x02;
const CHAIN_CONTINUES: u8 = 0x03;
const CHAIN_EMPTY_CONTINUE: u8 = 0x10;

/// One RDR_to_PC message.
struct Reply {
    kind: u8,
    status: u8,
    error: u8,
    chain: u8,
    data: Vec<u8>,
}

/// The host: it owns the device (the cable, the device's main loop and the applet run on the
/// host's thread, whenever the host waits for the device).
pub(crate) struct Host<'a> {
    wire: SharedWire,
    device: Device<'a>,
    packet0: usize,
    interface: Option<CcidInterface>,
    seq: u8,
    time_extensions: u64,
}

impl<'a> Host<'a> {
    /// A host with `device` plugged in.
    pub(crate) fn new(wire: SharedWire, device: Device<'a>) -> Self {
        Self {
            wire,
            device,
            packet0: 64,
            interface: None,
            seq: 0,
            time_extensions: 0,
        }
    }

    /// How many time extensions the device asked for so far.
    pub(crate) fn time_extensions(&self) -> u64 {
        self.time_extensions
    }

    /// Enumerates the device as Linux does and checks its descriptors as libccid does.
    pub(crate) fn enumerate(&mut self) -> Result<Descriptors> {
        lock(&self.wire).bus_reset();
        self.device.poll();
        let first = self.get_descriptor(DEVICE, 0, 0, 64)?;
        let packet0 = *first
            .get(7)
            .ok_or_else(|| ccid("the device descriptor is shorter than 8 bytes"))?;
        if !matches!(packet0, 8 | 16 | 32 | 64) {
            return Err(ccid(format!(
                "bMaxPacketSize0 {packet0} is not 8, 16, 32 or 64"
            )));
        }
        self.packet0 = usize::from(packet0);
        self.control_out(SET_ADDRESS, u16::from(ADDRESS))?;
        let address = lock(&self.wire).address();
        if address != ADDRESS {
            return Err(ccid(format!(
                "SET_ADDRESS {ADDRESS} left the device at {address}"
            )));
        }
        let device = self.get_descriptor(DEVICE, 0, 0, 18)?;
        let head = self.get_descriptor(CONFIGURATION, 0, 0, 9)?;
        if head.len() < 4 {
            return Err(ccid("the configuration descriptor is shorter than 4 bytes"));
        }
        let total = u16::from_le_bytes([head[2], head[3]]);
        let configuration = self.get_descriptor(CONFIGURATION, 0, 0, total)?;
        let mut descriptors = Descriptors {
            address,
            device,
            configuration,
            strings: Default::default(),
        };
        let languages = self.get_descriptor(STRING, 0, 0, 255)?;
        if !languages
            .get(2..)
            .unwrap_or_default()
            .chunks_exact(2)
            .any(|id| u16::from_le_bytes([id[0], id[1]]) == LANG_EN_US)
        {
            return Err(ccid("the device offers no strings in US English"));
        }
        for index in string_indexes(&descriptors) {
            let raw = self.get_descriptor(STRING, index, LANG_EN_US, 255)?;
            descriptors.strings.insert(index, utf16_string(&raw)?);
        }
        let configuration_value = *descriptors.configuration.get(5).unwrap_or(&1);
        self.control_out(SET_CONFIGURATION, u16::from(configuration_value))?;
        self.interface = Some(descriptors.check()?);
        Ok(descriptors)
    }

    /// PC_to_RDR_IccPowerOn with automatic voltage: returns the ATR.
    pub(crate) fn power_on(&mut self, applet: &mut dyn Applet) -> Result<Vec<u8>> {
        applet.reset();
        let reply = self.exchange(applet, PC_TO_RDR_ICC_POWER_ON, &[], 0)?;
        expect_kind(&reply, RDR_TO_PC_DATA_BLOCK, "IccPowerOn")?;
        if reply.data.is_empty() {
            return Err(ccid("IccPowerOn returned no ATR"));
        }
        Ok(reply.data)
    }

    /// PC_to_RDR_IccPowerOff.
    pub(crate) fn power_off(&mut self, applet: &mut dyn Applet) -> Result<()> {
        let reply = self.exchange(applet, PC_TO_RDR_ICC_POWER_OFF, &[], 0)?;
        expect_kind(&reply, RDR_TO_PC_SLOT_STATUS, "IccPowerOff")?;
        applet.reset();
        Ok(())
    }

    /// PC_to_RDR_GetSlotStatus, as libccid polls for presence.
    pub(crate) fn slot_status(&mut self, applet: &mut dyn Applet) -> Result<()> {
        let reply = self.exchange(applet, PC_TO_RDR_GET_SLOT_STATUS, &[], 0)?;
        expect_kind(&reply, RDR_TO_PC_SLOT_STATUS, "GetSlotStatus")
    }

    /// Sends an APDU with PC_to_RDR_XfrBlock at APDU level, chained when it exceeds
    /// dwMaxCCIDMsgLen, and collects a chained response (CCID 6.1.4).
    pub(crate) fn transmit(&mut self, applet: &mut dyn Applet, apdu: &[u8]) -> Result<Vec<u8>> {
        let interface = self.interface()?;
        let room = interface.max_message - HEADER_LEN;
        let mut reply = if apdu.len() <= room {
            self.exchange(applet, PC_TO_RDR_XFR_BLOCK, apdu, CHAIN_BEGINS_AND_ENDS)?
        } else {
            let chunks: Vec<&[u8]> = apdu.chunks(room).collect();
            let last = chunks.len() - 1;
            let mut reply = None;
            for (i, chunk) in chunks.into_iter().enumerate() {
                let level = match i {
                    0 => CHAIN_BEGINS,
                    i if i == last => CHAIN_ENDS,
                    _ => CHAIN_CONTINUES,
                };
                let answer = self.exchange(applet, PC_TO_RDR_XFR_BLOCK, chunk, level)?;
                expect_kind(&answer, RDR_TO_PC_DATA_BLOCK, "XfrBlock")?;
                if i != last && (answer.chain != CHAIN_EMPTY_CONTINUE || !answer.data.is_empty()) {
                    return Err(ccid("a chained XfrBlock was not acknowledged with 0x10"));
                }
                reply = Some(answer);
            }
            reply.ok_or_else(|| ccid("empty chain"))?
        };
        expect_kind(&reply, RDR_TO_PC_DATA_BLOCK, "XfrBlock")?;
        let mut response = std::mem::take(&mut reply.data);
        while matches!(reply.chain, CHAIN_BEGINS | CHAIN_CONTINUES) {
            reply = self.exchange(applet, PC_TO_RDR_XFR_BLOCK, &[], CHAIN_EMPTY_CONTINUE)?;
            expect_kind(&reply, RDR_TO_PC_DATA_BLOCK, "XfrBlock continuation")?;
            response.append(&mut reply.data);
        }
        if reply.chain != CHAIN_BEGINS_AND_ENDS && reply.chain != CHAIN_ENDS {
            return Err(ccid(format!(
                "response ended with bChainParameter {:02X}",
                reply.chain
            )));
        }
        Ok(response)
    }

    /// One raw message out, one transfer back ([`super::CcidLink::exchange_raw`]).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn exchange_raw(
        &mut self,
        applet: &mut dyn Applet,
        message: &[u8],
    ) -> Result<Vec<u8>> {
        let interface = self.interface()?;
        self.bulk_out(&interface, message)?;
        self.bulk_in(applet, &interface)
    }

    fn interface(&self) -> Result<CcidInterface> {
        self.interface
            .ok_or_else(|| ccid("the device has not been enumerated"))
    }

    /// Sends one PC_to_RDR message and reads its answer, waiting through time extensions.
    fn exchange(
        &mut self,
        applet: &mut dyn Applet,
        kind: u8,
        data: &[u8],
        level: u8,
    ) -> Result<Reply> {
        let interface = self.interface()?;
        self.seq = self.seq.wrapping_add(1);
        let mut message = Vec::with_capacity(HEADER_LEN + data.len());
        message.push(kind);
        message.extend_from_slice(&(data.len() as u32).to_le_bytes());
        message.extend_from_slice(&[0, self.seq]);
        match kind {
            PC_TO_RDR_XFR_BLOCK => message.extend_from_slice(&[0, level, 0]),
            _ => message.extend_from_slice(&[0, 0, 0]),
        }
        message.extend_from_slice(data);
        self.bulk_out(&interface, &message)?;
        loop {
            let reply = self.bulk_in(applet, &interface)?;
            if reply.len() < HEADER_LEN {
                return Err(ccid(format!("a {}-byte reply has no header", reply.len())));
            }
            let length = u32::from_le_bytes([reply[1], reply[2], reply[3], reply[4]]) as usize;
            if length != reply.len() - HEADER_LEN {
                return Err(ccid(format!(
                    "dwLength {length} but {} bytes of data",
                    reply.len() - HEADER_LEN
                )));
            }
            if reply[5] != 0 || reply[6] != self.seq {
                return Err(ccid(format!(
                    "reply for slot {} seq {} to slot 0 seq {}",
                    reply[5], reply[6], self.seq
                )));
            }
            let reply = Reply {
                kind: reply[0],
                status: reply[7],
                error: reply[8],
                chain: reply[9],
                data: reply[HEADER_LEN..].to_vec(),
            };
            match reply.status >> 6 {
                STATUS_TIME_EXTENSION => self.time_extensions += 1,
                STATUS_FAILED => {
                    return Err(ccid(format!(
                        "command {kind:02X} failed with bError {:02X}",
                        reply.error
                    )));
                }
                _ => return Ok(reply),
            }
        }
    }

    /// One bulk OUT transfer: full packets, then a short one; no zero-length packet after
    /// a full last packet, as libusb sends it and as usbd-ccid expects.
    fn bulk_out(&mut self, interface: &CcidInterface, message: &[u8]) -> Result<()> {
        let index = usize::from(interface.bulk_out & 0x0F);
        for packet in message.chunks(interface.packet_out) {
            if !lock(&self.wire).send_out(index, packet) {
                return Err(ccid("the bulk OUT endpoint is still full"));
            }
            self.device.poll();
            if lock(&self.wire).is_stalled(EndpointAddress::from(interface.bulk_out)) {
                return Err(ccid("the device stalled the bulk OUT endpoint"));
            }
        }
        Ok(())
    }

    /// One bulk IN transfer: packets until a short (possibly empty) one.
    fn bulk_in(&mut self, applet: &mut dyn Applet, interface: &CcidInterface) -> Result<Vec<u8>> {
        let mut transfer = Vec::new();
        loop {
            let packet = self.in_packet(applet, interface.bulk_in)?;
            let short = packet.len() < interface.packet_in;
            transfer.extend_from_slice(&packet);
            if short {
                return Ok(transfer);
            }
        }
    }

    /// Waits for the device to put a packet on an IN endpoint, running its main loop.
    fn in_packet(&mut self, applet: &mut dyn Applet, address: u8) -> Result<Vec<u8>> {
        let index = usize::from(address & 0x0F);
        loop {
            let packet = {
                let mut wire = lock(&self.wire);
                if wire.is_stalled(EndpointAddress::from(address)) {
                    return Err(ccid(format!("the device stalled endpoint {address:02X}")));
                }
                wire.take_in(index)
            };
            if let Some(packet) = packet {
                self.device.poll();
                return Ok(packet);
            }
            if !self.device.work(applet) {
                return Err(ccid(format!(
                    "the device sent nothing on endpoint {address:02X}"
                )));
            }
        }
    }

    fn get_descriptor(
        &mut self,
        kind: u8,
        index: u8,
        language: u16,
        length: u16,
    ) -> Result<Vec<u8>> {
        let value = u16::from(kind) << 8 | u16::from(index);
        let data = self.control_in(GET_DESCRIPTOR, value, language, length)?;
        if data.len() < 2 || data[1] != kind {
            return Err(ccid(format!(
                "GET_DESCRIPTOR({kind}, {index}) answered something else"
            )));
        }
        Ok(data)
    }

    /// A control read: SETUP, IN data stage, zero-length OUT status stage.
    fn control_in(&mut self, request: u8, value: u16, index: u16, length: u16) -> Result<Vec<u8>> {
        self.setup([DEVICE_TO_HOST, request], value, index, length);
        let mut data = Vec::new();
        loop {
            let packet = self.control_packet(request)?;
            let short = packet.len() < self.packet0;
            data.extend_from_slice(&packet);
            if short || data.len() >= usize::from(length) {
                break;
            }
        }
        if !lock(&self.wire).send_out(0, &[]) {
            return Err(ccid("endpoint 0 OUT still full at the status stage"));
        }
        self.device.poll();
        Ok(data)
    }

    /// A control write without data: SETUP, then the device's zero-length IN status stage.
    fn control_out(&mut self, request: u8, value: u16) -> Result<()> {
        self.setup([HOST_TO_DEVICE, request], value, 0, 0);
        let status = self.control_packet(request)?;
        if !status.is_empty() {
            return Err(ccid(format!(
                "request {request} answered data in its status stage"
            )));
        }
        Ok(())
    }

    fn setup(&mut self, [request_type, request]: [u8; 2], value: u16, index: u16, length: u16) {
        let [value_low, value_high] = value.to_le_bytes();
        let [index_low, index_high] = index.to_le_bytes();
        let [length_low, length_high] = length.to_le_bytes();
        lock(&self.wire).send_setup([
            request_type,
            request,
            value_low,
            value_high,
            index_low,
            index_high,
            length_low,
            length_high,
        ]);
        self.device.poll();
    }

    /// Takes the next packet of a control transfer from endpoint 0 IN.
    fn control_packet(&mut self, request: u8) -> Result<Vec<u8>> {
        let packet = {
            let mut wire = lock(&self.wire);
            if wire.is_stalled(EndpointAddress::from(0x80)) {
                return Err(ccid(format!("the device stalled request {request}")));
            }
            wire.take_in(0)
        };
        let packet = packet.ok_or_else(|| ccid(format!("no answer to request {request}")))?;
        self.device.poll();
        Ok(packet)
    }
}

/// The string indexes the descriptors name: manufacturer, product, serial, configuration,
/// interfaces.
fn string_indexes(descriptors: &Descriptors) -> Vec<u8> {
    let mut indexes: Vec<u8> = descriptors.device.get(14..17).unwrap_or_default().to_vec();
    indexes.extend(descriptors.configuration.get(6).copied());
    indexes.extend(
        descriptors
            .walk()
            .filter(|d| d[1] == 4 && d.len() >= 9)
            .map(|d| d[8]),
    );
    indexes.retain(|&index| index != 0);
    indexes.sort_unstable();
    indexes.dedup();
    indexes
}

fn utf16_string(raw: &[u8]) -> Result<String> {
    let length = usize::from(raw[0]).min(raw.len());
    let units: Vec<u16> = raw
        .get(2..length)
        .unwrap_or_default()
        .chunks_exact(2)
        .map(|unit| u16::from_le_bytes([unit[0], unit[1]]))
        .collect();
    String::from_utf16(&units).map_err(|_| ccid("a string descriptor is not UTF-16"))
}

fn expect_kind(reply: &Reply, kind: u8, command: &str) -> Result<()> {
    if reply.kind == kind {
        Ok(())
    } else {
        Err(ccid(format!(
            "{command} answered message type {:02X}, not {kind:02X}",
            reply.kind
        )))
    }
}

fn ccid(reason: impl Into<String>) -> Error {
    Error::Ccid(reason.into())
}
