//! The campaign on one link: chains of trials, each chain from a fresh copy of an aged image.
//! A trial brings the token to what a command needs, sends the command, SIGKILLs `ukey-sim`
//! at a random instant, restarts it on the same image and reads the whole state back
//! against the model. A failure is reported with the seed and trial number, its files kept;
//! its chain ends and the next starts from the aged image again.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::commands::{Command, Kind};
use super::dice::Dice;
use super::image;
use super::model::{Factory, Token};
use super::observe::{self, Candidate};
use super::prepare::prepare;
use super::session;
use super::slow_flash;
use super::summary::Summary;
use super::timing::{Delay, Timing};
use super::token_process::{Cut, Launch, Moment, TokenProcess, split_status};

/// Failures whose files are kept; later ones are only counted and described.
const KEPT_FAILURES: usize = 5;

/// What to run.
#[derive(Clone, Debug)]
pub struct Config {
    /// `direct`, `ccid` or `qemu`.
    pub link: &'static str,
    /// Trials to run.
    pub trials: usize,
    /// The seed of the commands, values and kill delays.
    pub seed: u64,
    /// Trials per chain, each chain starting from the aged image.
    pub chain: usize,
}

/// Runs the campaign of `config` with the `ukey-sim` at `binary`, in a scratch directory
/// kept only if something failed.
pub fn run(config: &Config, binary: &Path) -> Result<Summary, String> {
    let started = Instant::now();
    let dir = std::env::temp_dir().join(format!(
        "ukey-crash-{}-{}-{}",
        config.link,
        config.seed,
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|error| format!("{}: {error}", dir.display()))?;
    let mut campaign = Campaign::new(config, binary, &dir)?;
    let template = dir.join("aged.img");
    let aged = image::make_aged(
        &campaign.vpcd,
        &Launch {
            image: template.clone(),
            ..campaign.launch.clone()
        },
        &campaign.factory,
        flash_bytes(config.link),
        &mut campaign.dice,
        &dir.join("ageing.log"),
    )?;
    while campaign.summary.trials < config.trials {
        campaign.chain(&template, &aged)?;
    }
    campaign.summary.elapsed = started.elapsed();
    if campaign.summary.failures.is_empty() {
        let _ = fs::remove_dir_all(&dir);
    }
    Ok(campaign.summary)
}

/// Bytes of flash behind an image: 32 pages on the direct and ccid links, the QEMU board's
/// 16 pages on qemu.
fn flash_bytes(link: &str) -> usize {
    let pages = if link == "qemu" { 16 } else { 32 };
    pages * 4096
}

struct Campaign<'a> {
    config: &'a Config,
    dir: &'a Path,
    vpcd: TcpListener,
    launch: Launch,
    factory: Factory,
    slow_flash: Option<PathBuf>,
    dice: Dice,
    timing: Timing,
    summary: Summary,
    sessions: usize,
}

/// What one trial did, for the failure report.
#[derive(Default)]
struct Trace {
    slow: bool,
    command: String,
    delay: Option<Delay>,
    moment: Option<Moment>,
    answer: Option<Vec<u8>>,
}

impl Trace {
    /// The command, the kill and the answer, or that the trial failed before its cut.
    fn describe(&self) -> String {
        let (Some(delay), Some(moment)) = (self.delay, self.moment) else {
            return match self.command.as_str() {
                "" => "before its command".into(),
                command => format!("{command}, before the cut"),
            };
        };
        let flash = if self.slow { " on the slow flash" } else { "" };
        let answer = match &self.answer {
            Some(answer) => super::apdu::hex(answer),
            None => "none".into(),
        };
        format!(
            "{} killed {:?} after it was sent{flash} ({moment:?}; answer {answer})",
            self.command, delay.after
        )
    }
}

impl<'a> Campaign<'a> {
    fn new(config: &'a Config, binary: &Path, dir: &'a Path) -> Result<Self, String> {
        let profile = dir.join("profile.toml");
        let factory = image::write_profile(&profile)?;
        let vpcd =
            TcpListener::bind("127.0.0.1:0").map_err(|error| format!("listening: {error}"))?;
        let slow_flash = match config.link {
            "qemu" => None,
            _ => Some(slow_flash::build(dir)?),
        };
        let stream = ["direct", "ccid", "qemu"]
            .iter()
            .position(|&l| l == config.link);
        Ok(Self {
            config,
            dir,
            vpcd,
            launch: Launch {
                binary: binary.to_path_buf(),
                link: config.link,
                image: dir.join("token.img"),
                profile,
                slow_flash: None,
            },
            factory,
            slow_flash,
            dice: Dice::new(config.seed, stream.unwrap_or(0) as u64),
            timing: Timing::new(config.link),
            summary: Summary::new(config.link, config.seed),
            sessions: 0,
        })
    }

