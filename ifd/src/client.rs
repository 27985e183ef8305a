//! The client side of a reader's control socket, for tests, CI scripts' helpers and
//! `ukey-sim`.

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use crate::protocol::{Command, ERROR_PREFIX, OK, SlotStatus};

/// A reader's control socket, connected to once per command.
#[derive(Clone, Debug)]
pub struct ControlClient {
    path: PathBuf,
}

impl ControlClient {
    /// The socket at `path` (the reader configuration's `control`).
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
        }
    }

    /// Plugs the token kept in `image` into `slot` (the slot's configured image if
    /// `None`); a relative `image` is taken from this process's working directory.
    pub fn insert(&self, slot: usize, image: Option<&Path>) -> io::Result<()> {
        let image = image.map(std::path::absolute).transpose()?;
        self.call(&Command::Insert { slot, image }).map(drop)
    }

    /// Pulls the token out of `slot`; its image is flushed and unlocked when this returns.
    pub fn remove(&self, slot: usize) -> io::Result<()> {
        self.call(&Command::Remove { slot }).map(drop)
    }

    /// What each slot holds.
    pub fn status(&self) -> io::Result<Vec<SlotStatus>> {
        self.call(&Command::Status)?
            .iter()
            .map(|line| {
                SlotStatus::parse(line).ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("control socket: not a status line: {line:?}"),
                    )
                })
            })
            .collect()
    }

    /// Sends `command`; the lines before `ok`, or the reason of `error: …` as an error.
    fn call(&self, command: &Command) -> io::Result<Vec<String>> {
        let line = command.line().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "the image path is not UTF-8 or holds a line break",
            )
        })?;
        let mut stream = UnixStream::connect(&self.path).map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("control socket {}: {error}", self.path.display()),
            )
        })?;
        stream.write_all(line.as_bytes())?;
        let mut reader = BufReader::new(stream);
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "control socket closed before its answer ended",
                ));
            }
            let line = line.trim_end_matches('\n');
            if line == OK {
                return Ok(lines);
            }
            if let Some(reason) = line.strip_prefix(ERROR_PREFIX) {
                return Err(io::Error::other(reason.to_string()));
            }
            lines.push(line.to_string());
        }
    }
}
