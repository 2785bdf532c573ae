//! Scorer of the `fgd` policy: Fragmentation Gradient Descent (Weng et al.,
//! ATC 2023) — place where the machine's GPU fragmentation, measured
//! against the workload's typical pods ([`crate::sched::typical`]), falls
//! the most (or grows the least).
//!
//! `Δ = F(before) − F(after)`, after = the machine's free CPU less the
//! task's, and its devices less the task's GPUs; `score = ⌊100 · σ(Δ /
//! 1000)⌋` (0..=100, 50 when nothing changes), read off integer thresholds.
//! FGD also chooses the GPU inside the machine: a share goes to the device,
//! in index order, whose score is the highest (the first on ties); whole
//! GPUs are the lowest-index idle devices ([`fgd_choice`]; the same choice
//! places the task: `sched::devices`).
//!
//! Until the typical pods are known (they are filled in before the first
//! pass, see `sim::feed::Feed::typical_pods`) every machine scores 50.

use crate::cell::attrs::Attributes;
use crate::cell::resources::{GpuAlloc, GpuRequest, Request, MAX_GPUS_PER_MACHINE};
use crate::cell::state::CellState;
use crate::cell::MachineId;
use crate::sched::class_key::{ClassKeyBuilder, Signed};
use crate::sched::plugin::{Plugin, Score, TaskView};
use crate::sched::typical::{TypicalPods, TypicalSlot};
use std::sync::Mutex;

/// The score when fragmentation does not change.
pub const NEUTRAL: u64 = 50;

pub struct Fgd {
    typical: TypicalSlot,
    /// Per machine, its last measured state and fragmentation: a machine
    /// is scored for every task class between two of its changes, and its
    /// fragmentation before placement is the same each time.
    before: Mutex<Vec<Measured>>,
}

/// A machine state and its F × total. The whole state is the key (not the
/// machine's `seq`), so an entry never answers for another state, whatever
/// cell the scorer is asked about.
#[derive(Default)]
struct Measured {
    attrs: Attributes,
    cpu_left: u64,
    gpu_free: Vec<u32>,
    frag: u64,
}

impl Fgd {
    /// The scorer reading the typical pods of `typical`.
    pub fn new(typical: TypicalSlot) -> Self {
        Fgd {
            typical,
            before: Mutex::new(Vec::new()),
        }
    }

    /// F × total of machine `m` as it is, from the memo when it holds
    /// this very state.
    fn fragmentation_now(&self, tp: &TypicalPods, st: &CellState, m: MachineId) -> u64 {
        let ms = st.machine(m);
        let attrs = &st.cell().machines[m as usize].attrs;
        let (cpu_left, free) = (ms.free.cpu_milli, &ms.gpu_free_milli[..]);
        let mut memo = self.before.lock().unwrap_or_else(|e| e.into_inner());
        if memo.len() <= m as usize {
            memo.resize_with(m as usize + 1, Measured::default);
        }
        // A fresh entry (no CPU, no devices) holds F = 0, that state's own.
        let e = &mut memo[m as usize];
        if e.cpu_left != cpu_left || e.gpu_free != free || e.attrs != *attrs {
            e.frag = tp.fragmentation(attrs, cpu_left, free);
            e.cpu_left = cpu_left;
            e.gpu_free.clear();
            e.gpu_free.extend_from_slice(free);
            e.attrs.clone_from(attrs);
        }
        e.frag
    }
}

/// The `fgd` score of placing `req` on a machine with `attrs`, `cpu_left`
/// free milli-cores and devices `free`, and the devices FGD takes there;
/// `None` if the GPUs do not fit.
///
/// A share is measured once per distinct free amount among the devices
/// that fit it, on the first device with that amount: devices with equal
/// free milli leave equal states (F does not depend on device order), and
/// the first device reaching the best score is the one chosen anyway.
pub fn fgd_choice(
    tp: &TypicalPods,
    attrs: &Attributes,
    cpu_left: u64,
    free: &[u32],
    req: Request,
) -> Option<(u64, GpuAlloc)> {
    let before = tp.fragmentation(attrs, cpu_left, free);
    choice_from(tp, before, attrs, cpu_left, free, req)
}

