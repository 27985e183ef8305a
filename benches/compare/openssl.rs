//! `openssl speed` on this machine, in the same run: the reference the targets are
//! ratios of.

use std::process::Command;

/// Signatures and verifications per second, as `openssl speed` reports them (per second of
/// user CPU time, its default way of timing).
#[derive(Clone, Copy, Debug)]
pub struct SignVerify {
    /// Signatures per second.
    pub sign: f64,
    /// Verifications per second.
    pub verify: f64,
}

/// What one `openssl speed -seconds N sm2 ecdsap256` printed.
#[derive(Debug)]
pub struct Speed {
    /// `openssl version`'s line.
    pub version: String,
    /// ECDSA over NIST P-256.
    pub p256: SignVerify,
    /// SM2.
    pub sm2: SignVerify,
}

/// Runs `openssl speed -seconds <seconds> sm2 ecdsap256` and reads its two result lines.
pub fn speed(seconds: u32) -> Result<Speed, String> {
    let version = output(Command::new("openssl").arg("version"))?;
    let seconds = seconds.to_string();
    let report =
        output(Command::new("openssl").args(["speed", "-seconds", &seconds, "sm2", "ecdsap256"]))?;
    Ok(Speed {
        version: version.trim().to_string(),
        p256: result_line(&report, "ecdsa (nistp256)")?,
        sm2: result_line(&report, "SM2 (CurveSM2)")?,
    })
}

/// The sign/s and verify/s columns of the line naming `algorithm`, such as
/// ` 256 bits ecdsa (nistp256)   0.0000s   0.0001s  35816.9  11839.3`.
fn result_line(report: &str, algorithm: &str) -> Result<SignVerify, String> {
    let line = report
        .lines()
        .find(|line| line.contains(algorithm) && line.trim_end().ends_with(char::is_numeric))
        .ok_or_else(|| format!("openssl speed printed no result line for {algorithm}"))?;
    let mut numbers = line.split_whitespace().rev().map(str::parse::<f64>);
    match (numbers.next(), numbers.next()) {
        (Some(Ok(verify)), Some(Ok(sign))) => Ok(SignVerify { sign, verify }),
        _ => Err(format!("cannot read the rates in {line:?}")),
    }
}

fn output(command: &mut Command) -> Result<String, String> {
    let output = command
        .output()
        .map_err(|e| format!("cannot run {command:?} (is openssl installed?): {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{command:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
