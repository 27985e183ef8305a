//! The printed report: sections, aligned rows, and each target of issue 6 with PASS or MISS
//! beside it (or `--` in a quick run, which claims no timings).

/// A bound a measured figure must stay within.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    /// At least this much.
    AtLeast(f64),
    /// At most this much.
    AtMost(f64),
}

impl Target {
    fn met(self, value: f64) -> bool {
        match self {
            Target::AtLeast(bound) => value >= bound,
            Target::AtMost(bound) => value <= bound,
        }
    }

    /// The bound as the report prints it, with `unit` after the number.
    pub fn describe(self, unit: &str) -> String {
        match self {
            Target::AtLeast(bound) => format!(">= {}{unit}", figure(bound)),
            Target::AtMost(bound) => format!("<= {}{unit}", figure(bound)),
        }
    }
}

/// Collects the verdicts of one run and prints the closing tally.
#[derive(Debug)]
pub struct Report {
    quick: bool,
    passed: Vec<String>,
    missed: Vec<String>,
}

impl Report {
    /// A report; a quick run judges no target.
    pub fn new(quick: bool) -> Self {
        Self {
            quick,
            passed: Vec::new(),
            missed: Vec::new(),
        }
    }

    /// Judges `value` against `target` for the target named `what`; returns the word to
    /// print beside it.
    pub fn judge(&mut self, what: &str, value: f64, target: Target) -> &'static str {
        if self.quick {
            return "--";
        }
        if target.met(value) {
            self.passed.push(what.to_string());
            "PASS"
        } else {
            self.missed.push(what.to_string());
            "MISS"
        }
    }

    /// Prints how many targets were met and names the missed ones.
    pub fn finish(&self) {
        if self.quick {
            println!("\nquick run: every path ran; timings are not claims, no target judged");
            return;
        }
        println!(
            "\ntargets: {} PASS, {} MISS",
            self.passed.len(),
            self.missed.len()
        );
        for what in &self.missed {
            println!("  MISS: {what}");
        }
    }
}

/// Prints a section heading and the line saying how it was measured.
pub fn section(title: &str, method: &str) {
    println!("\n== {title}\n   {method}");
}

/// A number as the report prints it: thousands separated, at most two decimals below 10,
/// one below 100, none above.
pub fn figure(value: f64) -> String {
    if !value.is_finite() {
        return "n/a".into();
    }
    if value.abs() < 10.0 {
        return format!("{value:.2}");
    }
    if value.abs() < 100.0 {
        return format!("{value:.1}");
    }
    let whole = format!("{:.0}", value.abs());
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    if value < 0.0 {
        grouped.insert(0, '-');
    }
    grouped
}

/// A duration in microseconds, as the report prints it.
pub fn micros(duration: std::time::Duration) -> String {
    format!("{} us", figure(duration.as_secs_f64() * 1e6))
}