    /// Trials on a fresh copy of the aged image until the chain is done or one fails.
    fn chain(&mut self, template: &Path, aged: &Token) -> Result<(), String> {
        copy(template, &self.launch.image)?;
        copy(template, &self.path("before.img"))?;
        let mut state = aged.clone();
        let mut token = self.start()?;
        for _ in 0..self.config.chain {
            if self.summary.trials == self.config.trials {
                break;
            }
            self.summary.trials += 1;
            let mut trace = Trace::default();
            match self.trial(token, state, &mut trace) {
                Ok((next_token, next_state)) => (token, state) = (next_token, next_state),
                Err(error) => {
                    self.fail(&trace, &error);
                    return Ok(());
                }
            }
            if self.summary.trials.is_multiple_of(100) {
                eprintln!(
                    "crash campaign {}: {} trials",
                    self.config.link, self.summary.trials
                );
            }
        }
        token.power_off_and_end()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Starts `ukey-sim` on the image, on the slow flash one time in two (not on qemu),
    /// logging into a file of its own; the logs of the two sessions before are removed.
    fn start(&mut self) -> Result<TokenProcess, String> {
        let slow = self.slow_flash.is_some() && self.dice.chance(1, 2);
        let launch = Launch {
            slow_flash: self.slow_flash.clone().filter(|_| slow),
            ..self.launch.clone()
        };
        self.sessions += 1;
        if let Some(old) = self.sessions.checked_sub(2) {
            let _ = fs::remove_file(self.session_log(old));
        }
        TokenProcess::start(&self.vpcd, &launch, &self.session_log(self.sessions))
    }

    fn session_log(&self, session: usize) -> PathBuf {
        self.path(&format!("session-{session}.log"))
    }

    /// One trial on `token`, powered on and holding `state`: the cut, the restart and the
    /// reading back. Returns the restarted token, powered on again, and its state.
    fn trial(
        &mut self,
        mut token: TokenProcess,
        state: Token,
        trace: &mut Trace,
    ) -> Result<(TokenProcess, Token), String> {
        let slow = token.on_slow_flash();
        trace.slow = slow;
        session::select(&mut token)?;
        let kind = Kind::draw(&mut self.dice);
        let state = prepare(&mut token, kind, state, &self.factory, &mut self.dice)?;
        let command = kind.command(&state, &self.factory, &mut self.dice);
        trace.command = command.to_string();
        let delay = self.timing.delay((kind, slow), &mut self.dice);
        trace.delay = Some(delay);
        let cut = token.send_and_kill(&command.apdu(), delay.after)?;
        trace.answer = cut.answer.clone();
        trace.moment = Some(cut.moment);
        self.timing
            .learn((kind, slow), delay, cut.moment, cut.latency);
        copy(&self.launch.image, &self.path("cut.img"))?;
        if image::erased_between(&self.path("before.img"), &self.path("cut.img"))? {
            self.summary.erasing += 1;
        }
        let candidates = possible_after(&cut, &command, &state, &self.factory)?;
        let mut token = self.start()?;
        session::select(&mut token)?;
        let test_puk = self.dice.chance(1, 4);
        let observed = observe::observe(
            &mut token,
            &self.factory,
            candidates,
            test_puk,
            &mut self.dice,
        )?;
        token.power_off()?;
        copy(&self.launch.image, &self.path("before.img"))?;
        token.power_on()?;
        self.summary.record(slow, cut.moment, observed.state.name);
        self.summary.signatures += observed.signatures;
        self.summary.unsigned += observed.unsigned;
        Ok((token, observed.state.token))
    }

    /// Records a failure with what reproduces it, and keeps its files.
    fn fail(&mut self, trace: &Trace, error: &str) {
        let number = self.summary.trials;
        let mut report = format!(
            "link {}, seed {}, trial {number}: {}: {error}\n  the same commands again (where \
             the kills land still varies): UKEY_CRASH_SEED={} UKEY_CRASH_TRIALS={number} cargo \
             test -p ukey-sim --release --test crash_campaign -- {} --nocapture",
            self.config.link,
            self.config.seed,
            trace.describe(),
            self.config.seed,
            self.config.link
        );
        if self.summary.failures.len() < KEPT_FAILURES {
            let kept = self.path(&format!("failure-{number}"));
            let _ = fs::create_dir_all(&kept);
            for name in ["before.img", "cut.img", "profile.toml"] {
                let _ = fs::copy(self.path(name), kept.join(name));
            }
            for session in self.sessions.saturating_sub(1)..=self.sessions {
                let log = self.session_log(session);
                if let Some(name) = log.file_name() {
                    let _ = fs::copy(&log, kept.join(name));
                }
            }
            let _ = fs::write(kept.join("report.txt"), &report);
            report.push_str(&format!(
                "\n  files (image before the trial, image at the kill, logs): {}",
                kept.display()
            ));
        }
        eprintln!("crash campaign FAILURE: {report}");
        self.summary.failures.push(report);
    }
}

/// The states the token may hold after `command` on `state` was cut: the completed one if
/// it answered (with the answer the model predicts), else any the model allows.
fn possible_after(
    cut: &Cut,
    command: &Command,
    state: &Token,
    factory: &Factory,
) -> Result<Vec<Candidate>, String> {
    let outcomes = command.outcomes(state, factory);
    let states = match &cut.answer {
        Some(answer) => {
            let (status, data) = split_status(answer)?;
            if status != outcomes.status {
                return Err(format!(
                    "answered {status:04X}; the model says {:04X}",
                    outcomes.status
                ));
            }
            let mut completed = outcomes.completed;
            session::fill_generated_key(&mut completed, command, data)?;
            vec![("new", completed)]
        }
        None => outcomes.after_cut(state),
    };
    Ok(states
        .into_iter()
        .map(|(name, token)| Candidate {
            name: name.to_string(),
            token,
        })
        .collect())
}

fn copy(from: &Path, to: &Path) -> Result<(), String> {
    fs::copy(from, to)
        .map(drop)
        .map_err(|error| format!("copying {}: {error}", from.display()))
}
