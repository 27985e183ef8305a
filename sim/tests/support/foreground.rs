//! A command such as `ukey-sim pcscd` run as CI runs it: its stdout read line by line as
//! it comes, its stderr kept, SIGTERM to stop it, killed and waited for on drop.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// A running command and what it has said.
pub struct Foreground {
    child: Child,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
}

impl Foreground {
    /// Starts `command` with its stdout and stderr captured.
    pub fn start(mut command: Command) -> std::io::Result<Self> {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let (send, lines) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    let _ = send.send(line);
                }
            });
        }
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(mut pipe) = child.stderr.take() {
            let kept = Arc::clone(&stderr);
            thread::spawn(move || {
                let mut buffer = [0; 512];
                while let Ok(read @ 1..) = pipe.read(&mut buffer) {
                    if let Ok(mut text) = kept.lock() {
                        text.push_str(&String::from_utf8_lossy(&buffer[..read]));
                    }
                }
            });
        }
        Ok(Self {
            child,
            lines,
            stderr,
        })
    }

    /// The next stdout line, or an error with stderr so far when none comes in `timeout`.
    pub fn line(&self, timeout: Duration) -> Result<String, String> {
        self.lines.recv_timeout(timeout).map_err(|_| {
            format!(
                "no line on stdout in {timeout:?}; stderr:\n{}",
                self.stderr()
            )
        })
    }

    /// What it wrote on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr
            .lock()
            .map(|text| text.clone())
            .unwrap_or_default()
    }

    /// Sends SIGTERM and waits (at most `timeout`) for it to exit.
    pub fn terminate(&mut self, timeout: Duration) -> Result<ExitStatus, String> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.wait(timeout)
    }

    /// Waits (at most `timeout`) for it to exit by itself.
    pub fn wait(&mut self, timeout: Duration) -> Result<ExitStatus, String> {
        let started = Instant::now();
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    // Let the stderr reader take the last words.
                    thread::sleep(Duration::from_millis(50));
                    return Ok(status);
                }
                Ok(None) if started.elapsed() < timeout => thread::sleep(Duration::from_millis(20)),
                _ => {
                    return Err(format!(
                        "still running after {timeout:?}; stderr:\n{}",
                        self.stderr()
                    ));
                }
            }
        }
    }
}

impl Drop for Foreground {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
