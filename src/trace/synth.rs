//! `borgsim trace synth --shape google2011`: a synthetic trace in the Google
//! 2011 format with the trace's published shape, for scale tests (the real
//! trace is 41 GB).
//!
//! The shape (DOMAIN.md; figures not published are marked as assumptions):
//! - **Machines**: the 2011 CPU/memory mix — 0.5/0.5 53.47 %, 0.5/0.25
//!   30.74 %, 0.5/0.75 7.95 %, 1/1 6.32 %, and 0.25/0.25 for the remaining
//!   1.52 %; platforms A (0.5), B (1.0), C (0.25). Each machine is removed
//!   with probability 1 % per day and added back 1–4 h later (assumption).
//! - **Jobs** arrive as a Poisson process at 26,000 per day per 12,500
//!   machines (so a month of a 12,500-machine cell has about 20 M tasks;
//!   the 2011 trace has ~670 k jobs and ~25 M tasks). Before the trace
//!   (time 0) the cell already runs as many jobs as it holds in steady
//!   state (Little's law per class), so the load is stationary.
//! - **Priorities** (share of jobs; assumption shaped on the trace's
//!   bands): 0: 20 %, 1: 5 %, 2: 5 %, 4: 50 %, 6: 5 %, 9: 12 %, 10: 2 %, 11: 1 %.
//! - **Tasks per job**: 60 % one task, else Pareto(α = 1.1, from 12),
//!   capped at 10,000 — heavy-tailed (mean ≈ 26).
//! - **Run lengths**: log-normal; batch and free (priority ≤ 8) median 600 s,
//!   σ 1.5; production and monitoring median 6 h, σ 1.5.
//! - **Requests** (normalised): CPU log-normal median 0.0125 (batch) or
//!   0.025 (prod), memory 0.008 or 0.02, σ 1, capped at 0.5; written with 6
//!   decimals, as the trace does.
//!
//! Each task has SUBMIT, SCHEDULE (1 s later, on a random machine: the
//! synthetic trace does not simulate placement, so use it in re-schedule
//! mode) and FINISH if it ends before the trace does; each job has SUBMIT
//! and FINISH. Events are written in time order from a heap of future
//! events, so memory follows live tasks, not the trace's length.
//!
//! With `usage`, `task_usage` too: one row per running task per 5-minute
//! window (windows end on multiples of 300 s of trace time, and at the
//! task's end), its first 7 columns, on the requests' normalised scale.
//! A task uses a fraction of its request drawn once per task — CPU 30–60 %
//! for prod (priority ≥ 9), 50–90 % otherwise; memory 60–80 % and 70–95 %
//! (assumption shaped on DOMAIN.md's representative Borg cell, where prod
//! holds ~70 % of the CPU allocated but ~60 % of the CPU used: prod asks
//! for more than it uses, relative to non-prod) — times a noise factor of
//! ±10 % per window, at most the request. The draws are keyed
//! ([`RngStreams::keyed`], stream `usage`) by task and window, so the
//! other tables are the same with or without usage.

use crate::error::{Error, Result};
use crate::metrics::report::temp_path;
use crate::rng::{RngStreams, SimRng, Stream};
use rand::Rng;
use rand_distr::{Distribution, Exp, LogNormal};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// What to synthesise.
#[derive(Clone, Debug)]
pub struct SynthConfig {
    pub machines: u32,
    /// Length of the trace after its start at 600 s, in seconds.
    pub duration_s: u64,
    pub seed: u64,
    /// Rows per task_events part (a new part file after this many).
    pub rows_per_part: u64,
    /// Also write `task_usage` (5-minute windows per running task).
    pub usage: bool,
}

/// What was written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SynthCounts {
    pub machines: u64,
    pub jobs: u64,
    pub tasks: u64,
    pub task_rows: u64,
    /// `task_usage` rows (0 without `usage`).
    pub usage_rows: u64,
}

const START_US: u64 = 600_000_000;
const PRIORITIES: [(u32, u32); 8] = [
    (0, 200),
    (1, 50),
    (2, 50),
    (4, 500),
    (6, 50),
    (9, 120),
    (10, 20),
    (11, 10),
];
const MACHINE_MIX: [(u32, &str, &str, &str); 5] = [
    (5347, "0.5", "0.5", "A"),
    (3074, "0.5", "0.25", "A"),
    (795, "0.5", "0.75", "A"),
    (632, "1", "1", "B"),
    (152, "0.25", "0.25", "C"),
];

