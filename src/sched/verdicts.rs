//! Where the class caches keep their per-machine verdict slots.
//!
//! A change to machine `m` is replayed by every class cache, each reading
//! and writing its slot for `m`. Kept class-major (one array per class),
//! those slots are as many cache lines as there are classes, and at 10,000
//! machines and a dozen classes they no longer stay in the core's cache:
//! the slot load was the largest single stall of a churn run. Kept
//! machine-major, the slots of up to [`COLUMNS`] classes for one machine
//! share one 64-byte line: the first class to replay the change brings it
//! in, the others find it there.
//!
//! A class cache takes the lowest free column when it is built; when none
//! is free every row grows by a quarter (at least one line of 8 columns).
//! The scheduler's budget on cached verdicts counts the columns taken, so
//! the table is at most a quarter over it.
//!
//! A released column is not cleared: each column has a generation, stored
//! in every slot written (bits 32–55; a slot's change count has 32 bits
//! and its kind the top 8), and bumped at release. A slot of another
//! generation reads as "not examined", so dropping a cache costs nothing
//! and a new one starts clean. Fresh rows are zero, generation 0, which no
//! column has; a column is cleared for real only when its generation would
//! pass 2^24 − 1.

use crate::cell::MachineId;

/// Columns per line: 8-byte slots in a 64-byte line.
pub const COLUMNS: usize = 8;

/// A machine's verdict for one class, packed in 8 bytes (see
/// [`super::equiv`]); 0 is "not examined". Bits 32–55 must be 0: the
/// table keeps its generations there.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub struct Slot(pub u64);

const GEN_SHIFT: u32 = 32;
const GEN_MAX: u64 = (1 << 24) - 1;
const GEN_MASK: u64 = GEN_MAX << GEN_SHIFT;

/// The slots of every class cache: per machine a row of `stride` slots
/// (a whole number of 64-byte lines), column `c` at `c` in each row.
pub struct VerdictTable {
    machines: usize,
    /// Slots per machine row, a multiple of [`COLUMNS`].
    stride: usize,
    /// The rows, from `first` on: `first` skips to the first slot on a
    /// 64-byte boundary, so that a line's slots share a cache line.
    slots: Vec<Slot>,
    first: usize,
    /// Per column: taken by a cache.
    taken: Vec<bool>,
    /// Per column: its generation, 1 ..= `GEN_MAX`.
    gens: Vec<u64>,
}

impl VerdictTable {
    /// An empty table for a cell of `machines` machines; columns are made
    /// when first needed.
    pub fn new(machines: usize) -> Self {
        VerdictTable {
            machines,
            stride: 0,
            slots: Vec::new(),
            first: 0,
            taken: Vec::new(),
            gens: Vec::new(),
        }
    }

    /// The lowest free column, every slot of it "not examined". The rows
    /// grow by a quarter (at least a line) when every column is taken.
    pub fn acquire(&mut self) -> usize {
        let col = match self.taken.iter().position(|&t| !t) {
            Some(c) => c,
            None => {
                let c = self.taken.len();
                self.grow((self.stride / COLUMNS / 4).max(1) * COLUMNS);
                c
            }
        };
        self.taken[col] = true;
        col
    }

    /// Adds `more` columns (a multiple of [`COLUMNS`]) to every machine's
    /// row, copying the rows over.
    fn grow(&mut self, more: usize) {
        let stride = self.stride + more;
        // One line more than the rows need, for the alignment.
        let mut slots = vec![Slot(0); self.machines * stride + COLUMNS];
        let first = slots.as_ptr().align_offset(64).min(COLUMNS);
        if self.stride > 0 {
            let old = &self.slots[self.first..self.first + self.machines * self.stride];
            for (new, old) in slots[first..]
                .chunks_exact_mut(stride)
                .zip(old.chunks_exact(self.stride))
            {
                new[..self.stride].copy_from_slice(old);
            }
        }
        self.slots = slots;
        self.first = first;
        self.stride = stride;
        self.taken.resize(stride, false);
        self.gens.resize(stride, 1);
    }

    /// Gives column `c` back: its next generation makes every slot read
    /// "not examined".
    ///
    /// # Panics
    /// If `c` is not taken.
    pub fn release(&mut self, c: usize) {
        assert!(self.taken[c], "column {c} released twice");
        self.taken[c] = false;
        if self.gens[c] == GEN_MAX {
            // Generations start over: slots of any earlier one would match.
            for m in 0..self.machines {
                self.slots[self.first + m * self.stride + c] = Slot(0);
            }
            self.gens[c] = 1;
        } else {
            self.gens[c] += 1;
        }
    }

    /// The machines it has rows for.
    pub fn machines(&self) -> usize {
        self.machines
    }

    /// How many columns are taken.
    pub fn taken(&self) -> usize {
        self.taken.iter().filter(|&&t| t).count()
    }

    /// Columns the rows have room for.
    pub fn columns(&self) -> usize {
        self.stride
    }

    /// Column `c`, for a run of reads and writes.
    #[inline]
    pub fn column(&mut self, c: usize) -> ColumnMut<'_> {
        ColumnMut {
            gen: self.gens[c] << GEN_SHIFT,
            slots: &mut self.slots[self.first + c..],
            stride: self.stride,
        }
    }

    #[cfg(test)]
    fn get(&mut self, c: usize, m: MachineId) -> Slot {
        self.column(c).get(m)
    }

    #[cfg(test)]
    fn set(&mut self, c: usize, m: MachineId, s: Slot) {
        self.column(c).set(m, s);
    }
}

