//! Compact tables the digest keeps: dense arrays where keys are dense, hash maps otherwise.
//!
//! * [`Dense`]: `u64 index -> T`, in lazily allocated chunks of [`CHUNK`] entries from a
//!   base index; an index below the base or far beyond the allocated range is refused
//!   (`None`), and the caller keeps that key in a hash map instead;
//! * [`PosTable`]: a topic's record positions (partition, offset) -> rid, one dense
//!   array per partition indexed by offset (8 bytes a position), sparse offsets in a map;
//! * [`Slots`]: each write's state, one `u32` per write ([`slot`]), dense per producer
//!   for ids `<prefix>-<n>` (indexed by `n`), in a map for any other id.
//!
//! The tables hold exactly what a map would; only their size depends on the layout.
use rustc_hash::FxHashMap;

use crate::digest::OFFSET_BITS;

const CHUNK_BITS: u32 = 12;
pub const CHUNK: usize = 1 << CHUNK_BITS;
const MASK: u64 = (1 << OFFSET_BITS) - 1;
/// no rid at this position (a rid is never `u64::MAX`: that is `ids::UNSUPPORTED`)
pub const HOLE: u64 = u64::MAX;

/// `index -> T` in chunks; `empty` marks an unset entry.
pub struct Dense<T: Copy + PartialEq> {
    base: Option<u64>,
    chunks: Vec<Option<Box<[T]>>>,
    empty: T,
}

impl<T: Copy + PartialEq> Dense<T> {
    pub fn new(empty: T) -> Self {
        Dense { base: None, chunks: Vec::new(), empty }
    }

    /// The entry at `i` for writing (allocated), or `None`: `i` is not dense here.
    pub fn slot(&mut self, i: u64) -> Option<&mut T> {
        let base = *self.base.get_or_insert(i >> CHUNK_BITS << CHUNK_BITS);
        let k = (i.checked_sub(base)? >> CHUNK_BITS) as usize;
        if k >= self.chunks.len() {
            if k > 2 * self.chunks.len() + 16 {
                return None;
            }
            self.chunks.resize_with(k + 1, || None);
        }
        let empty = self.empty;
        let chunk = self.chunks[k].get_or_insert_with(|| vec![empty; CHUNK].into_boxed_slice());
        Some(&mut chunk[(i - base) as usize & (CHUNK - 1)])
    }

    /// The entry at `i` (`None`: unset or not dense here).
    pub fn get(&self, i: u64) -> Option<T> {
        let k = (i.checked_sub(self.base?)? >> CHUNK_BITS) as usize;
        let v = self.chunks.get(k)?.as_ref()?[i as usize & (CHUNK - 1)];
        (v != self.empty).then_some(v)
    }

    /// Every set entry, in index order.
    pub fn for_each(&self, mut f: impl FnMut(u64, T)) {
        let Some(base) = self.base else { return };
        for (k, c) in self.chunks.iter().enumerate() {
            let Some(c) = c else { continue };
            let at = base + ((k as u64) << CHUNK_BITS);
            for (j, &v) in c.iter().enumerate() {
                if v != self.empty {
                    f(at + j as u64, v);
                }
            }
        }
    }
}

/// One partition's offsets -> rid.
struct Part {
    dense: Dense<u64>,
    sparse: FxHashMap<u64, u64>,
}

/// A topic's positions -> rid (the first rid at a position stays).
#[derive(Default)]
pub struct PosTable {
    parts: FxHashMap<u64, Part>,
    /// some position was given two rids
    pub conflict: bool,
}

impl PosTable {
    /// Record `rid` at position `q` (packed partition << 40 | offset).
    pub fn put(&mut self, q: u64, rid: u64) {
        let (p, o) = (q >> OFFSET_BITS, q & MASK);
        let part = self.parts.entry(p).or_insert_with(|| Part { dense: Dense::new(HOLE), sparse: FxHashMap::default() });
        let at = match part.dense.slot(o) {
            Some(s) => s,
            None => part.sparse.entry(o).or_insert(HOLE),
        };
        if *at == HOLE {
            *at = rid;
        } else if *at != rid {
            self.conflict = true;
        }
    }

    pub fn get(&self, q: u64) -> Option<u64> {
        let part = self.parts.get(&(q >> OFFSET_BITS))?;
        let o = q & MASK;
        part.dense.get(o).or_else(|| part.sparse.get(&o).copied())
    }

    /// The partitions holding some position.
    pub fn partitions(&self) -> impl Iterator<Item = u64> + '_ {
        self.parts.keys().copied()
    }

    /// Every offset of partition `p` holding a rid, in increasing order.
    pub fn for_each_offset(&self, p: u64, mut f: impl FnMut(u64)) {
        let Some(part) = self.parts.get(&p) else { return };
        let mut sparse: Vec<u64> = part.sparse.keys().copied().collect();
        sparse.sort_unstable();
        let mut rest = sparse.into_iter().peekable();
        part.dense.for_each(|o, _| {
            while let Some(s) = rest.next_if(|&s| s < o) {
                f(s);
            }
            f(o);
        });
        rest.for_each(f);
    }

    /// Every (position, rid), each position once.
    pub fn for_each(&self, mut f: impl FnMut(u64, u64)) {
        for (&p, part) in &self.parts {
            part.dense.for_each(|o, rid| f((p << OFFSET_BITS) | o, rid));
            for (&o, &rid) in &part.sparse {
                f((p << OFFSET_BITS) | o, rid);
            }
        }
    }
}

