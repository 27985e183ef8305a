//! `ukey info`: everything a holder asks about their token: serial, versions, PIN and PUK
//! tries, and for each slot the key and its certificate with days left and renewal state.

use clap::Args;
use serde::Serialize;
use ukey_cert::{CertificateInfo, RENEW_DAYS, Renewal};
use ukey_host::{
    DeviceInfo, KeyMetadata, ManagementKeyMetadata, SecretState, Slot, SlotStatus, Version,
};

use crate::{CmdResult, Ctx};

/// Show a token: serial, versions, PIN state, keys and certificates.
#[derive(Args, Debug)]
pub(crate) struct InfoCmd {}

/// One slot as `info` shows it.
#[derive(Serialize)]
pub(crate) struct SlotReport {
    /// The slot.
    pub(crate) slot: Slot,
    /// What the slot is for.
    pub(crate) purpose: &'static str,
    /// Its key, if any.
    pub(crate) key: Option<KeyMetadata>,
    /// Its certificate, if any and readable.
    pub(crate) certificate: Option<CertificateInfo>,
    /// Why its certificate cannot be read.
    pub(crate) certificate_error: Option<String>,
    /// Whether the certificate is for the slot's key, when both are there.
    pub(crate) certificate_matches_key: Option<bool>,
}

#[derive(Serialize)]
struct Report {
    reader: String,
    serial: Option<u32>,
    version: Option<Version>,
    application: Option<String>,
    label: Option<String>,
    device: Option<DeviceInfo>,
    pin: SecretState,
    puk: Option<SecretState>,
    management_key: Option<ManagementKeyMetadata>,
    warnings: Vec<String>,
    slots: Vec<SlotReport>,
}

/// Each slot's key and certificate, the certificate read and checked against the key.
pub(crate) fn slot_reports(slots: Vec<SlotStatus>) -> Vec<SlotReport> {
    slots
        .into_iter()
        .map(
            |SlotStatus {
                 slot,
                 key,
                 certificate,
             }| {
                let (certificate, certificate_error, matches) = match certificate {
                    None => (None, None, None),
                    Some(der) => match CertificateInfo::from_der(&der) {
                        Ok(info) => {
                            let cert_key = ukey_cert::certificate_public_key(&der).ok();
                            let matches = match (&key, cert_key) {
                                (Some(k), Some(c)) => Some(k.public_key == c),
                                _ => None,
                            };
                            (Some(info), None, matches)
                        }
                        Err(e) => (None, Some(e.to_string()), None),
                    },
                };
                SlotReport {
                    slot,
                    purpose: slot.purpose(),
                    key,
                    certificate,
                    certificate_error,
                    certificate_matches_key: matches,
                }
            },
        )
        .collect()
}

impl InfoCmd {
    pub(crate) fn run(&self, ctx: &Ctx) -> CmdResult {
        let status = ctx.open()?.status()?;
        let (pin, puk) = (status.pin, status.puk);
        let mut warnings = Vec::new();
        if pin.is_default == Some(true) {
            warnings.push(
                "the PIN is still the default: change it before first use (`ukey pin change`)"
                    .to_owned(),
            );
        }
        if pin.is_blocked() {
            warnings.push("the PIN is blocked: unblock it with `ukey pin unblock`".to_owned());
        }
        if puk.and_then(|p| p.is_default) == Some(true) {
            warnings.push(
                "the PUK is still the default: change it (`ukey pin change --puk`)".to_owned(),
            );
        }
        if status.management_key.is_some_and(|m| m.is_default) {
            warnings.push("the management key is still the well-known default".to_owned());
        }
        let slots = slot_reports(status.slots);
        warnings.extend(slots.iter().filter_map(renewal_warning));
        let report = Report {
            reader: status.reader,
            serial: status.serial,
            version: status.version,
            application: status.application.label,
            label: status.label,
            device: status.device,
            pin,
            puk,
            management_key: status.management_key,
            warnings,
            slots,
        };
        ctx.print(&report, human);
        Ok(())
    }
}

/// The warning for a slot whose certificate is in its renewal window or has expired, with
/// the day the window opened and how to renew.
fn renewal_warning(report: &SlotReport) -> Option<String> {
    let certificate = report.certificate.as_ref()?;
    let slot = report.slot;
    let state = match certificate.renewal {
        Renewal::RenewNow => format!(
            "the certificate in slot {slot} ({}) expires on {}, in {} days",
            certificate.subject, certificate.not_after, certificate.days_left
        ),
        Renewal::Expired => format!(
            "the certificate in slot {slot} ({}) expired on {}",
            certificate.subject, certificate.not_after
        ),
        Renewal::Valid | Renewal::NotYetValid => return None,
    };
    let opened = certificate
        .renewal_opens
        .as_ref()
        .map(|day| format!("; its renewal window opened on {day} ({RENEW_DAYS} days before)"))
        .unwrap_or_default();
    Some(format!(
        "{state}{opened}: renew it with `ukey csr --slot {slot} --subject '{}' -o renew.csr`, \
         have your CA issue the certificate, then `ukey cert import --slot {slot} FILE`",
        certificate.subject
    ))
}