/// A future row, ordered by time then by the order it was planned in.
type Pending = Reverse<(u64, u64, Planned)>;

/// A planned row: a task event, or a task's next usage window.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Planned {
    Task(Row),
    Usage(Window),
}

/// A running task's next usage window, starting at its planned time.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Window {
    job: u64,
    index: u32,
    machine: u32,
    /// The task's end (its FINISH, or the trace's end), µs.
    end_us: u64,
    prod: bool,
    /// The request, normalised.
    cpu: String,
    mem: String,
}

impl Window {
    /// The first window of the task `row` schedules, which ends at `end_us`.
    fn of(row: Row, end_us: u64) -> Self {
        let (Row::Schedule {
            job,
            index,
            machine,
            prio,
            cpu,
            mem,
        }
        | Row::Finish {
            job,
            index,
            machine,
            prio,
            cpu,
            mem,
        }) = row;
        Window {
            job,
            index,
            machine,
            end_us,
            prod: prio >= 9,
            cpu,
            mem,
        }
    }
}

/// Usage windows end on multiples of this, µs (the trace's 5 minutes).
const WINDOW_US: u64 = 300_000_000;
/// Tells this module's keyed usage draws apart from the simulator's.
const USAGE_KEY: u64 = 0x7379_6e74_6831_3121;

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Row {
    Schedule {
        job: u64,
        index: u32,
        machine: u32,
        prio: u32,
        cpu: String,
        mem: String,
    },
    Finish {
        job: u64,
        index: u32,
        machine: u32,
        prio: u32,
        cpu: String,
        mem: String,
    },
}

/// Writes the trace under `out/` (`machine_events/`, `job_events/`,
/// `task_events/` with parts). Files are written under temporary names and
/// renamed when complete.
#[expect(
    clippy::too_many_lines,
    reason = "the workload stream's draws happen in this order, and the trace a seed gives depends on it: one body keeps the order in view"
)]
pub fn google2011(cfg: &SynthConfig, out: &Path) -> Result<SynthCounts> {
    let streams = RngStreams::new(cfg.seed);
    let mut rng = streams.stream(Stream::Workload);
    let end_us = START_US + cfg.duration_s * 1_000_000;
    let mut w = Writers::new(out, cfg.rows_per_part, cfg.usage)?;
    let mut counts = SynthCounts::default();
    // Machines, all present at time 0; churn planned per day.
    let mut caps = Vec::with_capacity(cfg.machines as usize);
    for m in 0..cfg.machines {
        let class = &MACHINE_MIX[weighted(&mut rng, MACHINE_MIX.map(|c| c.0))];
        caps.push(class);
        w.machine(&format!("0,{m},0,{},{},{}\n", class.3, class.1, class.2))?;
        counts.machines += 1;
    }
    let removals =
        (cfg.duration_s as f64 / 86_400.0 * 0.01 * f64::from(cfg.machines)).round() as u64;
    let mut machine_events: Vec<(u64, u32, bool)> = Vec::new();
    for _ in 0..removals {
        let m = rng.random_range(0..cfg.machines.max(1));
        let at = START_US + rng.random_range(0..cfg.duration_s.max(1)) * 1_000_000;
        let back = at + rng.random_range(3600..4 * 3600u64) * 1_000_000;
        machine_events.push((at, m, false));
        if back < end_us {
            machine_events.push((back, m, true));
        }
    }
    machine_events.sort();
    // Removing a machine twice before it is back would be inconsistent: keep
    // only removals of machines that are up.
    let mut down = vec![false; cfg.machines as usize];
    for (t, m, add) in machine_events {
        let i = m as usize;
        if add == down[i] {
            down[i] = !add;
            if add {
                let c = caps[i];
                w.machine(&format!("{t},{m},0,{},{},{}\n", c.3, c.1, c.2))?;
            } else {
                w.machine(&format!("{t},{m},1,,,\n"))?;
            }
        }
    }
    let scale = f64::from(cfg.machines) / 12_500.0;
    let jobs_per_s = 26_000.0 / 86_400.0 * scale;
    // Before the trace: Little's law, L = λ × E[run], per class.
    let mean_run_s = |prod: bool| {
        if prod {
            21_600.0 * (1.5f64 * 1.5 / 2.0).exp()
        } else {
            600.0 * (1.5f64 * 1.5 / 2.0).exp()
        }
    };
    let prod_share = (120.0 + 20.0 + 10.0) / 1000.0;
    let initial = (jobs_per_s
        * (prod_share * mean_run_s(true) + (1.0 - prod_share) * mean_run_s(false)))
    .round() as u64;
    let gap = Exp::new(jobs_per_s.max(1e-9)).map_err(|e| Error::Invalid {
        path: out.to_path_buf(),
        key: "rate".into(),
        message: e.to_string(),
    })?;
    let mut run = Run {
        gen: Gen::new(),
        rng,
        w,
        heap: BinaryHeap::new(),
        seq: 0,
        live: rustc_hash::FxHashMap::default(),
        counts,
        end_us,
        machines: cfg.machines,
        next_job: 1,
        usage: cfg.usage.then_some(streams),
    };
    for _ in 0..initial {
        run.job(0)?;
    }
    let mut t = START_US as f64;
    loop {
        t += gap.sample(&mut run.rng) * 1e6;
        let now = t as u64;
        run.write_due(now.min(end_us))?;
        if now >= end_us {
            break;
        }
        run.job(now)?;
    }
    let Run { mut counts, w, .. } = run;
    counts.task_rows = w.task_rows;
    counts.usage_rows = w.usage_rows;
    w.finish()?;
    Ok(counts)
}

