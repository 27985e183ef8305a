//! The control socket of a reader: a Unix socket, served by a thread inside pcscd, that
//! plugs tokens in and pulls them out (see [`crate::protocol`]).
//!
//! Whoever can connect may make pcscd open or create any image file pcscd may write, so
//! the socket is made readable and writable by its owner only (pcscd's user); widen it with
//! `chmod`/`chgrp` after pcscd starts if other users should drive it.
//!
//! The thread waits in `poll` on the socket and on a pipe: closing the pipe (dropping the
//! [`ControlServer`]) wakes it, and the drop waits for it, so no thread of this driver
//! outlives the reader (pcscd unloads the driver after the last reader closes).

use std::fs;
use std::io::{self, BufRead, BufReader, ErrorKind, PipeReader, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use rustix::event::{PollFd, PollFlags, poll};
use rustix::io::Errno;

use crate::config::resolve;
use crate::protocol::{Command, ERROR_PREFIX, OK, SlotStatus};
use crate::refusal::log;
use crate::slot::Slot;

/// How long a client may take to send its command: a stalled client must not hold the
/// socket, nor pcscd's shutdown, for longer.
const LINE_TIMEOUT: Duration = Duration::from_secs(10);

/// A running control socket. Dropping it stops its thread, waits for it and removes the
/// socket file.
pub struct ControlServer {
    path: PathBuf,
    stop: Option<io::PipeWriter>,
    thread: Option<JoinHandle<()>>,
}

impl ControlServer {
    /// Listens on `path` (replacing a stale socket left by a pcscd that died) for commands
    /// on `slots`; relative image names are taken from `dir`.
    pub fn start(path: PathBuf, slots: Arc<[Slot]>, dir: PathBuf) -> Result<Self, String> {
        let listener = bind(&path)?;
        let (stop_reader, stop) =
            io::pipe().map_err(|error| format!("control socket: a pipe: {error}"))?;
        let thread = thread::Builder::new()
            .name("ukey-ifd control".into())
            .spawn(move || serve(&listener, &stop_reader, &slots, &dir))
            .map_err(|error| format!("control socket: a thread: {error}"))?;
        Ok(Self {
            path,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = fs::remove_file(&self.path);
    }
}

/// Binds the socket, owner-only. A socket file nobody answers on is stale and replaced;
/// one that answers belongs to a live process and is an error.
fn bind(path: &Path) -> Result<UnixListener, String> {
    let taken = |detail: &str| format!("control socket {}: {detail}", path.display());
    if let Ok(metadata) = fs::symlink_metadata(path) {
        if !metadata.file_type().is_socket() {
            return Err(taken("the path exists and is not a socket"));
        }
        if UnixStream::connect(path).is_ok() {
            return Err(taken("another process serves it"));
        }
        fs::remove_file(path).map_err(|error| taken(&format!("removing a stale one: {error}")))?;
    }
    let listener = UnixListener::bind(path).map_err(|error| taken(&error.to_string()))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
        .map_err(|error| taken(&format!("chmod: {error}")))?;
    listener
        .set_nonblocking(true)
        .map_err(|error| taken(&error.to_string()))?;
    Ok(listener)
}

/// Serves one connection after another, one command each, until the stop pipe closes.
fn serve(listener: &UnixListener, stop: &PipeReader, slots: &[Slot], dir: &Path) {
    loop {
        match wait_readable(listener, stop) {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                log(format_args!("control socket: poll: {error}"));
                return;
            }
        }
        match listener.accept() {
            Ok((stream, _)) => {
                if let Err(error) = answer(stream, stop, slots, dir) {
                    log(format_args!("control socket: a connection failed: {error}"));
                }
            }
            Err(error) if error.kind() == ErrorKind::WouldBlock => {}
            Err(error) => log(format_args!("control socket: accept: {error}")),
        }
    }
}

/// Answers the one command of a connection, unless the stop pipe closes first.
fn answer(stream: UnixStream, stop: &PipeReader, slots: &[Slot], dir: &Path) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(LINE_TIMEOUT))?;
    let mut writer = stream.try_clone()?;
    if !wait_readable(&stream, stop)? {
        return Ok(());
    }
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line)?;
    let reply = match Command::parse(&line) {
        Ok(command) => execute(&command, slots, dir),
        Err(reason) => format!("{ERROR_PREFIX}{reason}\n"),
    };
    writer.write_all(reply.as_bytes())
}

/// Runs one command; the whole answer, ending with `ok` or `error: …`.
fn execute(command: &Command, slots: &[Slot], dir: &Path) -> String {
    let slot = |index: usize| {
        slots.get(index).ok_or_else(|| {
            format!(
                "no slot {index}: this reader has slots 0 to {}",
                slots.len() - 1
            )
        })
    };
    let result = match command {
        Command::Insert { slot: index, image } => slot(*index).and_then(|slot| {
            let image = image.as_deref().map(|image| resolve(dir, image));
            slot.insert(image.as_deref()).map(|image| {
                log(format_args!("slot {index}: inserted {}", image.display()));
                String::new()
            })
        }),
        Command::Remove { slot: index } => slot(*index).and_then(|slot| {
            slot.remove().map(|image| {
                log(format_args!("slot {index}: removed {}", image.display()));
                String::new()
            })
        }),
        Command::Status => Ok(slots
            .iter()
            .enumerate()
            .map(|(index, slot)| {
                SlotStatus {
                    slot: index,
                    image: slot.image(),
                }
                .line()
            })
            .collect()),
    };
    match result {
        Ok(lines) => format!("{lines}{OK}\n"),
        Err(reason) => format!("{ERROR_PREFIX}{reason}\n"),
    }
}

/// Waits until `fd` is readable (true) or the stop pipe closes (false).
fn wait_readable(fd: &impl AsFd, stop: &PipeReader) -> io::Result<bool> {
    loop {
        let mut fds = [
            PollFd::new(fd, PollFlags::IN),
            PollFd::new(stop, PollFlags::IN),
        ];
        match poll(&mut fds, None) {
            Ok(_) if !fds[1].revents().is_empty() => return Ok(false),
            Ok(_) if !fds[0].revents().is_empty() => return Ok(true),
            Ok(_) | Err(Errno::INTR) => continue,
            Err(error) => return Err(error.into()),
        }
    }
}
