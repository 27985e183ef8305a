//! Serials of tokens `ukey-sim` makes, as its readiness line tells them: random for a new
//! token unless `--serial` or the profile names one; `--profile` for an image that exists
//! is refused unless `--reprovision` re-personalises the token.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ukey_sim::Pcscd;

#[path = "support/foreground.rs"]
mod foreground;
#[path = "support/temp_dir.rs"]
mod temp_dir;

use foreground::Foreground;
use temp_dir::TempDir;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const SIM: &str = env!("CARGO_BIN_EXE_ukey-sim");
const CI_PROFILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/ci-token.toml");

/// Runs `ukey-sim` with `args` in a private pcscd until its readiness line, stops it, and
/// returns the serial the line gives.
fn serial_of(args: &[&str]) -> Result<u32, Box<dyn std::error::Error>> {
    let pcscd = Pcscd::start(1)?;
    let mut command = pcscd.command(SIM);
    command
        .args(["--vpcd", &pcscd.vpcd_addr(0).ok_or("no slot 0")?])
        .args(args);
    let mut sim = Foreground::start(command)?;
    let line = sim.line(Duration::from_secs(20))?;
    let status = sim.terminate(Duration::from_secs(10))?;
    assert!(status.success(), "{status}: {}", sim.stderr());
    let serial = line
        .split(' ')
        .find_map(|field| field.strip_prefix("serial="))
        .ok_or_else(|| format!("no serial in {line:?}"))?;
    Ok(serial.parse()?)
}

fn image_arg(path: &Path) -> &str {
    path.to_str().unwrap_or_default()
}

#[test]
fn new_tokens_get_random_eight_digit_serials() -> TestResult {
    let scratch = TempDir::new("random-serials")?;
    let first = serial_of(&["--image", image_arg(&scratch.path("a.img"))])?;
    let second = serial_of(&[])?;
    assert_ne!(first, second);
    for serial in [first, second] {
        assert!((10_000_000..100_000_000).contains(&serial), "{serial}");
    }
    let again = serial_of(&["--image", image_arg(&scratch.path("a.img"))])?;
    assert_eq!(again, first, "an image keeps its serial");
    Ok(())
}

#[test]
fn serial_named_by_the_option_or_the_profile_is_kept() -> TestResult {
    assert_eq!(serial_of(&["--serial", "4242"])?, 4242);
    assert_eq!(serial_of(&["--profile", CI_PROFILE])?, 20_261_125);
    assert_eq!(serial_of(&["--profile", CI_PROFILE, "--serial", "77"])?, 77);
    Ok(())
}

#[test]
fn profile_for_an_existing_image_is_refused_and_the_image_left_as_it_was() -> TestResult {
    let scratch = TempDir::new("profile-refused")?;
    let image = scratch.path("token.img");
    let made = serial_of(&["--image", image_arg(&image)])?;
    let before = fs::read(&image)?;
    for extra in [["--profile", CI_PROFILE], ["--serial", "5"]] {
        let output = Command::new(SIM)
            .args(["--vpcd", "127.0.0.1:1", "--image", image_arg(&image)])
            .args(extra)
            .output()?;
        let said = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{said}");
        assert!(said.contains("already holds a token"), "{said}");
        assert!(said.contains("--reprovision"), "{said}");
    }
    assert_eq!(fs::read(&image)?, before);
    assert_eq!(serial_of(&["--image", image_arg(&image)])?, made);
    Ok(())
}

#[test]
fn reprovision_applies_the_profile_to_an_existing_image() -> TestResult {
    let scratch = TempDir::new("reprovision")?;
    let image = scratch.path("token.img");
    serial_of(&["--image", image_arg(&image)])?;
    let args = [
        "--image",
        image_arg(&image),
        "--profile",
        CI_PROFILE,
        "--reprovision",
    ];
    assert_eq!(serial_of(&args)?, 20_261_125);
    assert_eq!(serial_of(&["--image", image_arg(&image)])?, 20_261_125);
    assert!(!scratch.path("token.img.reprovision").exists());
    Ok(())
}

#[test]
fn reprovision_without_an_existing_image_is_refused() -> TestResult {
    let scratch = TempDir::new("reprovision-none")?;
    let output = Command::new(SIM)
        .args([
            "--image",
            image_arg(&scratch.path("none.img")),
            "--reprovision",
        ])
        .output()?;
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{said}");
    assert!(said.contains("there is none"), "{said}");
    Ok(())
}