/// The distributions of the shape.
struct Gen {
    tasks_tail: rand_distr::Pareto<f64>,
    run: [LogNormal<f64>; 2],
    cpu: [LogNormal<f64>; 2],
    mem: [LogNormal<f64>; 2],
}

impl Gen {
    fn new() -> Self {
        let ln =
            |median: f64, sigma: f64| LogNormal::new(median.ln(), sigma).expect("valid parameters");
        Gen {
            tasks_tail: rand_distr::Pareto::new(12.0, 1.1).expect("valid parameters"),
            run: [ln(600.0, 1.5), ln(21_600.0, 1.5)],
            cpu: [ln(0.0125, 1.0), ln(0.025, 1.0)],
            mem: [ln(0.008, 1.0), ln(0.02, 1.0)],
        }
    }
}

/// A synthesis in progress: the shape's distributions, the random stream,
/// the files, and the rows planned for later (a heap ordered by time, then
/// by the order they were planned).
struct Run {
    gen: Gen,
    rng: SimRng,
    w: Writers,
    heap: BinaryHeap<Pending>,
    seq: u64,
    /// Jobs whose every task finishes within the trace: tasks left to finish.
    live: rustc_hash::FxHashMap<u64, u32>,
    counts: SynthCounts,
    end_us: u64,
    machines: u32,
    next_job: u64,
    /// With `usage`: the streams its keyed draws come from.
    usage: Option<RngStreams>,
}

impl Run {
    /// Writes every planned row due by `t`.
    fn write_due(&mut self, t: u64) -> Result<()> {
        while let Some(Reverse((at, _, _))) = self.heap.peek() {
            if *at > t {
                break;
            }
            let Some(Reverse((at, _, planned))) = self.heap.pop() else {
                break;
            };
            match planned {
                Planned::Task(row) => self.w.row(at, row, &mut self.live)?,
                Planned::Usage(window) => self.window(at, window)?,
            }
        }
        Ok(())
    }