/// One column of a [`VerdictTable`], borrowed.
pub struct ColumnMut<'a> {
    /// The table's slots from this column's slot of machine 0 on.
    slots: &'a mut [Slot],
    stride: usize,
    /// The column's generation, in place (bits 32–55).
    gen: u64,
}

impl ColumnMut<'_> {
    /// Machine `m`'s slot, "not examined" if written in an earlier
    /// generation.
    #[inline]
    pub fn get(&self, m: MachineId) -> Slot {
        let raw = self.slots[m as usize * self.stride].0;
        if raw & GEN_MASK == self.gen {
            Slot(raw & !GEN_MASK)
        } else {
            Slot(0)
        }
    }

    /// Writes machine `m`'s slot in this generation.
    ///
    /// # Panics
    /// In debug builds, if `s` has bits in 32–55.
    #[inline]
    pub fn set(&mut self, m: MachineId, s: Slot) {
        debug_assert_eq!(s.0 & GEN_MASK, 0, "slot {s:?} uses the generation bits");
        self.slots[m as usize * self.stride] = Slot(s.0 | self.gen);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_machine_row_starts_a_cache_line() {
        let mut t = VerdictTable::new(3);
        for _ in 0..COLUMNS + 1 {
            t.acquire();
        }
        assert_eq!(t.columns() % COLUMNS, 0);
        for m in 0..3 {
            let row = &t.slots[t.first + m * t.stride] as *const Slot;
            assert_eq!(row.align_offset(64), 0, "machine {m}");
        }
    }

    #[test]
    fn columns_are_taken_lowest_first_and_reused_clear() {
        let mut t = VerdictTable::new(5);
        let cols: Vec<usize> = (0..COLUMNS + 2).map(|_| t.acquire()).collect();
        assert_eq!(cols, (0..COLUMNS + 2).collect::<Vec<_>>());
        assert_eq!(t.taken(), COLUMNS + 2);
        // Columns are apart: writing one leaves its neighbours alone.
        t.set(3, 4, Slot(7));
        t.set(4, 4, Slot(9));
        t.set(9, 4, Slot(11));
        assert_eq!(t.get(3, 4), Slot(7));
        assert_eq!(t.get(2, 4), Slot(0));
        assert_eq!(t.get(4, 4), Slot(9));
        assert_eq!(t.get(9, 3), Slot(0));
        // A column borrowed reads and writes the same slots.
        let mut c9 = t.column(9);
        assert_eq!(c9.get(4), Slot(11));
        c9.set(2, Slot(13));
        assert_eq!(t.get(9, 2), Slot(13));
        assert_eq!(t.get(8, 2), Slot(0));
        // Released (machine 4 examined), column 3 is the next one taken,
        // and comes back clear.
        t.release(3);
        assert_eq!(t.taken(), COLUMNS + 1);
        assert_eq!(t.acquire(), 3);
        assert_eq!(t.get(3, 4), Slot(0));
        assert_eq!(t.get(4, 4), Slot(9));
    }

    #[test]
    fn growing_keeps_every_slot() {
        // Fill 8 columns, write a pattern, then take 9 more: two growths.
        let mut t = VerdictTable::new(7);
        for _ in 0..COLUMNS {
            t.acquire();
        }
        let value = |c: usize, m: MachineId| Slot(1000 * c as u64 + u64::from(m) + 1);
        for c in 0..COLUMNS {
            for m in 0..7 {
                t.set(c, m, value(c, m));
            }
        }
        for _ in 0..9 {
            t.acquire();
        }
        assert!(t.columns() >= 17);
        for m in 0..7 {
            for c in 0..COLUMNS {
                assert_eq!(t.get(c, m), value(c, m), "column {c}, machine {m}");
            }
            for c in COLUMNS..t.columns() {
                assert_eq!(t.get(c, m), Slot(0), "new column {c}, machine {m}");
            }
        }
    }

    #[test]
    fn a_generation_hides_the_slots_of_the_last_and_wraps_by_clearing() {
        let mut t = VerdictTable::new(4);
        let c = t.acquire();
        t.set(c, 1, Slot(3 << 56 | 42));
        assert_eq!(t.get(c, 1), Slot(3 << 56 | 42));
        t.release(c);
        assert_eq!(t.acquire(), c);
        // Not cleared, but of the last generation: "not examined".
        assert_ne!(t.slots[t.first + t.stride + c], Slot(0));
        assert_eq!(t.get(c, 1), Slot(0));
        // At the last generation, a release clears the column for real and
        // starts over at 1.
        t.set(c, 2, Slot(5));
        t.gens[c] = GEN_MAX;
        t.set(c, 3, Slot(6));
        t.release(c);
        assert_eq!(t.gens[c], 1);
        assert!((0..4).all(|m| t.slots[t.first + m * t.stride + c] == Slot(0)));
    }

    #[test]
    #[should_panic(expected = "released twice")]
    fn a_column_released_twice_panics() {
        let mut t = VerdictTable::new(2);
        let c = t.acquire();
        t.release(c);
        t.release(c);
    }
}
