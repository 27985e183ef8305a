//! What a campaign on one link found: where its kills landed, the states they left, and its
//! failures, printed as one line.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use super::token_process::Moment;

/// The figures of a campaign on one link.
#[derive(Debug, Default)]
pub struct Summary {
    /// The link.
    pub link: &'static str,
    /// The seed.
    pub seed: u64,
    /// Trials run.
    pub trials: usize,
    /// Kills by flash (slow or as is), moment and the state they left.
    left: BTreeMap<(bool, Moment, String), usize>,
    /// Trials whose cut session erased a page (garbage collection).
    pub erasing: usize,
    /// Signatures verified after restarts.
    pub signatures: usize,
    /// Keys found that could not sign: their PIN policy asks for a PIN that was blocked.
    pub unsigned: usize,
    /// How long it took.
    pub elapsed: Duration,
    /// Each failure, with what reproduces it.
    pub failures: Vec<String>,
}

impl Summary {
    /// Nothing run yet on `link` with `seed`.
    pub fn new(link: &'static str, seed: u64) -> Self {
        Self {
            link,
            seed,
            ..Self::default()
        }
    }

    /// Counts a kill at `moment` that left the state named `left`.
    pub fn record(&mut self, slow_flash: bool, moment: Moment, left: String) {
        *self.left.entry((slow_flash, moment, left)).or_default() += 1;
    }

    /// How many kills landed at `moment`, and the states they left.
    fn moments(&self, slow_flash: bool, moment: Moment) -> String {
        let here = || {
            self.left
                .iter()
                .filter(move |((slow, at, _), _)| *slow == slow_flash && *at == moment)
        };
        let left: Vec<String> = here()
            .map(|((_, _, name), n)| format!("{name} {n}"))
            .collect();
        let total: usize = here().map(|(_, n)| n).sum();
        let when = match moment {
            Moment::Unread => "killed before the command was read",
            Moment::Working => "while the token worked on it",
            Moment::Answered => "after the answer",
        };
        format!("{when} {total} (left {})", left.join(", "))
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "crash campaign, link {}, seed {}: {} trials in {:.1} s",
            self.link,
            self.seed,
            self.trials,
            self.elapsed.as_secs_f64()
        )?;
        let any_slow = self.left.keys().any(|(slow, _, _)| *slow);
        for slow in [false, true] {
            if slow && !any_slow {
                continue;
            }
            let runs: Vec<String> = [Moment::Unread, Moment::Working, Moment::Answered]
                .into_iter()
                .map(|moment| self.moments(slow, moment))
                .collect();
            let flash = match (slow, any_slow) {
                (true, _) => "; slow flash: ",
                (false, true) => "; flash as is: ",
                (false, false) => "; ",
            };
            write!(f, "{flash}{}", runs.join(", "))?;
        }
        write!(
            f,
            "; pages erased by the cut session in {} trials; {} signatures verified ({} keys \
             behind a blocked PIN not tried); failures {}",
            self.erasing,
            self.signatures,
            self.unsigned,
            self.failures.len()
        )
    }
}