    /// Submits a job at `now`: its SUBMIT rows now, its tasks' SCHEDULE
    /// and FINISH rows planned.
    fn job(&mut self, now: u64) -> Result<()> {
        let job = self.next_job;
        self.next_job += 1;
        let (gen, rng) = (&self.gen, &mut self.rng);
        let prio = PRIORITIES[weighted(rng, PRIORITIES.map(|p| p.1))].0;
        let prod = usize::from(prio >= 9);
        let tasks = if rng.random_bool(0.6) {
            1
        } else {
            (gen.tasks_tail.sample(rng) as u64).min(10_000) as u32
        };
        let cpu = norm(gen.cpu[prod].sample(rng));
        let mem = norm(gen.mem[prod].sample(rng));
        let class = if prod == 1 { 2 } else { 0 };
        self.w.job(&format!(
            "{now},,{job},0,user{},{class},job{job},logical{job}\n",
            job % 997
        ))?;
        self.counts.jobs += 1;
        let mut finishing = 0;
        for index in 0..tasks {
            let row = format!(
                "{now},,{job},{index},,0,user{},{class},{prio},{cpu},{mem},0,0\n",
                job % 997
            );
            self.w.task(&row)?;
            self.counts.tasks += 1;
            let machine = self.rng.random_range(0..self.machines.max(1));
            let start = now.max(START_US) + 1_000_000;
            let run_us = (self.gen.run[prod].sample(&mut self.rng) * 1e6) as u64;
            let row = |finish: bool| {
                let (cpu, mem) = (cpu.clone(), mem.clone());
                if finish {
                    Row::Finish {
                        job,
                        index,
                        machine,
                        prio,
                        cpu,
                        mem,
                    }
                } else {
                    Row::Schedule {
                        job,
                        index,
                        machine,
                        prio,
                        cpu,
                        mem,
                    }
                }
            };
            self.plan(start, Planned::Task(row(false)));
            if start + run_us < self.end_us {
                self.plan(start + run_us, Planned::Task(row(true)));
                finishing += 1;
            }
            if self.usage.is_some() && start < self.end_us {
                let end_us = (start + run_us).min(self.end_us);
                self.plan(start, Planned::Usage(Window::of(row(false), end_us)));
            }
        }
        if finishing == tasks {
            self.live.insert(job, tasks);
        }
        Ok(())
    }
}

impl Run {
    /// Writes the usage row of `w`'s window starting at `at`, and plans
    /// the next if the task still runs when this one ends.
    fn window(&mut self, at: u64, w: Window) -> Result<()> {
        let Some(streams) = &self.usage else {
            return Ok(());
        };
        let end = ((at / WINDOW_US + 1) * WINDOW_US).min(w.end_us);
        let task = [USAGE_KEY, w.job, u64::from(w.index)];
        let (cpu_range, mem_range) = if w.prod {
            ((0.30, 0.60), (0.60, 0.80))
        } else {
            ((0.50, 0.90), (0.70, 0.95))
        };
        let draw = |key: &[u64], (lo, hi): (f64, f64)| {
            lo + (hi - lo) * unit(streams.keyed(Stream::Usage, key))
        };
        let noise = |r: u64| {
            let key = [USAGE_KEY, w.job, u64::from(w.index), at, r];
            0.9 + 0.2 * unit(streams.keyed(Stream::Usage, &key))
        };
        let cpu_frac = (draw(&[task[0], task[1], task[2], 0], cpu_range) * noise(0)).min(1.0);
        let mem_frac = (draw(&[task[0], task[1], task[2], 1], mem_range) * noise(1)).min(1.0);
        let value = |request: &str, frac: f64| norm(request.parse::<f64>().unwrap_or(0.0) * frac);
        self.w.usage(&format!(
            "{at},{end},{},{},{},{},{}\n",
            w.job,
            w.index,
            w.machine,
            value(&w.cpu, cpu_frac),
            value(&w.mem, mem_frac)
        ))?;
        if end < w.end_us {
            self.plan(end, Planned::Usage(w));
        }
        Ok(())
    }

    /// Plans a row at `at`, after those planned for then before it.
    fn plan(&mut self, at: u64, p: Planned) {
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq, p)));
    }
}

/// A keyed draw as a uniform fraction in [0, 1): its top 53 bits.
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// An index drawn with probability proportional to its weight.
fn weighted<const N: usize>(rng: &mut SimRng, weights: [u32; N]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut pick = rng.random_range(0..total);
    for (i, w) in weights.iter().enumerate() {
        if pick < *w {
            return i;
        }
        pick -= w;
    }
    N - 1
}

/// A normalised value as the trace writes it: 6 decimals, at most 0.5, at
/// least 0.000001.
fn norm(x: f64) -> String {
    let v = x.clamp(1e-6, 0.5);
    let s = format!("{v:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The output files.
struct Writers {
    dir: PathBuf,
    machines: (PathBuf, BufWriter<File>),
    jobs: (PathBuf, BufWriter<File>),
    tasks: Vec<(PathBuf, BufWriter<File>)>,
    usage: Option<(PathBuf, BufWriter<File>)>,
    rows_per_part: u64,
    task_rows: u64,
    usage_rows: u64,
}

fn create(path: PathBuf) -> Result<(PathBuf, BufWriter<File>)> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|source| Error::Write {
            path: d.to_path_buf(),
            source,
        })?;
    }
    let f = File::create(temp_path(&path)).map_err(|source| Error::Write {
        path: path.clone(),
        source,
    })?;
    Ok((path, BufWriter::with_capacity(1 << 20, f)))
}