/// A write's slot: state, topic and the flags the checks set (0: no write).
pub mod slot {
    pub const STATE: u32 = 0b11;
    pub const INFLIGHT: u32 = 1;
    pub const ACKED: u32 = 2;
    pub const UNACKED: u32 = 3;
    /// polled on its own topic
    pub const POLLED: u32 = 1 << 2;
    /// in the authoritative final read of its topic (set by the checks)
    pub const IN_FINAL: u32 = 1 << 3;
    /// seen at a position of its topic (set by the checks)
    pub const MARK: u32 = 1 << 4;
    pub const TOPIC_SHIFT: u32 = 5;
    pub const MAX_TOPICS: u32 = 1 << (32 - TOPIC_SHIFT);

    pub fn topic(s: u32) -> u32 {
        s >> TOPIC_SHIFT
    }
}

const TAG_SHIFT: u32 = 60;
const SPLIT_BITS: u32 = 40;

/// Write slots by rid: dense per `<prefix>-<n>` prefix, a map for other ids.
#[derive(Default)]
pub struct Slots {
    dense: Vec<Dense<u32>>,
    other: FxHashMap<u64, u32>,
}

impl Slots {
    /// The slot of `rid`, created empty (0) if new.
    pub fn entry(&mut self, rid: u64) -> &mut u32 {
        // a key refused by its dense array once stays in the map
        if rid >> TAG_SHIFT == 1 && !self.other.contains_key(&rid) {
            let prefix = ((rid & ((1 << TAG_SHIFT) - 1)) >> SPLIT_BITS) as usize;
            let n = rid & ((1 << SPLIT_BITS) - 1);
            if prefix >= self.dense.len() {
                self.dense.resize_with(prefix + 1, || Dense::new(0));
            }
            // a fresh borrow per branch: the dense slot or, if refused, the map's
            if self.dense[prefix].slot(n).is_some() {
                return self.dense[prefix].slot(n).unwrap();
            }
        }
        self.other.entry(rid).or_insert(0)
    }

    /// The slot of `rid` if it has a write.
    pub fn get_mut(&mut self, rid: u64) -> Option<&mut u32> {
        if rid >> TAG_SHIFT == 1 {
            let prefix = ((rid & ((1 << TAG_SHIFT) - 1)) >> SPLIT_BITS) as usize;
            let n = rid & ((1 << SPLIT_BITS) - 1);
            if let Some(d) = self.dense.get(prefix) {
                if d.get(n).is_some() {
                    return self.dense[prefix].slot(n);
                }
            }
        }
        self.other.get_mut(&rid).filter(|s| **s != 0)
    }

    /// Every write's slot.
    pub fn for_each(&self, mut f: impl FnMut(u32)) {
        for d in &self.dense {
            d.for_each(|_, s| f(s));
        }
        for &s in self.other.values() {
            if s != 0 {
                f(s);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_refuses_far_and_low_indexes() {
        let mut d = Dense::new(0u32);
        *d.slot(5000).unwrap() = 7;
        assert_eq!(d.get(5000), Some(7));
        assert_eq!(d.get(5001), None);
        assert!(d.slot(100).is_none(), "below the base");
        assert!(d.slot(1 << 30).is_none(), "far beyond the allocated range");
        let mut seen = vec![];
        d.for_each(|i, v| seen.push((i, v)));
        assert_eq!(seen, vec![(5000, 7)]);
    }

    #[test]
    fn positions_keep_the_first_rid_and_flag_a_second() {
        let mut t = PosTable::default();
        let q = |p: u64, o: u64| (p << OFFSET_BITS) | o;
        t.put(q(1, 3), 10);
        t.put(q(1, 3), 10);
        t.put(q(1, 1 << 35), 11); // sparse
        assert!(!t.conflict);
        assert_eq!((t.get(q(1, 3)), t.get(q(1, 1 << 35)), t.get(q(2, 3))), (Some(10), Some(11), None));
        t.put(q(1, 3), 12);
        assert!(t.conflict && t.get(q(1, 3)) == Some(10));
        let mut n = 0;
        t.for_each(|_, _| n += 1);
        assert_eq!(n, 2);
    }

    #[test]
    fn offsets_of_a_partition_come_in_order_dense_and_sparse_merged() {
        let mut t = PosTable::default();
        let q = |p: u64, o: u64| (p << OFFSET_BITS) | o;
        for o in [9000, 5, 1 << 33, 9001, 8999, 1 << 34] {
            t.put(q(2, o), o); // 9000 sets the dense base: 5 and the far ones are sparse
        }
        t.put(q(3, 1), 1);
        let mut seen = vec![];
        t.for_each_offset(2, |o| seen.push(o));
        assert_eq!(seen, vec![5, 8999, 9000, 9001, 1 << 33, 1 << 34]);
        let mut ps: Vec<u64> = t.partitions().collect();
        ps.sort();
        assert_eq!(ps, vec![2, 3]);
    }

    #[test]
    fn a_slot_kept_in_the_map_stays_there() {
        let rid = |n: u64| (1u64 << TAG_SHIFT) | n;
        let mut s = Slots::default();
        *s.entry(rid(0)) = 1;
        *s.entry(rid(1 << 17)) = 2; // far for now: in the map
        for n in (1..(1 << 20)).filter(|&n| n != 1 << 17) {
            *s.entry(rid(n)) = 3; // the dense range grows
        }
        assert_eq!(*s.entry(rid(1 << 17)), 2); // now within the dense range: still the map's
        assert_eq!(s.get_mut(rid(1 << 17)).copied(), Some(2));
        assert_eq!(s.get_mut(rid(1 << 21)), None);
        let mut n = 0;
        s.for_each(|_| n += 1);
        assert_eq!(n, 1 << 20);
    }
}
