//! When to kill. Half the kills come at a delay drawn from zero to a bit more than the
//! command's duration; the other half aim at the instants `ukey-sim` is working on the
//! command (read, not yet answered). On the direct and ccid links with the flash as is that
//! is a few tens of microseconds at the end of a round trip mostly spent waking processes,
//! so a uniform draw alone almost never lands there. Durations and aims are learnt per kind
//! of command and flash (slow or as is) from the answers seen and where earlier kills
//! landed; no command's speed is judged.

use std::collections::BTreeMap;
use std::time::Duration;

use super::commands::Kind;
use super::dice::Dice;
use super::token_process::Moment;

/// How far past the command's duration a uniform kill may come, so some come after the
/// answer.
const BEYOND: f64 = 1.3;
/// How much an aimed kill moves after landing too early or too late.
const STEP: f64 = 0.1;
/// How widely aimed kills spread around the aim: ±10%.
const SPREAD: f64 = 0.2;
/// Answer times kept per kind; their median is the command's duration.
const KEPT: usize = 9;

/// What is known of one kind of command.
#[derive(Clone, Default)]
struct Learnt {
    /// The latest answer times, from sending the command to its answer.
    latencies: Vec<Duration>,
    /// The duration supposed while no answer has been seen.
    guess: Duration,
    /// A delay that lands while the token works on the command, once an answer was seen.
    aim: Option<Duration>,
}

impl Learnt {
    fn duration(&self) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        sorted.get(sorted.len() / 2).copied().unwrap_or(self.guess)
    }
}

/// The durations and aims of each kind of command on one link, as far as seen; a kind is
/// counted apart on the slow flash.
pub struct Timing {
    first_guess: Duration,
    learnt: BTreeMap<(Kind, bool), Learnt>,
}

/// A kill delay and how it was drawn.
#[derive(Clone, Copy, Debug)]
pub struct Delay {
    /// After sending the command.
    pub after: Duration,
    /// Aimed at the token's work, rather than uniform.
    pub aimed: bool,
}

impl Timing {
    /// No durations seen yet on `link`; the first guess is generous for it.
    pub fn new(link: &str) -> Self {
        let first_guess = match link {
            "qemu" => Duration::from_millis(300),
            _ => Duration::from_millis(3),
        };
        Self {
            first_guess,
            learnt: BTreeMap::new(),
        }
    }

    /// A kill delay for a command of `kind` (on the slow flash or not): uniform from zero
    /// to 1.3 times its duration, or around the aim once there is one.
    pub fn delay(&self, kind: (Kind, bool), dice: &mut Dice) -> Delay {
        let learnt = self.learnt.get(&kind);
        let duration = learnt.map_or(self.first_guess, Learnt::duration);
        match learnt.and_then(|learnt| learnt.aim) {
            Some(aim) if dice.chance(1, 2) => Delay {
                after: aim.mul_f64(1.0 + SPREAD * (dice.fraction() - 0.5)),
                aimed: true,
            },
            _ => Delay {
                after: duration.mul_f64(BEYOND * dice.fraction()),
                aimed: false,
            },
        }
    }

    /// Learns from a trial: the answer's `latency` if it came before the kill (while none
    /// has, a kill past the guess without an answer means the guess was short), and for an
    /// aimed kill whether it came too early or too late.
    pub fn learn(
        &mut self,
        kind: (Kind, bool),
        delay: Delay,
        moment: Moment,
        latency: Option<Duration>,
    ) {
        let first_guess = self.first_guess;
        let learnt = self.learnt.entry(kind).or_insert_with(|| Learnt {
            guess: first_guess,
            ..Learnt::default()
        });
        match latency {
            Some(latency) => {
                if learnt.latencies.len() == KEPT {
                    learnt.latencies.remove(0);
                }
                learnt.latencies.push(latency);
            }
            None if learnt.latencies.is_empty() && delay.after > learnt.guess => {
                learnt.guess = learnt.guess.mul_f64(1.5);
            }
            None => {}
        }
        let duration = learnt.duration();
        let aim = learnt.aim.get_or_insert(duration.mul_f64(0.9));
        if delay.aimed {
            match moment {
                Moment::Unread => *aim = aim.mul_f64(1.0 + STEP),
                Moment::Answered => *aim = aim.mul_f64(1.0 - STEP),
                Moment::Working => {}
            }
        }
        *aim = (*aim).clamp(duration / 20, duration.mul_f64(1.2));
        if learnt.latencies.is_empty() {
            learnt.aim = None;
        }
    }
}