/// [`fgd_choice`] with the machine's F × total `before` placement given.
fn choice_from(
    tp: &TypicalPods,
    before: u64,
    attrs: &Attributes,
    cpu_left: u64,
    free: &[u32],
    req: Request,
) -> Option<(u64, GpuAlloc)> {
    let before = before as i64;
    let cpu_after = cpu_left.saturating_sub(req.res.cpu_milli);
    let mut buf = [0u32; MAX_GPUS_PER_MACHINE];
    let after = &mut buf[..free.len()];
    after.copy_from_slice(free);
    let score_of = |after: &[u32]| {
        let f = tp.fragmentation(attrs, cpu_after, after) as i64;
        tp.score_of_delta(before - f)
    };
    match req.gpu {
        GpuRequest::Share(m) => {
            let mut best: Option<(u64, GpuAlloc)> = None;
            for d in 0..free.len() {
                if free[d] < m || free[..d].contains(&free[d]) {
                    continue;
                }
                after[d] -= m;
                let s = score_of(after);
                after[d] += m;
                if best.is_none_or(|(b, _)| s > b) {
                    let alloc = GpuAlloc::Share {
                        device: d as u16,
                        milli: m,
                    };
                    best = Some((s, alloc));
                }
            }
            best
        }
        GpuRequest::None | GpuRequest::Whole(_) => {
            let alloc = req.gpu.choose_devices(free)?;
            alloc.take_from(after);
            Some((score_of(after), alloc))
        }
    }
}

impl Plugin for Fgd {
    fn name(&self) -> &'static str {
        "fgd"
    }

    /// The request (the machine's attributes, CPU and devices are the
    /// machine's own state).
    fn sign(&self, task: &TaskView, key: &mut ClassKeyBuilder) -> Signed {
        key.add(&task.job.spec.request);
        Signed::Shareable
    }
}

impl Score for Fgd {
    fn score(&self, st: &CellState, task: &TaskView, m: MachineId) -> u64 {
        let Some(tp) = self.typical.get() else {
            return NEUTRAL;
        };
        let before = self.fragmentation_now(tp, st, m);
        let ms = st.machine(m);
        let attrs = &st.cell().machines[m as usize].attrs;
        let req = task.job.spec.request;
        choice_from(
            tp,
            before,
            attrs,
            ms.free.cpu_milli,
            &ms.gpu_free_milli,
            req,
        )
        .map_or(0, |(s, _)| s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::resources::Resources;
    use crate::sched::typical::TypicalPod;

    fn req(cpu: u64, gpu: GpuRequest) -> Request {
        Request {
            res: Resources {
                cpu_milli: cpu,
                mem_mib: 0,
            },
            gpu,
        }
    }

    fn typical() -> TypicalPods {
        // One typical pod: 1000 m with a 500-milli share, count 1.
        TypicalPods::new(vec![TypicalPod {
            cpu_milli: 1000,
            gpu: GpuRequest::Share(500),
            constraints: Vec::new(),
            count: 1,
        }])
    }

    #[test]
    fn a_share_takes_the_device_that_fragments_least() {
        let tp = typical();
        let a = Attributes::default();
        // Devices [1000, 700]; F before: device 0 fits 500, device 1 too
        // (700 ≥ 500): nothing too small, F = 0. A 300 share:
        // - on device 0 → [700, 700]: F = 0, Δ = 0, score 50;
        // - on device 1 → [1000, 400]: 400 < 500 is fragment, Δ = −400,
        //   ⌊100 σ(−0.4)⌋ = ⌊40.13⌋ = 40.
        // Device 0 wins (not the fullest, as best-fit would take).
        let (s, alloc) = fgd_choice(
            &tp,
            &a,
            8000,
            &[1000, 700],
            req(1000, GpuRequest::Share(300)),
        )
        .unwrap();
        assert_eq!(s, 50);
        assert_eq!(
            alloc,
            GpuAlloc::Share {
                device: 0,
                milli: 300
            }
        );
    }

    #[test]
    fn a_share_that_fills_a_fragment_scores_above_50() {
        let tp = typical();
        let a = Attributes::default();
        // Devices [1000, 200]: F = 200 (200 < 500). A 200 share on device
        // 1 → [1000, 0]: F = 0, Δ = 200: ⌊100 σ(0.2)⌋ = ⌊54.98⌋ = 54; on
        // device 0 → [800, 200]: F = 200, Δ = 0: 50.
        let (s, alloc) = fgd_choice(
            &tp,
            &a,
            8000,
            &[1000, 200],
            req(1000, GpuRequest::Share(200)),
        )
        .unwrap();
        assert_eq!(
            (s, alloc),
            (
                54,
                GpuAlloc::Share {
                    device: 1,
                    milli: 200
                }
            )
        );
    }

    #[test]
    fn cpu_exhausted_machines_turn_idle_gpus_into_fragment() {
        let tp = typical();
        let a = Attributes::default();
        // CPU 1500 free, devices [1000]: F = 0. A CPU pod of 1000 m leaves
        // 500 < 1000 m: the typical pod cannot come, F = L = 1000,
        // Δ = −1000: ⌊100 σ(−1)⌋ = ⌊26.89⌋ = 26.
        let (s, alloc) = fgd_choice(&tp, &a, 1500, &[1000], req(1000, GpuRequest::None)).unwrap();
        assert_eq!((s, alloc), (26, GpuAlloc::None));
        // A whole GPU that does not fit: no choice.
        assert!(fgd_choice(&tp, &a, 1500, &[700], req(0, GpuRequest::Whole(1))).is_none());
    }
}
