//! The `group` checker over the digest: consumer-group continuity.
//!
//! Contract: `kfchaos/checkers/group.py` (the reference), with the state it reads
//! (`groupstate.py`, fed by `consumers.py`).  Kept per (group, topic, partition), not per
//! record: the last commit ok, the largest commit of unknown outcome and the last offset
//! a member polled; per (process, group) the commit in flight; per (process, topic,
//! partition) an assign not yet followed by a poll, with its position; per process its
//! group and topic as the last `assign` or `revoke` ok named them.
//!
//! Each first poll of a partition after its assign is reduced at once to the verdict's
//! counts (re-delivery, below-commit, uncommitted starts); a start beyond the committed
//! bound is kept (topic, partition, bound, first) and resolved at the end against the
//! topic's authoritative final read, as `HistoryIndex.gap_explained` does; so is an
//! uncommitted start above offset 0 (its bound, with `auto_offset_reset="earliest"`, is
//! the final read's start offset).  [`GroupSummary::exact`] is false when the verdict
//! holds an anomaly whatever the options (a skipped range the final read holds, a
//! commit beyond the log end): the Python checker then runs and lists the examples.
//! What depends on options (`max_redelivery`, `auto_offset_reset`,
//! `transactional_topics`) the Python side decides from the counts.
use rustc_hash::FxHashMap;

use crate::check_ordering::holds_any;
use crate::digest::FinalRead;
use crate::envelope::{Positions, Rebalance};
use crate::source::Fallback;

/// no group (null) or no topic (absent and none known)
pub const NONE: u32 = u32::MAX;

#[derive(Default, Clone, Copy)]
struct PartState {
    committed: Option<i64>,
    maybe: Option<i64>,
    polled: Option<u64>,
}

#[derive(Default)]
pub struct Group {
    names: FxHashMap<Box<str>, u32>,
    parts: FxHashMap<(u32, u32, u64), PartState>,
    /// (process, group) -> (topic, offsets by partition, the last of a key wins)
    inflight: FxHashMap<(u32, u32), (u32, Vec<(u64, i64)>)>,
    proc_group: FxHashMap<u32, u32>,
    proc_topic: FxHashMap<u32, u32>,
    /// (process, topic, partition) -> the assign's position
    pending: FxHashMap<(u32, u32, u32), Option<i128>>,
    pub commits: [u64; 4],
    pub assigns: u64,
    pub revokes: u64,
    pub events: u64,
    pub redelivery_events: u64,
    pub redelivered: u128,
    pub max_redelivered: u128,
    pub below_commit: u64,
    pub uncommitted: u64,
    /// (topic, partition, bound, first) of starts beyond the committed bound
    skips: Vec<(u32, u32, i128, u64)>,
    /// (topic, partition, first) of uncommitted starts above 0
    early: Vec<(u32, u32, u64)>,
}

fn narrow(v: i128) -> Result<i64, Fallback> {
    i64::try_from(v).map_err(|_| Fallback::from("a group offset beyond 64 bits"))
}

impl Group {
    fn name(&mut self, s: Option<&str>) -> u32 {
        let Some(s) = s else { return NONE };
        if let Some(&i) = self.names.get(s) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.insert(s.into(), i);
        i
    }

    /// A `commit` of `process` (`typ`: 0 invoke, 1 ok, 2 fail, 3 info); `topic`: its
    /// topic when it names one (not empty), else None.
    pub fn commit(&mut self, typ: u8, process: &str, group: Option<&str>, topic: Option<u32>,
                  offsets: &[(u64, Option<i128>)]) -> Result<(), Fallback> {
        self.commits[typ as usize] += 1;
        let (proc, grp) = (self.name(Some(process)), self.name(group));
        let topic = topic.or_else(|| self.proc_topic.get(&proc).copied()).unwrap_or(NONE);
        let mut offs = Vec::with_capacity(offsets.len());
        for &(p, o) in offsets {
            let Some(o) = o else { continue };
            let o = narrow(o)?;
            match offs.iter_mut().find(|e: &&mut (u64, i64)| e.0 == p) {
                Some(e) => e.1 = o, // "0" and "00": Python's dict keeps the last
                None => offs.push((p, o)),
            }
        }
        if typ == 0 {
            self.inflight.insert((proc, grp), (topic, offs));
            return Ok(());
        }
        self.inflight.remove(&(proc, grp));
        if typ == 2 {
            return Ok(());
        }
        for (p, o) in offs {
            let st = self.parts.entry((grp, topic, p)).or_default();
            match typ {
                1 => st.committed = Some(o),
                3 => st.maybe = Some(st.maybe.map_or(o, |m| m.max(o))),
                _ => {}
            }
        }
        Ok(())
    }

