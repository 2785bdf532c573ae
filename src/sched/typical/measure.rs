//! The fragmentation of a machine against typical pods, arranged to be
//! measured quickly: `fgd` measures every machine it scores before and
//! after each feasible placement, so the measure is its hot path.
//!
//! Typical pod t leaves all of the free GPU milli L as fragment unless it
//! could run on the machine (its constraints admit it, its GPUs fit, its
//! CPU fits), when it leaves only the devices too small for it: L minus
//! the milli of the devices with at least t's per-GPU milli free. So
//!
//! `F × total = total · L − Σ_{t runnable} count_t · sum_ge(milli_t)`.
//!
//! Whether t's GPUs fit and `sum_ge` depend only on (constraints, milli,
//! GPU count); its CPU request decides only whether it counts. So the
//! GPU typical pods are grouped by constraints (checked once per group),
//! then by (milli, count) with their CPU requests ascending and the counts
//! summed up to each: the pods whose CPU fits are a prefix, found by a
//! binary search. CPU pods never run on GPUs and only add to `total`.
//! Integers throughout, so the figure is exactly the one summed pod by pod.

use super::{milli_and_count, TypicalPod};
use crate::cell::attrs::{Attributes, Constraint};
use crate::cell::resources::{GpuRequest, MAX_GPUS_PER_MACHINE};

/// Typical pods grouped for [`FragMeasure::fragmentation`].
#[derive(Clone, Debug, Default)]
pub struct FragMeasure {
    /// Σ count over all typical pods, CPU pods included.
    total: u64,
    groups: Vec<AccessGroup>,
}

/// GPU typical pods with the same constraints.
#[derive(Clone, Debug)]
struct AccessGroup {
    constraints: Vec<Constraint>,
    /// By milli, then GPU count, descending.
    shapes: Vec<Shape>,
}

/// GPU typical pods with the same constraints, per-GPU milli and count.
#[derive(Clone, Debug)]
struct Shape {
    milli: u32,
    num: u32,
    /// Their CPU requests (milli-cores), ascending, distinct.
    cpu_milli: Vec<u64>,
    /// `counts_upto[i]`: Σ count of the pods asking at most `cpu_milli[i]`.
    counts_upto: Vec<u64>,
}

impl FragMeasure {
    /// The measure of `pods` (each weighing its count).
    pub fn new(pods: &[TypicalPod]) -> Self {
        let mut m = FragMeasure::default();
        for t in pods {
            m.total += t.count;
            if t.gpu != GpuRequest::None {
                m.add(t);
            }
        }
        for g in &mut m.groups {
            g.shapes
                .sort_by_key(|s| std::cmp::Reverse((s.milli, s.num)));
        }
        for s in m.groups.iter_mut().flat_map(|g| g.shapes.iter_mut()) {
            let mut acc = 0;
            for c in &mut s.counts_upto {
                acc += *c;
                *c = acc;
            }
        }
        m
    }

    /// Adds a GPU pod; `counts_upto` holds each CPU request's own count
    /// until [`FragMeasure::new`] sums them up.
    fn add(&mut self, t: &TypicalPod) {
        let g = match self
            .groups
            .iter()
            .position(|g| g.constraints == t.constraints)
        {
            Some(i) => &mut self.groups[i],
            None => {
                self.groups.push(AccessGroup {
                    constraints: t.constraints.clone(),
                    shapes: Vec::new(),
                });
                self.groups.last_mut().expect("just pushed")
            }
        };
        let (milli, num) = milli_and_count(t.gpu);
        let s = match g
            .shapes
            .iter()
            .position(|s| (s.milli, s.num) == (milli, num))
        {
            Some(i) => &mut g.shapes[i],
            None => {
                g.shapes.push(Shape {
                    milli,
                    num,
                    cpu_milli: Vec::new(),
                    counts_upto: Vec::new(),
                });
                g.shapes.last_mut().expect("just pushed")
            }
        };
        match s.cpu_milli.binary_search(&t.cpu_milli) {
            Ok(i) => s.counts_upto[i] += t.count,
            Err(i) => {
                s.cpu_milli.insert(i, t.cpu_milli);
                s.counts_upto.insert(i, t.count);
            }
        }
    }

