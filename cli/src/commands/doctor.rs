//! `ukey doctor`: the checks a helpdesk walks through when "the reader or card is not
//! seen" or "applications cannot read the certificate", each failure with its remedy.

use clap::Args;
use serde::Serialize;
use ukey_cert::Renewal;
use ukey_host::{Error as TokenError, ReaderInfo, Selector, Status, Token, readers};

use super::info::{SlotReport, slot_reports};
use crate::error::Error;
use crate::{CmdResult, Ctx, Failure};

/// Exit code when a check fails.
const EXIT_PROBLEM: u8 = 10;
/// The variable that points PC/SC clients at another pcscd's socket.
const SOCKET_VARIABLE: &str = "PCSCLITE_CSOCK_NAME";

/// Find out why the token is not working and what to do about it.
#[derive(Args, Debug)]
pub(crate) struct DoctorCmd {}

/// The outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Outcome {
    Ok,
    Warning,
    Failed,
}

#[derive(Serialize)]
struct Check {
    check: &'static str,
    outcome: Outcome,
    detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    remedy: Option<String>,
}

#[derive(Serialize)]
struct Report {
    healthy: bool,
    checks: Vec<Check>,
}

fn check(
    check: &'static str,
    outcome: Outcome,
    detail: impl Into<String>,
    remedy: Option<&str>,
) -> Check {
    Check {
        check,
        outcome,
        detail: detail.into(),
        remedy: remedy.map(str::to_owned),
    }
}

impl DoctorCmd {
    pub(crate) fn run(&self, ctx: &Ctx) -> CmdResult {
        let mut checks = Vec::new();
        diagnose(ctx, &mut checks);
        let healthy = checks.iter().all(|c| c.outcome != Outcome::Failed);
        let report = Report { healthy, checks };
        ctx.print(&report, human);
        if healthy {
            Ok(())
        } else {
            Err(Failure {
                error: Error::Usage("doctor found a problem; see the remedies above".into()),
                code: EXIT_PROBLEM,
            })
        }
    }
}

fn diagnose(ctx: &Ctx, checks: &mut Vec<Check>) {
    let list: Vec<ReaderInfo> = match readers() {
        Ok(list) => {
            checks.push(check(
                "pcscd",
                Outcome::Ok,
                "the smart card service answers",
                None,
            ));
            list
        }
        Err(TokenError::PcscdNotRunning) => {
            checks.push(match std::env::var_os(SOCKET_VARIABLE) {
                Some(socket) => check(
                    "pcscd",
                    Outcome::Failed,
                    format!(
                        "no smart card service (pcscd) answers on {}, the socket {SOCKET_VARIABLE} names",
                        socket.to_string_lossy()
                    ),
                    Some("start the pcscd that serves that socket (as `ukey-sim pcscd` does), or unset PCSCLITE_CSOCK_NAME to use the system's (`sudo systemctl start pcscd`)"),
                ),
                None => check(
                    "pcscd",
                    Outcome::Failed,
                    "the smart card service (pcscd) is not running",
                    Some("start it: `sudo systemctl start pcscd`; if it is missing, install it: `sudo apt install pcscd`"),
                ),
            });
            return;
        }
        Err(e) => {
            checks.push(check(
                "pcscd",
                Outcome::Failed,
                e.to_string(),
                Some("restart the service: `sudo systemctl restart pcscd`"),
            ));
            return;
        }
    };
    if list.is_empty() {
        checks.push(check(
            "reader",
            Outcome::Failed,
            "no card reader or token is seen",
            Some("plug the token in, or try another USB port; if it is plugged in, the reader driver may be missing: `sudo apt install libccid`, then `sudo systemctl restart pcscd`"),
        ));
        return;
    }
    let names: Vec<String> = list.iter().map(|r| r.name.clone()).collect();
    let list: Vec<ReaderInfo> = match &ctx.selector {
        Selector::Reader(wanted) => {
            let named: Vec<ReaderInfo> = ctx
                .selector
                .pick(&list, |r| &r.name)
                .into_iter()
                .cloned()
                .collect();
            if named.is_empty() {
                checks.push(check(
                    "reader",
                    Outcome::Failed,
                    format!(
                        "no reader is named \"{wanted}\"; the readers are: {}",
                        names.join("; ")
                    ),
                    Some("give --reader a name (or part of one) that `ukey list` shows"),
                ));
                return;
            }
            named
        }
        _ => list,
    };
    checks.push(check(
        "reader",
        Outcome::Ok,
        format!("{} reader(s): {}", names.len(), names.join("; ")),
        None,
    ));
    if !list.iter().any(|r| r.card_present) {
        checks.push(check(
            "card",
            Outcome::Failed,
            "no reader has a card or token in it",
            Some("insert the card the right way round (chip first, contacts facing the reader's contacts), or plug the token in again"),
        ));
        return;
    }
    checks.push(check(
        "card",
        Outcome::Ok,
        "a card or token is present",
        None,
    ));
    let mut token = match Token::open(&ctx.selector) {
        Ok(t) => t,
        Err(e) => {
            let remedy = match e {
                TokenError::NotPiv { .. } | TokenError::NoToken => {
                    "this card is not a ukey token, or its application does not answer: plug the token in again; if that does not help, it may need to be replaced"
                }
                TokenError::TokenBusy => {
                    "another program holds the token: close other certificate tools and try again"
                }
                TokenError::ReaderNotFound { .. } | TokenError::TokenNotFound { .. } => {
                    "check --reader/--serial against `ukey list`"
                }
                _ => "plug the token in again and run `ukey doctor` once more",
            };
            checks.push(check(
                "applet",
                Outcome::Failed,
                e.to_string(),
                Some(remedy),
            ));
            return;
        }
    };
    let status = token.status();
    let version = match &status {
        Ok(status) => match (
            status.device.as_ref().and_then(|d| d.firmware.as_ref()),
            status.version,
        ) {
            (Some(firmware), _) => format!(", firmware {firmware}"),
            (None, Some(version)) => format!(", PIV version {version}"),
            (None, None) => String::new(),
        },
        Err(_) => String::new(),
    };
    checks.push(check(
        "applet",
        Outcome::Ok,
        format!(
            "the ukey application answers in {}{version}",
            token.reader()
        ),
        None,
    ));
    match status {
        Ok(status) => token_checks(status, checks),
        Err(e) => checks.push(check(
            "token",
            Outcome::Failed,
            e.to_string(),
            Some("plug the token in again and run `ukey doctor` once more"),
        )),
    }
}