impl Writers {
    fn new(dir: &Path, rows_per_part: u64, usage: bool) -> Result<Self> {
        Ok(Writers {
            dir: dir.to_path_buf(),
            machines: create(dir.join("machine_events/part-00000-of-00001.csv"))?,
            jobs: create(dir.join("job_events/part-00000-of-00001.csv"))?,
            tasks: vec![create(dir.join("task_events/part-00000.csv"))?],
            usage: if usage {
                Some(create(dir.join("task_usage/part-00000-of-00001.csv"))?)
            } else {
                None
            },
            rows_per_part: rows_per_part.max(1),
            task_rows: 0,
            usage_rows: 0,
        })
    }

    fn put(w: &mut (PathBuf, BufWriter<File>), s: &str) -> Result<()> {
        w.1.write_all(s.as_bytes()).map_err(|source| Error::Write {
            path: w.0.clone(),
            source,
        })
    }

    fn machine(&mut self, s: &str) -> Result<()> {
        Self::put(&mut self.machines, s)
    }

    fn job(&mut self, s: &str) -> Result<()> {
        Self::put(&mut self.jobs, s)
    }

    fn usage(&mut self, s: &str) -> Result<()> {
        self.usage_rows += 1;
        match &mut self.usage {
            Some(w) => Self::put(w, s),
            None => Ok(()),
        }
    }

    fn task(&mut self, s: &str) -> Result<()> {
        if self.task_rows > 0 && self.task_rows.is_multiple_of(self.rows_per_part) {
            let n = self.tasks.len();
            self.tasks.push(create(
                self.dir.join(format!("task_events/part-{n:05}.csv")),
            )?);
        }
        self.task_rows += 1;
        let last = self.tasks.last_mut().expect("a part");
        Self::put(last, s)
    }

    /// Writes a planned task row (and the job's FINISH after its last task's).
    fn row(&mut self, at: u64, row: Row, live: &mut rustc_hash::FxHashMap<u64, u32>) -> Result<()> {
        let (ev, job, index, machine, prio, cpu, mem) = match row {
            Row::Schedule {
                job,
                index,
                machine,
                prio,
                cpu,
                mem,
            } => (1, job, index, machine, prio, cpu, mem),
            Row::Finish {
                job,
                index,
                machine,
                prio,
                cpu,
                mem,
            } => (4, job, index, machine, prio, cpu, mem),
        };
        let class = if prio >= 9 { 2 } else { 0 };
        let user = job % 997;
        self.task(&format!(
            "{at},,{job},{index},{machine},{ev},user{user},{class},{prio},{cpu},{mem},0,0\n"
        ))?;
        if ev == 4 {
            if let Some(left) = live.get_mut(&job) {
                *left -= 1;
                if *left == 0 {
                    live.remove(&job);
                    self.job(&format!(
                        "{at},,{job},4,user{user},{class},job{job},logical{job}\n"
                    ))?;
                }
            }
        }
        Ok(())
    }

    /// Flushes every file and renames it from its temporary name; task parts
    /// get their final `part-NNNNN-of-MMMMM.csv` names.
    fn finish(self) -> Result<()> {
        let n = self.tasks.len();
        let mut all = vec![
            (self.machines.0.clone(), self.machines),
            (self.jobs.0.clone(), self.jobs),
        ];
        for (i, w) in self.tasks.into_iter().enumerate() {
            let name = w.0.with_file_name(format!("part-{i:05}-of-{n:05}.csv"));
            all.push((name, w));
        }
        if let Some(w) = self.usage {
            all.push((w.0.clone(), w));
        }
        for (final_path, (path, mut w)) in all {
            w.flush().map_err(|source| Error::Write {
                path: path.clone(),
                source,
            })?;
            drop(w);
            std::fs::rename(temp_path(&path), &final_path).map_err(|source| Error::Write {
                path: final_path.clone(),
                source,
            })?;
        }
        Ok(())
    }
}
