//! `ukey list`: the readers and the tokens in them.

use clap::Args;
use ukey_host::{ReaderInfo, readers};

use crate::{CmdResult, Ctx};

/// List readers and the tokens in them.
#[derive(Args, Debug)]
pub(crate) struct ListCmd {}

impl ListCmd {
    pub(crate) fn run(&self, ctx: &Ctx) -> CmdResult {
        let readers = readers()?;
        ctx.print(&readers, |readers| {
            if readers.is_empty() {
                return "No card reader or token is connected.".to_owned();
            }
            readers.iter().map(describe).collect()
        });
        Ok(())
    }
}

/// One reader and what it holds, as a line: `NAME: ukey token, serial N, PIV version V`.
pub(crate) fn describe(r: &ReaderInfo) -> String {
    let what = match (&r.token, r.card_present) {
        (Some(t), _) => {
            let serial = t
                .serial
                .map_or_else(|| "no serial".to_owned(), |s| format!("serial {s}"));
            let version = t
                .version
                .map(|v| format!(", PIV version {v}"))
                .unwrap_or_default();
            format!("ukey token, {serial}{version}")
        }
        (None, true) => "a card that is not a ukey token".to_owned(),
        (None, false) => "empty".to_owned(),
    };
    format!("{}: {what}\n", r.name)
}
