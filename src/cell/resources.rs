//! Integer resource vectors: CPU in milli-cores, memory in MiB, GPUs as devices.
//!
//! Placement never compares floats. A GPU request is either a number of whole
//! devices or a milli-share of one device (the Alibaba openb trace's
//! `gpu_milli`), so each GPU device is tracked separately on its machine.

use serde::Serialize;

/// One GPU device's capacity, in GPU milli-units.
pub const GPU_MILLI_PER_DEVICE: u32 = 1000;

/// The scalar dimensions: CPU and memory.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Resources {
    pub cpu_milli: u64,
    pub mem_mib: u64,
}

impl Resources {
    pub const ZERO: Resources = Resources {
        cpu_milli: 0,
        mem_mib: 0,
    };

    pub fn new(cpu_milli: u64, mem_mib: u64) -> Self {
        Resources { cpu_milli, mem_mib }
    }

    /// True if `self` fits inside `avail` in every dimension.
    pub fn fits_in(&self, avail: &Resources) -> bool {
        self.cpu_milli <= avail.cpu_milli && self.mem_mib <= avail.mem_mib
    }

    pub fn checked_sub(&self, other: &Resources) -> Option<Resources> {
        Some(Resources {
            cpu_milli: self.cpu_milli.checked_sub(other.cpu_milli)?,
            mem_mib: self.mem_mib.checked_sub(other.mem_mib)?,
        })
    }

    pub fn saturating_sub(&self, other: &Resources) -> Resources {
        Resources {
            cpu_milli: self.cpu_milli.saturating_sub(other.cpu_milli),
            mem_mib: self.mem_mib.saturating_sub(other.mem_mib),
        }
    }

    pub fn add(&self, other: &Resources) -> Resources {
        Resources {
            cpu_milli: self.cpu_milli + other.cpu_milli,
            mem_mib: self.mem_mib + other.mem_mib,
        }
    }
}

/// What a task asks of GPUs.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum GpuRequest {
    #[default]
    None,
    /// This many whole, otherwise unused devices.
    Whole(u32),
    /// A share of a single device, in milli (1..1000).
    Share(u32),
}

impl GpuRequest {
    /// Total GPU milli-units asked for.
    pub fn milli(&self) -> u64 {
        match *self {
            GpuRequest::None => 0,
            GpuRequest::Whole(n) => u64::from(n) * u64::from(GPU_MILLI_PER_DEVICE),
            GpuRequest::Share(m) => u64::from(m),
        }
    }

    /// True if a machine whose devices have these free milli-units can host it.
    pub fn fits_devices(&self, free_milli: &[u32]) -> bool {
        match *self {
            GpuRequest::None => true,
            GpuRequest::Whole(n) => {
                let idle = free_milli
                    .iter()
                    .filter(|&&f| f == GPU_MILLI_PER_DEVICE)
                    .count();
                idle >= n as usize
            }
            GpuRequest::Share(m) => free_milli.iter().any(|&f| f >= m),
        }
    }

    /// Chooses devices on a machine: whole devices lowest index first; a share
    /// goes to the fullest device that still fits it (best fit), to keep idle
    /// devices whole for whole-device tasks. `None` if it does not fit.
    pub fn choose_devices(&self, free_milli: &[u32]) -> Option<GpuAlloc> {
        match *self {
            GpuRequest::None => Some(GpuAlloc::None),
            GpuRequest::Whole(n) => {
                let mut mask = 0u64;
                let idle = (0..free_milli.len().min(MAX_GPUS_PER_MACHINE))
                    .filter(|&d| free_milli[d] == GPU_MILLI_PER_DEVICE)
                    .take(n as usize);
                let mut taken = 0;
                for d in idle {
                    mask |= 1 << d;
                    taken += 1;
                }
                (taken == n).then_some(GpuAlloc::Whole(mask))
            }
            GpuRequest::Share(m) => (0..free_milli.len())
                .filter(|&d| free_milli[d] >= m)
                .min_by_key(|&d| (free_milli[d], d))
                .map(|d| GpuAlloc::Share {
                    device: d as u16,
                    milli: m,
                }),
        }
    }
}

/// The most of any one resource a machine may offer or a task may ask for:
/// 2^40 milli-cores (about 1.1 billion cores) or MiB (1 EiB). Trace values
/// beyond it (a unit rule misapplied, a corrupt row) are refused at the
/// reader rather than saturated, and sums over millions of machines stay
/// far from overflowing.
pub const MAX_RESOURCE: u64 = 1 << 40;

/// The most GPU devices a machine may have: whole-device allocations are a
/// 64-bit mask, so a task record stays small.
pub const MAX_GPUS_PER_MACHINE: usize = 64;

/// The device indices of a mask, lowest first.
fn devices(mask: u64) -> impl Iterator<Item = usize> {
    (0..64).filter(move |d| mask & (1 << d) != 0)
}

/// The GPU devices a running task holds.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum GpuAlloc {
    #[default]
    None,
    /// Whole devices: bit `d` set = device `d`.
    Whole(u64),
    Share {
        device: u16,
        milli: u32,
    },
}