fn token_checks(status: Status, checks: &mut Vec<Check>) {
    let (pin, puk) = (status.pin, status.puk);
    let puk_blocked = puk.is_some_and(|p| p.is_blocked());
    checks.push(match (pin.tries_left, pin.is_default) {
        (Some(0), _) if puk_blocked => check(
            "pin",
            Outcome::Failed,
            "the PIN and the PUK are both blocked",
            Some("only a reset makes the token usable again, and it erases its keys and certificates: ask your CA for a new certificate afterwards"),
        ),
        (Some(0), _) => check("pin", Outcome::Failed, "the PIN is blocked", Some("unblock it with the PUK: `ukey pin unblock`")),
        (_, Some(true)) => check("pin", Outcome::Warning, "the PIN is still the default", Some("change it before first use: `ukey pin change`")),
        (Some(left), _) => check("pin", Outcome::Ok, format!("{left} tries left"), None),
        (None, _) => check("pin", Outcome::Ok, "PIN state read", None),
    });
    let slots = slot_reports(status.slots);
    let mut any_cert = false;
    for s in &slots {
        certificate_checks(s, checks, &mut any_cert);
    }
    if !any_cert {
        checks.push(check(
            "certificate",
            Outcome::Warning,
            "the token holds no certificate",
            Some("make a key and a request (`ukey key generate`, `ukey csr`), have your CA issue the certificate, then `ukey cert import`"),
        ));
    }
}

fn certificate_checks(s: &SlotReport, checks: &mut Vec<Check>, any_cert: &mut bool) {
    let name = "certificate";
    if let Some(e) = &s.certificate_error {
        *any_cert = true;
        checks.push(check(
            name,
            Outcome::Failed,
            format!("the certificate in slot {} cannot be read: {e}", s.slot),
            Some("applications will not see it: import the certificate file again with `ukey cert import`"),
        ));
        return;
    }
    let Some(c) = &s.certificate else {
        if s.key.is_some() {
            checks.push(check(
                name,
                Outcome::Warning,
                format!("slot {} has a key but no certificate", s.slot),
                Some("applications will not offer this key: import the certificate issued for it with `ukey cert import`"),
            ));
        }
        return;
    };
    *any_cert = true;
    if s.certificate_matches_key == Some(false) || s.key.is_none() {
        checks.push(check(
            name,
            Outcome::Failed,
            format!("the certificate in slot {} is not for the key in that slot", s.slot),
            Some("signing will fail in applications: import the certificate that was issued for this key"),
        ));
    }
    let who = c
        .organisation
        .clone()
        .or_else(|| c.common_name.clone())
        .unwrap_or_else(|| c.subject.clone());
    checks.push(match c.renewal {
        Renewal::Expired => check(
            name,
            Outcome::Failed,
            format!(
                "slot {} ({who}): expired {} days ago on {}",
                s.slot, -c.days_left, c.not_after
            ),
            Some("apply to your CA for a new certificate"),
        ),
        Renewal::RenewNow => check(
            name,
            Outcome::Warning,
            format!(
                "slot {} ({who}): {} days left, until {}",
                s.slot, c.days_left, c.not_after
            ),
            Some("renew it now: the CA accepts renewals in the last 90 days"),
        ),
        Renewal::NotYetValid => check(
            name,
            Outcome::Warning,
            format!("slot {} ({who}): not valid before {}", s.slot, c.not_before),
            Some("check the computer's date and time"),
        ),
        Renewal::Valid => check(
            name,
            Outcome::Ok,
            format!("slot {} ({who}): valid, {} days left", s.slot, c.days_left),
            None,
        ),
    });
    for id in c.organisation_ids.iter().filter(|id| !id.check_ok) {
        checks.push(check(
            name,
            Outcome::Warning,
            format!(
                "slot {}: {} has a wrong check character (expected {})",
                s.slot, id.value, id.expected_check
            ),
            Some(
                "the organisation code in the certificate looks mistyped: ask your CA to check it",
            ),
        ));
    }
}

fn human(r: &Report) -> String {
    let mut out = String::new();
    for c in &r.checks {
        let mark = match c.outcome {
            Outcome::Ok => "ok  ",
            Outcome::Warning => "warn",
            Outcome::Failed => "FAIL",
        };
        out.push_str(&format!("[{mark}] {:<12}{}\n", c.check, c.detail));
        if let Some(remedy) = &c.remedy {
            out.push_str(&format!("       {:<12}→ {remedy}\n", ""));
        }
    }
    out.push_str(if r.healthy {
        "\nThe token looks healthy.\n"
    } else {
        "\nA problem was found: follow the remedy above.\n"
    });
    out
}