fn tries(state: &SecretState) -> String {
    let mut s = match (state.tries_left, state.tries_total) {
        (Some(0), _) => "blocked".to_owned(),
        (Some(left), Some(total)) => format!("{left} of {total} tries left"),
        (Some(left), None) => format!("{left} tries left"),
        _ => "tries unknown".to_owned(),
    };
    if state.is_default == Some(true) {
        s.push_str(", still the default");
    }
    if state.verified {
        s.push_str(", verified");
    }
    s
}

/// A slot's key and certificate in lines of text.
pub(crate) fn slot_text(s: &SlotReport) -> String {
    let mut out = format!("Slot {} ({}):\n", s.slot, s.purpose);
    match &s.key {
        None => out.push_str("  no key\n"),
        Some(k) => {
            let origin = k.origin.map(|o| format!(", {o}")).unwrap_or_default();
            out.push_str(&format!("  key: {}{origin}\n", k.algorithm));
        }
    }
    if let Some(e) = &s.certificate_error {
        out.push_str(&format!("  certificate: cannot be read ({e})\n"));
    }
    if let Some(c) = &s.certificate {
        out.push_str(&certificate_text(c, "  "));
        if s.certificate_matches_key == Some(false) {
            out.push_str("  WARNING: the certificate is not for the key in this slot\n");
        }
    } else if s.key.is_some() && s.certificate_error.is_none() {
        out.push_str("  no certificate\n");
    }
    out
}

/// A certificate in lines of text, each starting with `indent`.
pub(crate) fn certificate_text(c: &CertificateInfo, indent: &str) -> String {
    let mut out = String::new();
    let mut line = |k: &str, v: &str| out.push_str(&format!("{indent}{k:<13}{v}\n"));
    line("subject:", &c.subject);
    if let Some(o) = &c.organisation {
        line("holder:", o);
    }
    line("issuer:", &c.issuer);
    line("serial:", &c.serial);
    line("valid from:", &c.not_before);
    line("valid until:", &c.not_after);
    let state = match c.renewal {
        ukey_cert::Renewal::Expired => format!("expired {} days ago", -c.days_left),
        r => format!("{} days left, {r}", c.days_left),
    };
    line("status:", &state);
    if let Some(day) = &c.renewal_opens {
        line("renew from:", day);
    }
    for id in &c.organisation_ids {
        let kind = match id.kind {
            ukey_cert::uscc::IdKind::CreditCode => "credit code:",
            ukey_cert::uscc::IdKind::TaxId => "tax ID:",
        };
        let verdict = if id.check_ok {
            "check digit correct".to_owned()
        } else {
            format!("WRONG check digit, expected {}", id.expected_check)
        };
        line(kind, &format!("{} ({verdict})", id.value));
    }
    out
}

fn human(r: &Report) -> String {
    let mut out = String::new();
    out.push_str(&format!("Reader:       {}\n", r.reader));
    if let Some(s) = r.serial {
        out.push_str(&format!("Serial:       {s}\n"));
    }
    if let Some(firmware) = r.device.as_ref().and_then(|d| d.firmware.as_ref()) {
        out.push_str(&format!("Firmware:     {firmware}\n"));
    }
    if let Some(v) = r.version {
        out.push_str(&format!(
            "PIV version:  {v} (GET VERSION, as a YubiKey answers)\n"
        ));
    }
    if let Some(l) = &r.label {
        out.push_str(&format!("Label:        {l}\n"));
    }
    if let Some(d) = &r.device
        && let (Some(m), Some(model)) = (&d.manufacturer, &d.model)
    {
        out.push_str(&format!("Device:       {m} {model}\n"));
    }
    out.push_str(&format!("PIN:          {}\n", tries(&r.pin)));
    if let Some(p) = &r.puk {
        out.push_str(&format!("PUK:          {}\n", tries(p)));
    }
    for w in &r.warnings {
        out.push_str(&format!("WARNING: {w}\n"));
    }
    for s in &r.slots {
        out.push('\n');
        out.push_str(&slot_text(s));
    }
    out
}
