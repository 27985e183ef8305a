//! `ukey bench` through a private pcscd (issue 16): every figure it can measure is there, in
//! the table and in JSON, and a wrong PIN is tried once, never again. Speed is not judged:
//! that is what the command is for.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken fixture"
)]

mod support;

use support::{json, ok, ukey};
use ukey_sim::{Testbed, TokenOptions};

/// The factory PIN of the simulator's default profile.
const PIN: &str = "123456";

fn names(report: &serde_json::Value, list: &str) -> Vec<String> {
    report[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|figure| figure["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn every_figure_is_measured_and_a_wrong_pin_is_tried_once() {
    let bed = Testbed::with_token(&TokenOptions::default()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    for (slot, alg) in [("9a", "p256"), ("9c", "sm2")] {
        let generate = ["key", "generate", "--force", "--slot", slot, "--alg", alg];
        ok(ukey(&bed, d, &generate));
    }

    let bench = ["--json", "bench", "--seconds", "0.2", "--pin", PIN];
    let report = json(ukey(&bed, d, &bench));
    assert_eq!(
        names(&report, "figures"),
        [
            "round trip (SELECT, GET VERSION)",
            "VERIFY",
            "sign 9a",
            "sign 9c"
        ],
        "{report}"
    );
    for figure in report["figures"].as_array().unwrap() {
        assert!(figure["count"].as_u64().unwrap() >= 1, "{figure}");
        assert!(figure["per_second"].as_f64().unwrap() > 0.0, "{figure}");
        let (p50, p95) = (figure["p50_ms"].as_f64(), figure["p95_ms"].as_f64());
        assert!(p50 <= p95, "{figure}");
    }
    assert_eq!(report["figures"][3]["algorithm"], "sm2", "{report}");

    let table = ok(ukey(&bed, d, &["bench", "--seconds", "0.1", "--pin", PIN]));
    assert!(
        table.contains("per s") && table.contains("sign 9c (SM2)"),
        "{table}"
    );
    assert!(table.contains('█'), "{table}");

    let tries =
        |bed: &Testbed| json(ukey(bed, d, &["--json", "info"]))["pin"]["tries_left"].clone();
    let before = tries(&bed);
    let wrong = json(ukey(
        &bed,
        d,
        &["--json", "bench", "--seconds", "0.1", "--pin", "654321"],
    ));
    assert_eq!(
        names(&wrong, "figures"),
        ["round trip (SELECT, GET VERSION)"]
    );
    assert_eq!(
        names(&wrong, "skipped"),
        ["VERIFY", "sign 9a", "sign 9c"],
        "{wrong}"
    );
    assert_eq!(
        tries(&bed).as_u64(),
        before.as_u64().map(|n| n - 1),
        "one wrong try, not more"
    );
}
