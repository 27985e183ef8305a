//! Rates measured on this thread's CPU clock, as `openssl speed` measures its own (user CPU
//! time), so that other work on a shared machine slows neither side of a ratio; and on the
//! wall clock for round trips that span processes.

use std::time::{Duration, Instant};

use rustix::time::{ClockId, clock_gettime};

/// Operations between two clock reads: enough that reading the clock costs nothing
/// measurable next to a signature, few enough to stop close to the budget.
const BATCH: u64 = 8;

/// CPU time this thread has used so far.
pub fn thread_cpu() -> Duration {
    timespec(clock_gettime(ClockId::ThreadCPUTime))
}

/// CPU time all threads of this process have used so far.
pub fn process_cpu() -> Duration {
    timespec(clock_gettime(ClockId::ProcessCPUTime))
}

/// CPU time (user and system) the process `pid` has used so far, from `/proc/PID/stat`, to
/// the kernel's clock tick.
pub fn cpu_of(pid: u32) -> Result<Duration, String> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    // The command name (field 2) may hold spaces; the fields after its `)` are plain.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let mut fields = after_name.split_whitespace().skip(11);
    let mut ticks = || -> Result<u64, String> {
        fields
            .next()
            .and_then(|field| field.parse().ok())
            .ok_or_else(|| format!("{path} has no CPU times"))
    };
    let (user, system) = (ticks()?, ticks()?);
    let per_second = rustix::param::clock_ticks_per_second().max(1);
    Ok(Duration::from_secs_f64(
        (user + system) as f64 / per_second as f64,
    ))
}

fn timespec(time: rustix::time::Timespec) -> Duration {
    Duration::new(
        u64::try_from(time.tv_sec).unwrap_or(0),
        u32::try_from(time.tv_nsec).unwrap_or(0),
    )
}

/// Which clock a measurement runs until its budget is spent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// This thread's CPU time: for work done entirely in this thread.
    ThreadCpu,
    /// Elapsed time: for work that waits on other processes.
    Wall,
}

/// How many operations ran, in how much CPU and wall time.
#[derive(Clone, Copy, Debug)]
pub struct Rate {
    /// Operations completed.
    pub ops: u64,
    /// This thread's CPU time they took.
    pub cpu: Duration,
    /// Elapsed time they took.
    pub wall: Duration,
}

impl Rate {
    /// Operations per second of this thread's CPU time.
    pub fn per_cpu_second(&self) -> f64 {
        self.ops as f64 / self.cpu.as_secs_f64()
    }

    /// Operations per elapsed second.
    pub fn per_wall_second(&self) -> f64 {
        self.ops as f64 / self.wall.as_secs_f64()
    }

    /// CPU time per operation.
    pub fn cpu_per_op(&self) -> Duration {
        self.cpu.div_f64(self.ops as f64)
    }

    /// Elapsed time per operation.
    pub fn wall_per_op(&self) -> Duration {
        self.wall.div_f64(self.ops as f64)
    }
}

/// Runs `op` in batches until `budget` of `clock` has passed (and at least one batch), or
/// until `op` fails. A CPU budget also stops after four times the budget in wall time, so a
/// starved thread still finishes.
pub fn measure<E>(
    clock: Clock,
    budget: Duration,
    mut op: impl FnMut() -> Result<(), E>,
) -> Result<Rate, E> {
    let (cpu_start, wall_start) = (thread_cpu(), Instant::now());
    let mut ops = 0;
    loop {
        for _ in 0..BATCH {
            op()?;
        }
        ops += BATCH;
        let (cpu, wall) = (thread_cpu() - cpu_start, wall_start.elapsed());
        let spent = match clock {
            Clock::ThreadCpu => cpu >= budget || wall >= budget * 4,
            Clock::Wall => wall >= budget,
        };
        if spent {
            return Ok(Rate { ops, cpu, wall });
        }
    }
}

/// The median of `values` (the mean of the middle two for an even count); `None` if empty.
pub fn median(values: &mut [f64]) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some((values[n / 2 - 1] + values[n / 2]) / 2.0),
    }
}
