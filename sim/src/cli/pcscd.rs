//! `ukey-sim pcscd`: a private pcscd in the foreground, for scripts and manual testing.
//!
//! stderr says where pcscd runs and why (its own mount namespace, or plain mode); stdout
//! gives the `export PCSCLITE_CSOCK_NAME=…` line and one comment line per slot.

use std::path::PathBuf;
use std::sync::mpsc;

use clap::{Args, ValueEnum};
use ukey_sim::pcscd::{Isolation, free_ports, isolation};
use ukey_sim::{Pcscd, Result};

/// Where pcscd runs.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum IsolationArg {
    /// A mount namespace if unshare works, else plain mode if no other pcscd runs.
    Auto,
    /// Its own mount namespace (needs root or CAP_SYS_ADMIN).
    Namespace,
    /// No namespace: pcscd serves /run/pcscd/pcscd.comm (needs that directory writable
    /// and no other pcscd).
    Plain,
}

#[derive(Debug, Args)]
pub(super) struct PcscdCmd {
    /// How many vpcd readers (two slots each), on free ports.
    #[arg(long, default_value_t = 1, conflicts_with = "port")]
    readers: usize,

    /// Put a vpcd reader on PORT (slot 0) and PORT+1 (slot 1); repeat for more readers.
    /// 0 picks free ports. A port already taken is an error.
    #[arg(long, value_name = "PORT")]
    port: Vec<u16>,

    /// Keep the socket, configuration and log in DIR (removed at exit); the socket is
    /// DIR/run/pcscd.comm in a namespace, /run/pcscd/pcscd.comm in plain mode.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,

    /// Where pcscd runs.
    #[arg(long, value_enum, env = "UKEY_PCSCD_ISOLATION", default_value = "auto")]
    isolation: IsolationArg,

    /// Same as --isolation plain.
    #[arg(long, conflicts_with = "isolation")]
    no_namespace: bool,
}

impl PcscdCmd {
    pub(super) fn run(self) -> Result<()> {
        let wanted = match (self.no_namespace, self.isolation) {
            (true, _) | (false, IsolationArg::Plain) => Some(Isolation::Plain),
            (false, IsolationArg::Namespace) => Some(Isolation::Namespace),
            (false, IsolationArg::Auto) => None,
        };
        let choice = isolation::choose(wanted)?;
        eprintln!("ukey-sim: {choice}");
        let dir = self.dir.unwrap_or_else(|| {
            std::env::temp_dir().join(format!("ukey-pcscd-{}", std::process::id()))
        });
        let mut ports = self.port;
        if ports.is_empty() {
            ports = vec![0; self.readers];
        }
        let free = free_ports(ports.iter().filter(|&&port| port == 0).count())?;
        let mut free = free.into_iter();
        let ports: Vec<u16> = ports
            .into_iter()
            .map(|port| match port {
                0 => free.next().unwrap_or(0),
                port => port,
            })
            .collect();
        let pcscd = Pcscd::start_at(&dir, &ports, &choice)?;
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
