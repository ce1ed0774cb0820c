//! The `lost` and `duplicate` checkers over the digest: their counts per topic.
//!
//! Contracts: `kfchaos/checkers/lost.py` and `kfchaos/checkers/duplicate.py` (the
//! reference).  The Python side builds the verdicts from these counts
//! (`kfchaos/checkers/native.py`).  A checker is `exact` when its verdict carries no
//! anomaly example: then the counts are all its verdict holds.  Otherwise (a lost,
//! unseen, duplicate or inconsistent-offset record) the Python checker runs instead,
//! and lists the examples.
//!
//! Record positions are merged as in Python: a position is one (partition, offset), its
//! first rid wins, a second rid there is an inconsistent offset, a harness id at a
//! second position a duplicate.  Merging the acks and polls into the final read finds
//! an anomaly exactly when some position holds two rids or some harness id two
//! positions, whatever the merge order, so only "none" needs to be exact here.  So each
//! topic is one walk over the union of its final read's positions and its observed ones
//! (acks, polls): a write's flags in its slot mark its id seen and in the final read.
use rustc_hash::{FxHashMap, FxHashSet};

use crate::digest::Digest;
use crate::ids::is_harness;
use crate::tables::{slot, PosTable, Slots};

pub struct TopicCounts {
    pub acked: u64,
    pub unacked: u64,
    pub lost: u64,
    pub recovered: u64,
    /// None: the topic has no polled record
    pub unseen: Option<u64>,
    pub positions: u64,
}

fn counts() -> TopicCounts {
    TopicCounts { acked: 0, unacked: 0, lost: 0, recovered: 0, unseen: None, positions: 0 }
}

pub struct Summary {
    pub topics: FxHashMap<u32, TopicCounts>,
    pub lost_exact: bool,
    pub dup_exact: bool,
}

/// One topic's walk: its distinct positions, final-read ids no poll returned, anomalies.
struct Walk<'a> {
    t: u32,
    slots: &'a mut Slots,
    polled_other: Option<&'a FxHashSet<u64>>,
    seen_other: FxHashSet<u64>,
    positions: u64,
    unseen: u64,
    anomalous: bool,
}

impl Walk<'_> {
    /// The position's rid in the final read (`f`) and observed (`o`), one of them set.
    fn visit(&mut self, f: Option<u64>, o: Option<u64>) {
        self.positions += 1;
        if let (Some(a), Some(b)) = (f, o) {
            self.anomalous |= a != b;
        }
        let rid = f.or(o).unwrap();
        if !is_harness(rid) {
            return;
        }
        let t = self.t;
        let (first, polled) = match self.slots.get_mut(rid).filter(|s| slot::topic(**s) == t) {
            Some(s) => {
                let first = *s & slot::MARK == 0;
                *s |= slot::MARK | if f.is_some() { slot::IN_FINAL } else { 0 };
                (first, *s & slot::POLLED != 0)
            }
            None => (self.seen_other.insert(rid), false),
        };
        self.anomalous |= !first;
        if f.is_some() && first && !polled && !self.polled_other.is_some_and(|p| p.contains(&rid)) {
            self.unseen += 1;
        }
    }
}

fn walk(w: &mut Walk, fr: Option<&PosTable>, ob: Option<&PosTable>) {
    if let Some(fr) = fr {
        fr.for_each(|q, f| w.visit(Some(f), ob.and_then(|o| o.get(q))));
    }
    if let Some(ob) = ob {
        ob.for_each(|q, o| {
            if fr.map_or(true, |f| f.get(q).is_none()) {
                w.visit(None, Some(o));
            }
        });
    }
}

pub fn summarize(d: &mut Digest) -> Summary {
    let mut s = Summary { topics: FxHashMap::default(), lost_exact: true, dup_exact: true };
    let mut topics: FxHashSet<u32> = d.finals.keys().copied().collect();
    topics.extend(d.polls.keys().copied());
    topics.extend(d.observed.keys().copied());
    for t in topics {
        let fr = d.finals.get(&t);
        let ob = d.observed.get(&t);
        let mut w = Walk {
            t,
            slots: &mut d.slots,
            polled_other: d.polled_other.get(&t),
            seen_other: FxHashSet::default(),
            positions: 0,
            unseen: 0,
            anomalous: fr.is_some_and(|f| f.at.conflict) || ob.is_some_and(|o| o.conflict),
        };
        walk(&mut w, fr.map(|f| &f.at), ob);
        // a final read with two ids at one position: Python's final read holds both ids
        // (its lost and recovered counts see the second), the table only the first
        s.lost_exact &= !fr.is_some_and(|f| f.at.conflict);
        let c = s.topics.entry(t).or_insert_with(counts);
        c.positions = w.positions;
        s.dup_exact &= !w.anomalous;
        let polled = d.polls.get(&t).map_or(0, |p| p.n_records);
        if fr.is_some() && polled > 0 {
            c.unseen = Some(w.unseen);
            s.lost_exact &= w.unseen == 0 && !w.anomalous;
        }
    }
    let finals = &d.finals;
    d.slots.for_each(|w| {
        let t = slot::topic(w);
        let c = s.topics.entry(t).or_insert_with(counts);
        let in_final = finals.contains_key(&t).then_some(w & slot::IN_FINAL != 0);
        if w & slot::STATE == slot::ACKED {
            c.acked += 1;
            c.lost += (in_final == Some(false)) as u64;
        } else {
            c.unacked += 1;
            c.recovered += (in_final == Some(true)) as u64;
        }
    });
    for c in s.topics.values() {
        s.lost_exact &= c.lost == 0;
    }
    s
}
