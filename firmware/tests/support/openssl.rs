//! Signature checks by the real `openssl` command (OpenSSL 3), as the card edge requires.

use std::path::PathBuf;
use std::process::Command;

use sm3::{Digest, Sm3};

/// SPKI DER prefix of an uncompressed P-256 point (id-ecPublicKey, prime256v1).
const P256_SPKI: &str = "3059301306072a8648ce3d020106082a8648ce3d030107034200";
/// SPKI DER prefix of an uncompressed SM2 point (id-ecPublicKey, sm2 1.2.156.10197.1.301).
const SM2_SPKI: &str = "3059301306072a8648ce3d020106082a811ccf5501822d034200";

/// SM2 curve parameters a, b, xG, yG (GB/T 32918.5-2017), for Z_A.
const SM2_CURVE: [&str; 4] = [
    "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC",
    "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93",
    "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7",
    "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0",
];

/// The signer ID the card edge uses by default.
pub const DISTID: &[u8] = b"1234567812345678";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ukey-fw-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// `e = SM3(Z_A ‖ M)` for public point `point` (04 ‖ X ‖ Y) and the default signer ID.
pub fn sm2_e(point: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut z = Sm3::new();
    z.update(((DISTID.len() * 8) as u16).to_be_bytes());
    z.update(DISTID);
    for p in SM2_CURVE {
        z.update(hex::decode(p).expect("hex"));
    }
    z.update(&point[1..]);
    let za = z.finalize();
    let mut e = Sm3::new();
    e.update(za);
    e.update(msg);
    e.finalize().into()
}

/// SHA-256 of `msg`.
pub fn sha256(msg: &[u8]) -> [u8; 32] {
    use sha2::Sha256;
    Sha256::digest(msg).into()
}

/// Checks with `openssl` that `sig` is a valid signature of `msg` under `point`.
/// P-256 (`11`): `openssl dgst -sha256 -verify`. SM2 (`54`): `openssl pkeyutl -verify -rawin
/// -digest sm3 -pkeyopt distid:1234567812345678`.
pub fn verifies(alg: u8, point: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    let dir = scratch(&format!("{alg:02x}-{}", hex::encode(&sig[sig.len() - 4..])));
    let prefix = if alg == 0x11 { P256_SPKI } else { SM2_SPKI };
    let mut spki = hex::decode(prefix).expect("hex");
    spki.extend_from_slice(point);
    let (key, m, s) = (dir.join("pub.der"), dir.join("msg"), dir.join("sig"));
    std::fs::write(&key, spki).expect("write");
    std::fs::write(&m, msg).expect("write");
    std::fs::write(&s, sig).expect("write");
    let mut cmd = Command::new("openssl");
    if alg == 0x11 {
        cmd.args(["dgst", "-sha256", "-keyform", "DER", "-verify"])
            .arg(&key)
            .arg("-signature")
            .arg(&s)
            .arg(&m);
    } else {
        cmd.args(["pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey"])
            .arg(&key)
            .args([
                "-rawin",
                "-digest",
                "sm3",
                "-pkeyopt",
                "distid:1234567812345678",
                "-in",
            ])
            .arg(&m)
            .arg("-sigfile")
            .arg(&s);
    }
    let out = cmd.output().expect("openssl must be installed");
    let _ = std::fs::remove_dir_all(&dir);
    out.status.success()
}
