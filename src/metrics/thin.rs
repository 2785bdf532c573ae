//! A bounded, evenly thinned copy of a sequence of unknown length: every
//! item while there are at most `cap`, then every 2nd, 4th, … (the copy is
//! halved each time it overflows), always with the first and the last.
//! What the run report's readers use for series they read back from disk
//! (`gpu_alloc.csv`, another run's `timeseries.csv`), so that drawing a
//! file of 10⁹ rows costs what `cap` rows do.

/// See the module doc.
#[derive(Clone, Debug)]
pub struct Thinned<T> {
    kept: Vec<T>,
    /// Every `stride`-th item, from the first, is kept.
    stride: u64,
    seen: u64,
    /// The newest item, when it is not among the kept ones.
    last: Option<T>,
    cap: usize,
}

impl<T> Thinned<T> {
    pub fn new(cap: usize) -> Self {
        Thinned {
            kept: Vec::new(),
            stride: 1,
            seen: 0,
            last: None,
            cap: cap.max(2),
        }
    }

    pub fn push(&mut self, x: T) {
        if self.seen.is_multiple_of(self.stride) {
            self.kept.push(x);
            self.last = None;
            if self.kept.len() > self.cap {
                let mut i = 0;
                self.kept.retain(|_| {
                    i += 1;
                    i % 2 == 1
                });
                self.stride *= 2;
            }
        } else {
            self.last = Some(x);
        }
        self.seen += 1;
    }

    /// Items pushed so far.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// The kept items, in order, the last pushed included.
    pub fn into_vec(self) -> Vec<T> {
        let mut v = self.kept;
        v.extend(self.last);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_an_even_bounded_copy_with_the_ends() {
        // 10 items, cap 4: kept 0,1,2,3,4 overflows → 0,2,4 (stride 2);
        // then 6, 8 → 0,2,4,6,8 overflows → 0,4,8 (stride 4); 9 is last.
        let mut t = Thinned::new(4);
        for i in 0..10 {
            t.push(i);
        }
        assert_eq!(t.seen(), 10);
        assert_eq!(t.into_vec(), vec![0, 4, 8, 9]);
        let mut few = Thinned::new(4);
        few.push(1);
        few.push(2);
        assert_eq!(few.into_vec(), vec![1, 2]);
    }
}
