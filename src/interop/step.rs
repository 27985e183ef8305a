//! One step: a client run to completion (or killed after a time limit), with its output and
//! the APDUs the token saw meanwhile.

use std::fmt::Display;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use super::exchange::{self, Exchange};
use super::failure::Failure;
use super::session::Session;

/// How long one client run may take before it is killed: far above any client's real time
/// (well under a second), so only a hang reaches it.
const STEP_TIMEOUT: Duration = Duration::from_secs(120);

/// At most this many trace lines go into a failure's text, the last ones.
const TRACE_LINES: usize = 300;

/// A client's finished run: its exit code, output and the APDUs of the step.
pub struct Ran<'s> {
    session: &'s Session,
    step: String,
    command: String,
    code: Option<i32>,
    stdout: String,
    stderr: String,
    trace: String,
}

/// Runs `command` with no standard input, collecting its output and the token's trace.
pub(crate) fn execute<'s>(
    session: &'s Session,
    step: &str,
    mut command: Command,
) -> Result<Ran<'s>, Failure> {
    let shown = format!("{command:?}");
    let mark = session.trace_mark();
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| session.fail(step, format!("cannot run {shown}: {e}")))?;
    let output =
        wait(child).map_err(|e| session.fail(step, format!("waiting for {shown}: {e}")))?;
    Ok(Ran {
        session,
        step: step.to_string(),
        command: shown,
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        trace: session.trace_since(mark),
    })
}

/// Waits for `child` and its output; kills it (by its id: it is ours) after
/// [`STEP_TIMEOUT`].
fn wait(child: std::process::Child) -> std::io::Result<Output> {
    let pid = child.id();
    let (done, finished) = mpsc::channel();
    thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match finished.recv_timeout(STEP_TIMEOUT) {
        Ok(output) => output,
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            finished
                .recv()
                .map_err(|_| std::io::Error::other("the waiting thread vanished"))?
        }
    }
}

/// The last [`TRACE_LINES`] lines of `trace`, saying how many were left out.
pub(crate) fn tail(trace: &str) -> String {
    let lines: Vec<&str> = trace.lines().collect();
    if lines.is_empty() {
        return "(none)\n".to_string();
    }
    let skipped = lines.len().saturating_sub(TRACE_LINES);
    let mut text = String::new();
    if skipped > 0 {
        text.push_str(&format!("({skipped} earlier lines left out)\n"));
    }
    for line in lines.iter().skip(skipped) {
        text.push_str(line);
        text.push('\n');
    }
    text
}

impl Ran<'_> {
    /// The exit code; `None` if the client was killed by a signal.
    pub fn code(&self) -> Option<i32> {
        self.code
    }

    /// What the client printed on stdout.
    pub fn stdout(&self) -> &str {
        &self.stdout
    }

    /// What the client printed on stderr.
    pub fn stderr(&self) -> &str {
        &self.stderr
    }

    /// The token's trace during the step.
    pub fn trace(&self) -> &str {
        &self.trace
    }

    /// The commands the token received during the step, with their answers.
    pub fn exchanges(&self) -> Vec<Exchange> {
        exchange::parse(&self.trace)
    }

    /// The last exchange of the step whose command starts with `prefix` (CLA INS P1 P2...).
    pub fn answer_to(&self, prefix: &[u8]) -> Result<Exchange, Failure> {
        self.exchanges()
            .into_iter()
            .rev()
            .find(|exchange| exchange.command.starts_with(prefix))
            .ok_or_else(|| self.fail(format!("the token never received a command {prefix:02X?}")))
    }

    /// A failure of this step: `why`, the command, its output and the step's APDUs.
    pub fn fail(&self, why: impl Display) -> Failure {
        let code = match self.code {
            Some(code) => code.to_string(),
            None => "none (killed)".to_string(),
        };
        Failure::new(format!(
            "{}\n$ {}\nexit code: {code}\n--- stdout ---\n{}\n--- stderr ---\n{}\n\
             --- APDUs of this step ({}) ---\n{}",
            self.session.headline(&self.step, &why),
            self.command,
            self.stdout.trim_end(),
            self.stderr.trim_end(),
            self.session.trace_source(),
            tail(&self.trace)
        ))
    }

    /// Fails the step with `why` unless `ok`.
    pub fn ensure(&self, ok: bool, why: impl Display) -> Result<(), Failure> {
        if ok { Ok(()) } else { Err(self.fail(why)) }
    }

    /// Fails the step unless stdout contains `needle`.
    pub fn expect_stdout(&self, needle: &str) -> Result<(), Failure> {
        self.ensure(
            self.stdout.contains(needle),
            format!("stdout lacks {needle:?}"),
        )
    }

    /// Fails the step unless stderr contains `needle`.
    pub fn expect_stderr(&self, needle: &str) -> Result<(), Failure> {
        self.ensure(
            self.stderr.contains(needle),
            format!("stderr lacks {needle:?}"),
        )
    }

    /// Fails the step unless stdout or stderr contains `needle`.
    pub fn expect_output(&self, needle: &str) -> Result<(), Failure> {
        self.ensure(
            self.stdout.contains(needle) || self.stderr.contains(needle),
            format!("the output lacks {needle:?}"),
        )
    }

    /// The rest of the first stdout line that starts (after indentation) with `label`,
    /// trimmed: `value("Serial Number:")` on `Serial Number:\t20000001` gives `20000001`.
    pub fn value(&self, label: &str) -> Result<&str, Failure> {
        self.stdout
            .lines()
            .find_map(|line| line.trim_start().strip_prefix(label))
            .map(str::trim)
            .ok_or_else(|| self.fail(format!("no line starting with {label:?} on stdout")))
    }
}
