//! Data object tags (SP 800-73-4 part 1, table 3; card-edge.md, "Commands" and "Vendor
//! objects"). PIV reserves `5FFF00`..`5FFFFF` for vendors.

/// A data object's tag, as GET DATA and PUT DATA name it in `5C`; its bytes big-endian.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ObjectId(pub u32);

impl ObjectId {
    /// Card Holder Unique Identifier.
    pub const CHUID: ObjectId = ObjectId(0x5FC102);
    /// Card Capability Container.
    pub const CCC: ObjectId = ObjectId(0x5FC107);
    /// X.509 certificate of slot 9A, PIV authentication.
    pub const CERT_9A: ObjectId = ObjectId(0x5FC105);
    /// X.509 certificate of slot 9C, digital signature.
    pub const CERT_9C: ObjectId = ObjectId(0x5FC10A);
    /// X.509 certificate of slot 9D, key management.
    pub const CERT_9D: ObjectId = ObjectId(0x5FC10B);
    /// X.509 certificate of slot 9E, card authentication.
    pub const CERT_9E: ObjectId = ObjectId(0x5FC101);
    /// Printed information (reading it needs the PIN).
    pub const PRINTED: ObjectId = ObjectId(0x5FC109);
    /// Discovery object, answered as its own template rather than inside `53`.
    pub const DISCOVERY: ObjectId = ObjectId(0x7E);
    /// Key history.
    pub const KEY_HISTORY: ObjectId = ObjectId(0x5FC10C);
    /// Vendor object: ykman's admin data (whether the management key is kept under the PIN,
    /// and its salt), an ordinary object written with the management key (card edge v2).
    pub const ADMIN_DATA: ObjectId = ObjectId(0x5FFF00);
    /// Vendor object: device information, read-only.
    pub const DEVICE_INFO: ObjectId = ObjectId(0x5FFF01);
    /// Vendor object: the holder's label, UTF-8, at most 32 bytes.
    pub const LABEL: ObjectId = ObjectId(0x5FFF02);
}