    /// F × total of a machine with `attrs`, `cpu_left` milli-cores free
    /// and devices with `gpu_free` milli free (at most
    /// `MAX_GPUS_PER_MACHINE` of them).
    ///
    /// The devices are sorted by free milli, descending, with prefix sums:
    /// the devices that fit a shape are a prefix, and walking each group's
    /// shapes by milli descending only lengthens it.
    pub fn fragmentation(&self, attrs: &Attributes, cpu_left: u64, gpu_free: &[u32]) -> u64 {
        let n = gpu_free.len();
        let mut desc = [0u32; MAX_GPUS_PER_MACHINE];
        desc[..n].copy_from_slice(gpu_free);
        desc[..n].sort_unstable_by(|a, b| b.cmp(a));
        let mut prefix = [0u64; MAX_GPUS_PER_MACHINE + 1];
        for i in 0..n {
            prefix[i + 1] = prefix[i] + u64::from(desc[i]);
        }
        let mut usable = 0;
        for g in &self.groups {
            if !g.constraints.iter().all(|c| c.admits(attrs)) {
                continue;
            }
            let mut k = 0; // devices with at least the shape's milli free
            for s in &g.shapes {
                while k < n && desc[k] >= s.milli {
                    k += 1;
                }
                if k < s.num as usize {
                    continue;
                }
                usable += s.count_fitting(cpu_left) * prefix[k];
            }
        }
        self.total * prefix[n] - usable
    }
}

impl Shape {
    /// Σ count of the shape's pods asking at most `cpu_left`.
    fn count_fitting(&self, cpu_left: u64) -> u64 {
        let last = self.cpu_milli.len() - 1;
        if cpu_left >= self.cpu_milli[last] {
            return self.counts_upto[last];
        }
        match self.cpu_milli.partition_point(|&c| c <= cpu_left) {
            0 => 0,
            fit => self.counts_upto[fit - 1],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::attrs::{AttrTable, ConstraintOp};

    /// The measure as the module doc of `typical` states it, pod by pod:
    /// what each typical pod could not use, times its count.
    fn reference(pods: &[TypicalPod], attrs: &Attributes, cpu_left: u64, free: &[u32]) -> u64 {
        let idle: u64 = free.iter().map(|&f| u64::from(f)).sum();
        let mut f = 0;
        for t in pods {
            let admitted = t.constraints.iter().all(|c| c.admits(attrs));
            let frag = if t.gpu == GpuRequest::None
                || !admitted
                || !t.gpu.fits_devices(free)
                || cpu_left < t.cpu_milli
            {
                idle
            } else {
                let (milli, _) = milli_and_count(t.gpu);
                free.iter()
                    .filter(|&&d| d < milli)
                    .map(|&d| u64::from(d))
                    .sum()
            };
            f += t.count * frag;
        }
        f
    }

    /// xorshift64: the test's own draws.
    fn next(s: &mut u64) -> u64 {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        *s
    }

    #[test]
    fn equals_the_pod_by_pod_sum_on_drawn_states() {
        let mut table = AttrTable::default();
        let model = table.name_id("model");
        let (a, b) = (table.value_id("A"), table.value_id("B"));
        let only_a = vec![Constraint {
            name: model,
            op: ConstraintOp::Eq,
            value: a,
        }];
        let gpus = [
            GpuRequest::None,
            GpuRequest::Share(250),
            GpuRequest::Share(500),
            GpuRequest::Share(810),
            GpuRequest::Whole(1),
            GpuRequest::Whole(2),
            GpuRequest::Whole(8),
        ];
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        // 40 pods over 7 GPU shapes × 2 constraint sets × 6 CPU sizes:
        // shapes and CPU sizes repeat, so groups merge.
        let pods: Vec<TypicalPod> = (0..40)
            .map(|i| TypicalPod {
                cpu_milli: 2000 * (next(&mut s) % 6),
                gpu: gpus[i % gpus.len()],
                constraints: if i % 3 == 0 && i % 7 != 0 {
                    only_a.clone()
                } else {
                    Vec::new()
                },
                count: 1 + next(&mut s) % 50,
            })
            .collect();
        let m = FragMeasure::new(&pods);
        for round in 0..2000 {
            let attrs = Attributes::new(vec![(model, if round % 2 == 0 { a } else { b })]);
            let devices = (next(&mut s) % 9) as usize;
            let free: Vec<u32> = (0..devices)
                .map(|_| match next(&mut s) % 4 {
                    0 => 1000,
                    1 => 0,
                    _ => (next(&mut s) % 1001) as u32,
                })
                .collect();
            let cpu = next(&mut s) % 12_000;
            assert_eq!(
                m.fragmentation(&attrs, cpu, &free),
                reference(&pods, &attrs, cpu, &free),
                "cpu {cpu}, devices {free:?}"
            );
        }
    }
}
