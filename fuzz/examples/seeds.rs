//! Writes the seed corpora (`corpus/<target>/seed-*`) from the conformance cases' APDUs,
//! recorded one file per case by `scripts/fuzz-seeds.sh`:
//! - `apdu_unauthenticated`, `apdu_authenticated`: each case's steps as recorded;
//! - `tlv`: the data field of each recorded short APDU, the TLVs hosts send;
//! - `store_open`: the flash of a 4-page token fresh from a blank flash, made with keys and
//!   a certificate, and worn by enough writes that garbage collection ran; each without its
//!   trailing erased bytes (the target erases what the input leaves out);
//! - `image_header`: a blank 4-page image file, as the simulator makes them;
//! - `ccid_packets`: a session of CCID messages: slot status, power on, SELECT in an
//!   XfrBlock, a chained XfrBlock, power off.
//!
//! Usage: `cargo run --example seeds -- RECORDED_DIR CORPUS_DIR`.

use std::collections::BTreeSet;
use std::path::Path;

use ukey_firmware::Profile;
use ukey_firmware::flash::{FileFlash, PAGE_SIZE, RamFlash};
use ukey_fuzz::{Step, made_token, open, steps};

/// The flash of the `store_open` target.
type StoreFlash = RamFlash<{ 4 * PAGE_SIZE }>;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(recorded), Some(corpus)) = (args.next(), args.next()) else {
        eprintln!("usage: seeds RECORDED_DIR CORPUS_DIR");
        std::process::exit(2);
    };
    let corpus = Path::new(&corpus);
    let mut tlvs = BTreeSet::new();
    for entry in std::fs::read_dir(recorded)? {
        let entry = entry?;
        let case = entry.file_name().to_string_lossy().into_owned();
        let input = std::fs::read(entry.path())?;
        for target in ["apdu_unauthenticated", "apdu_authenticated"] {
            write(&corpus.join(target), &case, &input)?;
        }
        for step in steps(&input) {
            if let Step::Apdu([_, _, _, _, lc, data @ ..]) = step
                && usize::from(*lc) <= data.len()
                && *lc > 0
            {
                tlvs.insert(data[..usize::from(*lc)].to_vec());
            }
        }
    }
    for (i, data) in tlvs.iter().enumerate() {
        write(&corpus.join("tlv"), &format!("{i:04}"), data)?;
    }
    for (name, flash) in store_images() {
        let bytes = flash.as_bytes();
        let used = bytes
            .iter()
            .rposition(|&b| b != 0xFF)
            .map_or(0, |last| last + 1);
        write(&corpus.join("store_open"), name, &bytes[..used])?;
    }
    let image = std::env::temp_dir().join(format!("ukey-seed-image-{}", std::process::id()));
    drop(FileFlash::create(&image, 4).map_err(std::io::Error::other)?);
    let bytes = std::fs::read(&image);
    std::fs::remove_file(&image)?;
    write(&corpus.join("image_header"), "blank", &bytes?)?;
    write(&corpus.join("ccid_packets"), "session", &ccid_session())?;
    Ok(())
}

/// Writes `corpus/seed-<name>`.
fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(format!("seed-{name}")), bytes)
}

/// Flash images of 4-page tokens: fresh, made, worn.
fn store_images() -> [(&'static str, StoreFlash); 3] {
    let profile = Profile::standard(0x0017_0000);
    let fresh = open(&StoreFlash::new(), &profile)
        .into_flash()
        .expect("a loaded token");
    let made: StoreFlash = made_token(&profile);
    let mut card = open(&made, &profile);
    for round in 0..24u8 {
        let value = [
            b"\x70\x82\x04\x00".as_slice(),
            &[round; 1024],
            b"\x71\x01\x00\xfe\x00",
        ];
        card.put_object(0x5FC10A, &value.concat())
            .expect("a certificate fits");
    }
    let worn = card.into_flash().expect("a loaded token");
    [("fresh", fresh), ("made", made), ("worn", worn)]
}

/// A CCID session in the step format: each message a `u16` length and its bytes.
fn ccid_session() -> Vec<u8> {
    let message = |kind: u8, seq: u8, level: u8, data: &[u8]| {
        let mut m = vec![kind];
        m.extend_from_slice(&u32::try_from(data.len()).unwrap_or(0).to_le_bytes());
        m.extend_from_slice(&[0, seq, 0, level, 0]);
        m.extend_from_slice(data);
        m
    };
    let select = b"\x00\xA4\x04\x00\x05\xA0\x00\x00\x03\x08";
    let messages = [
        message(0x65, 1, 0, &[]),
        message(0x62, 2, 0, &[]),
        message(0x6F, 3, 0, select),
        message(0x6F, 4, 1, &select[..4]),
        message(0x6F, 5, 2, &select[4..]),
        message(0x63, 6, 0, &[]),
    ];
    let mut steps = Vec::new();
    for m in messages {
        steps.extend_from_slice(&u16::try_from(m.len()).unwrap_or(0).to_be_bytes());
        steps.extend_from_slice(&m);
    }
    steps
}
