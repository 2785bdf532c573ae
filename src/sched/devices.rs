//! Which GPUs of the chosen machine a task takes: part of a policy.
//!
//! Borg-style policies take whole devices lowest index first and put a
//! share on the fullest device that fits ([`GpuRequest::choose_devices`]).
//! The paper GPU policies of Weng et al. (ATC 2023) differ only for
//! shares: Random takes a uniformly random device that fits, and FGD the
//! device whose use fragments the machine least (`plugins::fgd`). The
//! scheduler asks the profile's [`DeviceChoice`] after the pipeline chose
//! the machine, and places the task on those devices.

use super::plugins::fgd::fgd_choice;
use super::typical::TypicalSlot;
use crate::cell::resources::{GpuAlloc, GpuRequest};
use crate::cell::state::CellState;
use crate::cell::MachineId;
use crate::rng::{RngStreams, Stream};
use crate::workload::Job;

/// How a profile picks the devices inside a machine.
#[derive(Clone, Debug, Default)]
pub enum DeviceChoice {
    /// Whole devices lowest index first; a share on the fullest device
    /// that fits ([`GpuRequest::choose_devices`]).
    #[default]
    Fullest,
    /// A share on a uniformly random device that fits: a keyed draw of the
    /// `random_policy` stream on (job serial, machine, 1).
    Random(RngStreams),
    /// A share on the device FGD scores best (the first on ties); until
    /// the typical pods are known, as `Fullest`.
    Fragmentation(TypicalSlot),
}

impl DeviceChoice {
    /// The devices a task of `job` takes on `machine`, which the pipeline
    /// found fits it. Panics if it does not.
    pub fn choose(&self, st: &CellState, job: &Job, machine: MachineId) -> GpuAlloc {
        let req = job.spec.request;
        let free = &st.machine(machine).gpu_free_milli;
        let chosen = match (self, req.gpu) {
            (DeviceChoice::Random(streams), GpuRequest::Share(m)) => {
                let key = [job.serial, u64::from(machine), 1];
                random_device(streams.keyed(Stream::RandomPolicy, &key), m, free)
            }
            (DeviceChoice::Fragmentation(slot), GpuRequest::Share(_)) => match slot.get() {
                Some(tp) => {
                    let attrs = &st.cell().machines[machine as usize].attrs;
                    let cpu_left = st.machine(machine).free.cpu_milli;
                    fgd_choice(tp, attrs, cpu_left, free, req).map(|(_, alloc)| alloc)
                }
                None => req.gpu.choose_devices(free),
            },
            _ => req.gpu.choose_devices(free),
        };
        chosen.unwrap_or_else(|| panic!("machine {machine} has no GPU for job {}", job.id))
    }
}

/// The `draw % count`-th device, in index order, of those with at least
/// `milli` free.
fn random_device(draw: u64, milli: u32, free: &[u32]) -> Option<GpuAlloc> {
    let fits = free.iter().filter(|&&f| f >= milli).count() as u64;
    if fits == 0 {
        return None;
    }
    let d = (0..free.len())
        .filter(|&d| free[d] >= milli)
        .nth((draw % fits) as usize)?;
    Some(GpuAlloc::Share {
        device: d as u16,
        milli,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_devices_are_among_those_that_fit() {
        // Free [1000, 100, 600]: a 500 share fits devices 0 and 2; draw 5
        // → 5 % 2 = 1 → the second of them, device 2.
        let a = random_device(5, 500, &[1000, 100, 600]);
        assert_eq!(
            a,
            Some(GpuAlloc::Share {
                device: 2,
                milli: 500
            })
        );
        assert_eq!(
            random_device(4, 500, &[1000, 100, 600])
                .map(|a| matches!(a, GpuAlloc::Share { device: 0, .. })),
            Some(true)
        );
        assert_eq!(random_device(4, 700, &[100, 600]), None);
    }
}
