//! docs/ci.md's recipes, run as written there, each in the situation it is for: the
//! container job in a mount namespace where `capsh --drop=cap_sys_admin` refuses
//! `unshare`, the non-root job as `nobody`, the cached image over two jobs, several tokens,
//! and the tear-down. The recipes call `ukey-sim` and `ukey` from this build.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken fixture"
)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

#[path = "../../sim/tests/support/container.rs"]
mod container;

use container::in_container;

const DOC: &str = include_str!("../../docs/ci.md");
const UKEY: &str = env!("CARGO_BIN_EXE_ukey");

/// The workspace root: recipes run there (they name `sim/fixtures/…`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `sh` block after `<!-- recipe: NAME -->` in docs/ci.md.
fn recipe(name: &str) -> String {
    let marker = format!("<!-- recipe: {name} -->");
    let after = DOC
        .split_once(&marker)
        .expect("the recipe is in docs/ci.md")
        .1;
    let block = after.split_once("```sh\n").expect("a sh block").1;
    block
        .split_once("```")
        .expect("a closed block")
        .0
        .to_string()
}

/// A directory holding `ukey` and `ukey-sim` of this build, for PATH. `ukey-sim` is
/// another crate's binary, which cargo does not build for this test: it is built (or
/// found up to date) once per run.
fn bin_dir() -> PathBuf {
    static BUILT: OnceLock<bool> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        Command::new(env!("CARGO"))
            .args(["build", "-q", "-p", "ukey-sim", "--bin", "ukey-sim"])
            .current_dir(root())
            .status()
            .is_ok_and(|status| status.success())
    });
    assert!(built, "building ukey-sim");
    Path::new(UKEY).parent().unwrap().to_path_buf()
}

/// Writes `name`'s recipe to a script in `scratch` (readable by anyone) and returns its path.
fn script(scratch: &Path, name: &str) -> PathBuf {
    let path = scratch.join(format!("{name}.sh"));
    fs::write(&path, recipe(name)).unwrap();
    path
}

/// Runs `command` from the workspace root with this build's tools first on PATH.
fn run(mut command: Command) -> Output {
    let path = format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    command
        .current_dir(root())
        .env("PATH", path)
        .env_remove("PCSCLITE_CSOCK_NAME")
        .stdin(Stdio::null())
        .output()
        .expect("the recipe runs")
}

fn succeeded(name: &str, output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "recipe {name}: {}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn container_job_runs_plainly_without_cap_sys_admin() {
    let scratch = tempfile::tempdir().unwrap();
    let run_dir = scratch.path().join("run");
    fs::create_dir(&run_dir).unwrap();
    let script = script(scratch.path(), "container");
    let output = run(in_container(
        &run_dir,
        &format!(
            "capsh --drop=cap_sys_admin -- -c 'exec bash {}'",
            script.display()
        ),
    ));
    let stdout = succeeded("container", &output);
    assert!(stdout.contains("Virtual PCD 00 00: ukey token"), "{stdout}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("plain mode"), "{stderr}");
}

#[test]
fn non_root_job_runs_as_nobody() {
    let scratch = tempfile::tempdir().unwrap();
    fs::set_permissions(scratch.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let run_dir = scratch.path().join("run");
    fs::create_dir(&run_dir).unwrap();
    let chown = Command::new("chown")
        .arg("nobody")
        .arg(&run_dir)
        .status()
        .unwrap();
    assert!(chown.success());
    let script = script(scratch.path(), "non-root");
    let output = run(in_container(
        &run_dir,
        &format!(
            "setpriv --reuid nobody --regid nogroup --clear-groups env TMPDIR=/tmp bash {}",
            script.display()
        ),
    ));
    let stdout = succeeded("non-root", &output);
    assert!(stdout.contains("ukey token"), "{stdout}");
}

#[test]
fn cached_image_job_makes_the_token_once_then_reuses_it() {
    let scratch = tempfile::tempdir().unwrap();
    let script = script(scratch.path(), "cached-image");
    for job in ["first", "second"] {
        let mut command = Command::new("bash");
        command
            .arg(&script)
            .env("CACHE", scratch.path().join("cache"));
        let stdout = succeeded(&format!("cached-image, {job} job"), &run(command));
        assert!(stdout.contains("20261125"), "{job} job: {stdout}");
    }
    assert!(scratch.path().join("cache/ukey-token.img").exists());
}

#[test]
fn several_tokens_each_announce_their_reader() {
    let scratch = tempfile::tempdir().unwrap();
    let mut command = Command::new("bash");
    command.arg(script(scratch.path(), "several-tokens"));
    let stdout = succeeded("several-tokens", &run(command));
    for (slot, reader) in [
        "Virtual PCD 00 00",
        "Virtual PCD 00 01",
        "Virtual PCD 1 00 00",
        "Virtual PCD 1 00 01",
    ]
    .iter()
    .enumerate()
    {
        assert!(
            stdout.contains(&format!("ready reader=\"{reader}\" serial=1000000{slot}")),
            "{stdout}"
        );
        assert!(
            stdout.contains(&format!("{reader}: ukey token, serial 1000000{slot}")),
            "{stdout}"
        );
    }
}

#[test]
fn tear_down_stops_everything_cleanly() {
    let scratch = tempfile::tempdir().unwrap();
    let mut command = Command::new("bash");
    command.arg(script(scratch.path(), "tear-down"));
    succeeded("tear-down", &run(command));
}
