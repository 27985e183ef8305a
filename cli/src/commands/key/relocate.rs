//! `ukey key move` and `ukey key delete`: a key moved to another slot with its certificate,
//! or erased.

use clap::Args;
use serde::Serialize;
use ukey_host::Slot;

use crate::error::Error;
use crate::{CmdResult, Ctx};

/// Arguments of `key move`.
#[derive(Args, Debug)]
pub(crate) struct MoveArgs {
    /// The slot the key is in: 9a, 9c, 9d or 9e.
    from: Slot,
    /// The slot to move it to; it must hold no key.
    to: Slot,
    /// Replace a certificate already in the destination slot (it is lost).
    #[arg(long)]
    force: bool,
}

/// Arguments of `key delete`.
#[derive(Args, Debug)]
pub(crate) struct DeleteArgs {
    /// The slot: 9a, 9c, 9d or 9e.
    slot: Slot,
    /// Delete it: the key is lost for good.
    #[arg(long)]
    force: bool,
}

#[derive(Serialize)]
struct Moved {
    from: Slot,
    to: Slot,
    certificate_moved: bool,
}

#[derive(Serialize)]
struct KeyDeleted {
    slot: Slot,
    certificate_kept: bool,
}

/// `key move`: the token moves the key; its certificate follows. A certificate in the
/// destination would be lost, so it takes `--force`.
pub(super) fn move_key(ctx: &Ctx, args: &MoveArgs) -> CmdResult {
    let mut token = ctx.open()?;
    let (from, to) = (args.from, args.to);
    if from == to {
        return Err(Error::Usage("a key moves to another slot".into()).into());
    }
    if token.key_metadata(from)?.is_none() {
        return Err(Error::Usage(format!("slot {from} holds no key")).into());
    }
    if token.key_metadata(to)?.is_some() {
        return Err(Error::Usage(format!(
            "slot {to} already holds a key; delete it first (ukey key delete {to})"
        ))
        .into());
    }
    if !args.force && token.certificate(to)?.is_some() {
        return Err(Error::Usage(format!(
            "slot {to} holds a certificate, which the move replaces for good \
             (--force moves anyway)"
        ))
        .into());
    }
    let certificate_moved = token.certificate(from)?.is_some();
    let (key, _) = ctx.management_key(&mut token)?;
    token.move_slot(&key, from, to)?;
    let moved = Moved {
        from,
        to,
        certificate_moved,
    };
    ctx.print(&moved, |m| {
        let with = if m.certificate_moved {
            " with its certificate"
        } else {
            ""
        };
        format!("Moved the key in slot {}{with} to slot {}.", m.from, m.to)
    });
    Ok(())
}

/// `key delete`: the key is lost for good, so it always takes `--force`; the certificate
/// stays (`ukey cert delete` removes it).
pub(super) fn delete_key(ctx: &Ctx, args: &DeleteArgs) -> CmdResult {
    let mut token = ctx.open()?;
    let slot = args.slot;
    if token.key_metadata(slot)?.is_none() {
        return Err(Error::Usage(format!("slot {slot} holds no key")).into());
    }
    if !args.force {
        return Err(Error::Usage(format!(
            "deleting the key in slot {slot} loses it for good (--force deletes it)"
        ))
        .into());
    }
    let certificate_kept = token.certificate(slot)?.is_some();
    let (key, _) = ctx.management_key(&mut token)?;
    token.delete_key(&key, slot)?;
    let deleted = KeyDeleted {
        slot,
        certificate_kept,
    };
    ctx.print(&deleted, |d| {
        if d.certificate_kept {
            format!(
                "Deleted the key in slot {0}; its certificate stays (ukey cert delete --slot {0} \
                 removes it).",
                d.slot
            )
        } else {
            format!("Deleted the key in slot {}.", d.slot)
        }
    });
    Ok(())
}
