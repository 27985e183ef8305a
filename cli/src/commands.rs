//! The subcommands, one file each; each is a `XxxCmd` with `run`.

pub(crate) mod bench;
pub(crate) mod ca;
pub(crate) mod cert;
pub(crate) mod csr;
pub(crate) mod doctor;
pub(crate) mod info;
pub(crate) mod key;
pub(crate) mod list;
pub(crate) mod mgm;
pub(crate) mod pin;
pub(crate) mod reset;
pub(crate) mod sign;
pub(crate) mod verify;
pub(crate) mod wait;