impl GpuAlloc {
    /// Gives this allocation's devices back to the free counts.
    pub fn release_into(&self, free_milli: &mut [u32]) {
        match self {
            GpuAlloc::None => {}
            GpuAlloc::Whole(mask) => {
                for d in devices(*mask) {
                    free_milli[d] += GPU_MILLI_PER_DEVICE;
                }
            }
            GpuAlloc::Share { device, milli } => free_milli[*device as usize] += milli,
        }
    }

    /// True if this allocation serves `req` on devices with these free
    /// milli-units: as many whole devices as asked, each idle; a share of
    /// the asked size on a device that has room; nothing for no request.
    pub fn matches(&self, req: GpuRequest, free_milli: &[u32]) -> bool {
        match (*self, req) {
            (GpuAlloc::None, GpuRequest::None) => true,
            (GpuAlloc::Whole(mask), GpuRequest::Whole(n)) => {
                mask.count_ones() == n
                    && devices(mask).all(|d| free_milli.get(d) == Some(&GPU_MILLI_PER_DEVICE))
            }
            (GpuAlloc::Share { device, milli }, GpuRequest::Share(m)) => {
                milli == m && free_milli.get(device as usize).is_some_and(|&f| f >= m)
            }
            _ => false,
        }
    }

    /// Takes this allocation's devices out of the free counts.
    pub fn take_from(&self, free_milli: &mut [u32]) {
        match self {
            GpuAlloc::None => {}
            GpuAlloc::Whole(mask) => {
                for d in devices(*mask) {
                    free_milli[d] -= GPU_MILLI_PER_DEVICE;
                }
            }
            GpuAlloc::Share { device, milli } => free_milli[*device as usize] -= milli,
        }
    }
}

/// A task's full request.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Request {
    pub res: Resources,
    pub gpu: GpuRequest,
}

/// A machine's capacity.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Capacity {
    pub res: Resources,
    pub gpus: u32,
}

impl Capacity {
    /// True if an empty machine of this capacity could host `req`.
    pub fn could_ever_host(&self, req: &Request) -> bool {
        req.res.fits_in(&self.res) && self.could_ever_host_gpu(req.gpu)
    }

    /// True if this machine's devices, all idle, could host `gpu`: as
    /// [`GpuRequest::fits_devices`] on `gpus` idle devices, without building them.
    pub fn could_ever_host_gpu(&self, gpu: GpuRequest) -> bool {
        match gpu {
            GpuRequest::None => true,
            GpuRequest::Whole(n) => n <= self.gpus,
            GpuRequest::Share(m) => self.gpus > 0 && m <= GPU_MILLI_PER_DEVICE,
        }
    }

    pub fn gpu_milli(&self) -> u64 {
        u64::from(self.gpus) * u64::from(GPU_MILLI_PER_DEVICE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_gpus_need_idle_devices() {
        // Devices: idle, half used, idle. Two whole devices fit (0 and 2), three do not.
        let free = [1000, 500, 1000];
        assert!(GpuRequest::Whole(2).fits_devices(&free));
        assert!(!GpuRequest::Whole(3).fits_devices(&free));
        assert_eq!(
            GpuRequest::Whole(2).choose_devices(&free),
            Some(GpuAlloc::Whole(0b101)) // devices 0 and 2
        );
    }

    #[test]
    fn shares_go_to_the_fullest_device_that_fits() {
        // A 300-milli share fits devices 0 (1000 free), 1 (500) and 2 (300):
        // best fit picks device 2, leaving device 0 idle for whole-GPU tasks.
        let free = [1000, 500, 300, 200];
        let a = GpuRequest::Share(300).choose_devices(&free).unwrap();
        assert_eq!(
            a,
            GpuAlloc::Share {
                device: 2,
                milli: 300
            }
        );
        let mut f = free;
        a.take_from(&mut f);
        assert_eq!(f, [1000, 500, 0, 200]);
        a.release_into(&mut f);
        assert_eq!(f, free);
        assert!(GpuRequest::Share(600).choose_devices(&[500, 500]).is_none());
    }

    #[test]
    fn capacity_check_covers_every_dimension() {
        let cap = Capacity {
            res: Resources::new(4000, 8192),
            gpus: 2,
        };
        let small = Request {
            res: Resources::new(4000, 8192),
            gpu: GpuRequest::Whole(2),
        };
        assert!(cap.could_ever_host(&small));
        let too_many_gpus = Request {
            gpu: GpuRequest::Whole(3),
            ..small
        };
        assert!(!cap.could_ever_host(&too_many_gpus));
        // The arithmetic agrees with asking idle devices one by one.
        for gpus in 0..4 {
            let cap = Capacity { gpus, ..cap };
            let idle = vec![GPU_MILLI_PER_DEVICE; gpus as usize];
            for gpu in [
                GpuRequest::None,
                GpuRequest::Whole(2),
                GpuRequest::Share(1),
                GpuRequest::Share(1000),
            ] {
                assert_eq!(cap.could_ever_host_gpu(gpu), gpu.fits_devices(&idle));
            }
        }
        let too_much_mem = Request {
            res: Resources::new(1, 8193),
            gpu: GpuRequest::None,
        };
        assert!(!cap.could_ever_host(&too_much_mem));
    }
}
