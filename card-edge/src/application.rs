//! The PIV application's identifier (SP 800-73-4 part 1, 2.2; card-edge.md, "Application").

/// The PIV AID with its version: RID `A0 00 00 03 08`, PIX `00 00 10 00 01 00`.
pub const PIV_AID: [u8; 11] = [
    0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
];

/// Length of the RID, the 5-byte prefix of [`PIV_AID`] that also selects the application
/// (the form yubico-piv-tool sends).
pub const PIV_RID_LEN: usize = 5;