    /// An `assign` or `revoke` ok of `process` (`topic`: its topic's id, if any).
    pub fn rebalance(&mut self, process: &str, topic: Option<u32>, r: &Rebalance) {
        if r.assign { self.assigns += 1 } else { self.revokes += 1 }
        let proc = self.name(Some(process));
        if let crate::ops::Maybe::Present(g) = &r.group {
            let g = self.name(g.as_ref().map(|s| &*s.0));
            self.proc_group.insert(proc, g);
        }
        let Some(topic) = topic else { return }; // pending under no topic: no poll matches
        self.proc_topic.insert(proc, topic);
        let grouped = matches!(&r.group, crate::ops::Maybe::Present(Some(_)));
        let none = Positions::default();
        let pos = r.positions.as_ref().unwrap_or(&none);
        for &p in &r.partitions {
            if !r.assign {
                self.pending.remove(&(proc, topic, p));
            } else if grouped {
                self.pending.insert((proc, topic, p), pos.get(p));
            }
        }
    }

    /// The records (partition, offset) one poll ok of `process` returned, in order;
    /// `group`: the poll's own group field (None: absent).
    pub fn polled(&mut self, process: &str, group: Option<Option<&str>>, topic: u32,
                  recs: impl Iterator<Item = (u32, u64)>) {
        let proc = self.name(Some(process));
        let grp = match group {
            Some(g) => self.name(g),
            None => self.proc_group.get(&proc).copied().unwrap_or(NONE),
        };
        if grp == NONE {
            return;
        }
        let mut run: Option<(u32, u64, u64)> = None;
        for (p, o) in recs {
            match run {
                Some((q, first, _)) if q == p => run = Some((q, first, o)),
                _ => {
                    if let Some(r) = run {
                        self.run(proc, grp, topic, r);
                    }
                    run = Some((p, o, o));
                }
            }
        }
        if let Some(r) = run {
            self.run(proc, grp, topic, r);
        }
    }

    /// One run of a partition's offsets in a poll: `first`..`last`.
    fn run(&mut self, proc: u32, grp: u32, topic: u32, (p, first, last): (u32, u64, u64)) {
        let st = self.parts.get(&(grp, topic, p as u64)).copied().unwrap_or_default();
        if let Some(position) = self.pending.remove(&(proc, topic, p)) {
            self.first_poll(grp, topic, p, first, position, st);
        }
        if st.polled.map_or(true, |x| last > x) {
            self.parts.entry((grp, topic, p as u64)).or_default().polled = Some(last);
        }
    }

    fn first_poll(&mut self, grp: u32, topic: u32, p: u32, first: u64, position: Option<i128>, st: PartState) {
        self.events += 1;
        let f = first as i128;
        let ok = st.committed.map(i128::from);
        if ok.is_some_and(|ok| f < ok) {
            self.below_commit += 1;
        }
        let horizon = ok.unwrap_or(-1).max(st.polled.map_or(-1, |x| x as i128 + 1));
        if horizon > f {
            let n = (horizon - f) as u128;
            self.redelivery_events += 1;
            self.redelivered += n;
            self.max_redelivered = self.max_redelivered.max(n);
        }
        let infl = self.inflight.iter()
            .filter(|((_, g), (t, _))| *g == grp && *t == topic)
            .filter_map(|(_, (_, offs))| offs.iter().rev().find(|e| e.0 == p as u64).map(|e| e.1 as i128))
            .max();
        let bound = [position, ok, st.maybe.map(i128::from), infl].into_iter().flatten().filter(|&x| x >= 0).max();
        match bound {
            Some(b) if f > b => self.skips.push((topic, p, b, first)),
            Some(_) => {}
            None => {
                self.uncommitted += 1;
                if first > 0 {
                    self.early.push((topic, p, first));
                }
            }
        }
    }
}

/// Skips resolved against the final reads: any the final read holds (an anomaly), and
/// per topic those on a topic without a final read.
#[derive(Default)]
pub struct Skips {
    pub held: bool,
    pub unresolved: FxHashMap<u32, u64>,
}

impl Skips {
    fn add(&mut self, fr: Option<&FinalRead>, t: u32, p: u32, lo: i128, hi: u64) {
        match fr {
            Some(fr) => self.held |= holds_any(&fr.at, p as u64, lo.max(0) as u64, hi),
            None => *self.unresolved.entry(t).or_default() += 1,
        }
    }
}

pub struct GroupSummary {
    /// no anomaly whatever the options
    pub exact: bool,
    pub skips: Skips,
    /// the uncommitted starts' skips with `auto_offset_reset="earliest"`
    pub early: Skips,
}

pub fn summarize(g: &Group, finals: &FxHashMap<u32, FinalRead>) -> GroupSummary {
    let mut s = GroupSummary { exact: true, skips: Skips::default(), early: Skips::default() };
    for &(t, p, b, first) in &g.skips {
        s.skips.add(finals.get(&t), t, p, b, first);
    }
    for &(t, p, first) in &g.early {
        let fr = finals.get(&t);
        let bound = fr.and_then(|f| f.start.get(&(p as u64)).copied()).unwrap_or(0);
        if first as i128 > bound {
            s.early.add(fr, t, p, bound, first);
        }
    }
    for (&(_, t, p), st) in &g.parts {
        let end = finals.get(&t).and_then(|f| f.end.get(&p));
        if let (Some(c), Some(&end)) = (st.committed, end) {
            s.exact &= i128::from(c) <= end;
        }
    }
    s.exact &= !s.skips.held;
    s
}
