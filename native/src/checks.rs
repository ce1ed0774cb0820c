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
//! positions, whatever the merge order, so only "none" needs to be exact here.
use rustc_hash::{FxHashMap, FxHashSet};

use crate::digest::{Digest, FinalRead, ACKED, OFFSET_BITS};
use crate::ids::{is_harness, NONE};

const HOLE: u64 = u64::MAX;
const MASK: u64 = (1 << OFFSET_BITS) - 1;

/// position -> rid of a final read (dense per partition when its offsets are).
struct PosTable {
    parts: FxHashMap<u64, Part>,
}

enum Part {
    Dense { base: u64, rids: Vec<u64> },
    Sparse(Vec<(u64, u64)>),
}

impl PosTable {
    /// From (position, rid) sorted by position, one entry a position.
    fn new(at: &[(u64, u64)]) -> Self {
        let mut parts = FxHashMap::default();
        let mut i = 0;
        while i < at.len() {
            let p = at[i].0 >> OFFSET_BITS;
            let mut j = i;
            while j < at.len() && at[j].0 >> OFFSET_BITS == p {
                j += 1;
            }
            let (lo, hi) = (at[i].0 & MASK, at[j - 1].0 & MASK);
            let span = (hi - lo + 1) as usize;
            let part = if span <= 2 * (j - i) + 4096 {
                let mut rids = vec![HOLE; span];
                for &(q, rid) in &at[i..j] {
                    rids[((q & MASK) - lo) as usize] = rid;
                }
                Part::Dense { base: lo, rids }
            } else {
                Part::Sparse(at[i..j].iter().map(|&(q, r)| (q & MASK, r)).collect())
            };
            parts.insert(p, part);
            i = j;
        }
        PosTable { parts }
    }

    fn get(&self, q: u64) -> Option<u64> {
        let (p, o) = (q >> OFFSET_BITS, q & MASK);
        match self.parts.get(&p)? {
            Part::Dense { base, rids } => {
                let r = *rids.get(o.checked_sub(*base)? as usize)?;
                (r != HOLE).then_some(r)
            }
            Part::Sparse(v) => v.binary_search_by_key(&o, |e| e.0).ok().map(|k| v[k].1),
        }
    }
}

/// A final read digested: its positions, and harness id -> first position.
struct FinalIndex {
    at: PosTable,
    n_positions: u64,
    ids: FxHashMap<u64, u64>,
    /// an offset read twice with two rids, or an id at two positions
    anomalous: bool,
}

fn final_index(fr: &FinalRead) -> FinalIndex {
    let mut recs = fr.recs.clone();
    let mut ids: FxHashMap<u64, u64> = FxHashMap::default();
    let mut anomalous = false;
    for &(q, rid) in &recs {
        if is_harness(rid) && *ids.entry(rid).or_insert(q) != q {
            anomalous = true;
        }
    }
    recs.sort_by_key(|e| e.0);
    let mut at: Vec<(u64, u64)> = Vec::with_capacity(recs.len());
    for (q, rid) in recs {
        match at.last() {
            Some(&(lq, lr)) if lq == q => anomalous |= lr != rid,
            _ => at.push((q, rid)),
        }
    }
    FinalIndex { n_positions: at.len() as u64, at: PosTable::new(&at), ids, anomalous }
}

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

/// The positions of one topic merged (final read, then acks, then polls).
struct Merge<'a> {
    fr: Option<&'a FinalIndex>,
    extra: FxHashMap<u64, u64>,
    first: FxHashMap<u64, u64>,
    anomalous: bool,
}

impl Merge<'_> {
    fn observe(&mut self, q: u64, rid: u64) {
        let known = self.fr.and_then(|f| f.at.get(q)).or_else(|| self.extra.get(&q).copied());
        match known {
            Some(r) => self.anomalous |= r != rid,
            None => {
                self.extra.insert(q, rid);
                if is_harness(rid) {
                    let f = self.fr.and_then(|f| f.ids.get(&rid)).copied();
                    let f = f.unwrap_or_else(|| *self.first.entry(rid).or_insert(q));
                    self.anomalous |= f != q;
                }
            }
        }
    }
}

pub fn summarize(d: &Digest) -> Summary {
    let finals: FxHashMap<u32, FinalIndex> = d.finals.iter().map(|(&t, fr)| (t, final_index(fr))).collect();
    let mut s = Summary { topics: FxHashMap::default(), lost_exact: true, dup_exact: true };
    let mut acks: FxHashMap<u32, Vec<(u64, u64)>> = FxHashMap::default();
    for (&rid, w) in &d.writes {
        let c = s.topics.entry(w.topic).or_insert_with(counts);
        let in_final = finals.get(&w.topic).map(|f| f.ids.contains_key(&rid));
        if w.state == ACKED {
            c.acked += 1;
            c.lost += (in_final == Some(false)) as u64;
            if let Some(q) = w.position() {
                acks.entry(w.topic).or_default().push((q, rid));
            }
        } else {
            c.unacked += 1;
            c.recovered += (in_final == Some(true)) as u64;
        }
    }
    let mut topics: FxHashSet<u32> = finals.keys().copied().collect();
    topics.extend(d.polls.keys().copied());
    topics.extend(acks.keys().copied());
    for t in topics {
        let fr = finals.get(&t);
        let mut m = Merge { fr, extra: FxHashMap::default(), first: FxHashMap::default(), anomalous: false };
        m.anomalous = fr.map_or(false, |f| f.anomalous);
        if let Some(a) = acks.get(&t) {
            for &(q, rid) in a {
                m.observe(q, rid);
            }
        }
        let polled = d.polls.get(&t).map_or(&[][..], |p| &p.recs[..]);
        for &(q, rid) in polled {
            m.observe(q, rid);
        }
        let positions = fr.map_or(0, |f| f.n_positions) + m.extra.len() as u64;
        let anomalous = m.anomalous;
        let c = s.topics.entry(t).or_insert_with(counts);
        c.positions = positions;
        s.dup_exact &= !anomalous;
        if let (Some(f), false) = (fr, polled.is_empty()) {
            // unseen: final-read ids no poll returned (polls consistent: every polled rid)
            let seen: FxHashSet<u64> = polled.iter().map(|e| e.1).filter(|&r| r != NONE).collect();
            let unseen = f.ids.keys().filter(|r| !seen.contains(r)).count() as u64;
            c.unseen = Some(unseen);
            s.lost_exact &= unseen == 0 && !anomalous;
        }
    }
    for c in s.topics.values() {
        s.lost_exact &= c.lost == 0;
    }
    s
}
