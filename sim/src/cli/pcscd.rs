//! `ukey-sim pcscd`: a private pcscd in the foreground, for scripts and manual testing.

use std::path::PathBuf;
use std::sync::mpsc;

use clap::Args;
use ukey_sim::{Pcscd, Result};

#[derive(Debug, Args)]
pub(super) struct PcscdCmd {
    /// How many vpcd readers (two slots each), on free ports.
    #[arg(long, default_value_t = 1, conflicts_with = "port")]
    readers: usize,

    /// Put a vpcd reader on PORT (slot 0) and PORT+1 (slot 1); repeat for more readers.
    #[arg(long, value_name = "PORT")]
    port: Vec<u16>,

    /// Keep the socket, configuration and log in DIR (removed at exit); the socket is
    /// DIR/run/pcscd.comm.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

impl PcscdCmd {
    pub(super) fn run(self) -> Result<()> {
        let pcscd = match (self.dir, self.port.is_empty()) {
            (None, true) => Pcscd::start(self.readers)?,
            (dir, _) => {
                let dir = dir.unwrap_or_else(|| {
                    std::env::temp_dir().join(format!("ukey-pcscd-{}", std::process::id()))
                });
                let ports = if self.port.is_empty() {
                    ukey_sim::pcscd::free_ports(self.readers)?
                } else {
                    self.port
                };
                Pcscd::start_at(&dir, &ports)?
            }
        };
        let (stopped, stop) = mpsc::channel();
        super::stop_on_signal(move || {
            let _ = stopped.send(());
        })?;
        println!("export PCSCLITE_CSOCK_NAME={}", pcscd.socket().display());
        for slot in 0..pcscd.slots() {
            if let (Some(addr), Some(reader)) = (pcscd.vpcd_addr(slot), pcscd.reader_name(slot)) {
                println!("# slot {slot}: ukey-sim --vpcd {addr}    (reader \"{reader}\")");
            }
        }
        let _ = stop.recv();
        pcscd.stop()
    }
}
