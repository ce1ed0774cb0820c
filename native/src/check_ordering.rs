//! The `ordering` checker over the digest: producer order and consumer order.
//!
//! Contract: `kfchaos/checkers/ordering.py` (the reference), with the digests it reads
//! (`writes.py`: `reorders`, `unsorted`; `consumers.py` and `groupstate.py`: the order
//! events).  Kept, per producer and key, not per record:
//!
//! * each send in flight: its invoke's process, key and seq (dropped at its completion);
//! * per (process, key) the last ack (topic, partition, seq, offset): an ack of the same
//!   topic and partition with a higher seq at an offset not above it is a reorder, one
//!   with a seq not above it makes the (process, topic, key) unsorted (acks out of seq
//!   order: Python sorts them; here the history is handed over);
//! * per consumer process, topic and partition the last offset polled (an `assign` or
//!   `revoke` ok forgets the partitions it lists, of its topic or, without one, of every
//!   topic), and every forward gap (topic, partition, first and last missing offset + 1),
//!   resolved at the end against the topic's authoritative final read.
//!
//! [`OrderSummary::exact`] is false when the verdict may hold an anomaly (a reorder, an
//! unsorted producer/key, a step back, a gap over offsets the final read holds): the
//! Python checker then runs and lists the examples.  A gap on a topic without a final
//! read is `unverified` or a `skip` depending on the option `transactional_topics`: the
//! Python side decides from the per-topic counts.
use rustc_hash::{FxHashMap, FxHashSet};

use crate::digest::{FinalRead, OFFSET_BITS};
use crate::tables::PosTable;

const NO_KEY: u32 = u32::MAX;
/// no partition or offset in the ack (`narrow`'s None)
const NO_POS: i64 = i64::MIN;

struct Pending {
    process: u32,
    key: u32,
    seq: i128,
}

struct Ack {
    topic: u32,
    partition: i64,
    seq: i128,
    offset: i64,
}

/// Which topics an `assign` or `revoke` resets: every one (no topic), one, or none (a
/// topic no op named before, so nothing tracked).
pub enum Reset {
    All,
    One(u32),
    Unknown,
}

#[derive(Default)]
pub struct Order {
    names: FxHashMap<Box<str>, u32>,
    inflight: FxHashMap<u64, Pending>,
    last_ack: FxHashMap<(u32, u32), Ack>,
    unsorted: FxHashSet<(u32, u32, u32)>,
    reorders: u64,
    /// process -> topic -> partition -> last offset polled
    tracked: FxHashMap<u32, FxHashMap<u32, FxHashMap<u32, u64>>>,
    back: u64,
    /// (topic, partition << OFFSET_BITS | first missing offset, next offset polled)
    gaps: Vec<(u32, u64, u64)>,
}

impl Order {
    /// A process or key name as a number (`None`: no key).
    fn name(&mut self, s: Option<&str>) -> u32 {
        let Some(s) = s else { return NO_KEY };
        if let Some(&i) = self.names.get(s) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.insert(s.into(), i);
        i
    }

    /// A send invoked by `process` (its write's id `rid`).
    pub fn invoke(&mut self, rid: u64, process: &str, key: Option<&str>, seq: i128) {
        let (process, key) = (self.name(Some(process)), self.name(key));
        self.inflight.insert(rid, Pending { process, key, seq });
    }

    /// A send completed; `ack`: acknowledged, with its topic, partition and offset.
    pub fn done(&mut self, rid: u64, ack: Option<(u32, i64, i64)>) {
        let Some(w) = self.inflight.remove(&rid) else { return };
        let Some((topic, partition, offset)) = ack else { return };
        let now = Ack { topic, partition, seq: w.seq, offset };
        let Some(prev) = self.last_ack.insert((w.process, w.key), now) else { return };
        if prev.partition != partition || prev.topic != topic {
            return;
        }
        if w.seq > prev.seq {
            if offset != NO_POS && prev.offset != NO_POS && offset <= prev.offset {
                self.reorders += 1;
            }
        } else {
            self.unsorted.insert((w.process, topic, w.key));
        }
    }

    /// The records (partition, offset) one poll of `process` returned, in order.
    pub fn polled(&mut self, process: &str, topic: u32, recs: impl Iterator<Item = (u32, u64)>) {
        let process = self.name(Some(process));
        let last = self.tracked.entry(process).or_default().entry(topic).or_default();
        for (p, o) in recs {
            if let Some(prev) = last.insert(p, o) {
                if o <= prev {
                    self.back += 1;
                } else if o > prev + 1 {
                    self.gaps.push((topic, (p as u64) << OFFSET_BITS | (prev + 1), o));
                }
            }
        }
    }

    /// An `assign` or `revoke` ok of `process`: forget the partitions it lists.
    pub fn rebalance(&mut self, process: &str, topics: Reset, parts: &[u32]) {
        let process = self.name(Some(process));
        let Some(by_topic) = self.tracked.get_mut(&process) else { return };
        for (t, last) in by_topic.iter_mut() {
            let hit = match topics {
                Reset::All => true,
                Reset::One(x) => x == *t,
                Reset::Unknown => false,
            };
            if hit {
                for p in parts {
                    last.remove(p);
                }
            }
        }
    }
}

/// What the `ordering` verdict needs: per topic the gaps the final read explains and
/// the gaps of topics without a final read.
pub struct OrderSummary {
    pub exact: bool,
    pub explained: FxHashMap<u32, u64>,
    pub unresolved: FxHashMap<u32, u64>,
}

/// True if partition `p` of `at` holds an offset in `[lo, hi)`.
pub fn holds_any(at: &PosTable, p: u64, lo: u64, hi: u64) -> bool {
    if hi - lo <= 4096 {
        return (lo..hi).any(|o| at.get(p << OFFSET_BITS | o).is_some());
    }
    let mut any = false;
    at.for_each_offset(p, |o| any |= lo <= o && o < hi);
    any
}

pub fn summarize(o: &Order, finals: &FxHashMap<u32, FinalRead>) -> OrderSummary {
    let mut s = OrderSummary {
        exact: o.reorders == 0 && o.unsorted.is_empty() && o.back == 0,
        explained: FxHashMap::default(),
        unresolved: FxHashMap::default(),
    };
    let mask = (1u64 << OFFSET_BITS) - 1;
    for &(t, q, hi) in &o.gaps {
        match finals.get(&t) {
            Some(fr) if holds_any(&fr.at, q >> OFFSET_BITS, q & mask, hi) => s.exact = false,
            Some(_) => *s.explained.entry(t).or_default() += 1,
            None => *s.unresolved.entry(t).or_default() += 1,
        }
    }
    s
}
