//! The `offsets` checker over the digest: the counts of each final read.
//!
//! Contract: `kfchaos/checkers/offsets.py` (the reference); the Python side builds the
//! verdict from these counts (`kfchaos/checkers/native.py`).  Each `final-read` ok op
//! (every one, not only a topic's authoritative read) is reduced, when its final op
//! arrives and its positions are all known, to a [`ReadOffsets`]: per partition the
//! offsets read inside `[start, end)` and outside it, and the holes inside it, exactly
//! as Python's `_check_read` counts them; nothing per record is kept beyond the read's
//! own position table.  The records Fetch served at or beyond the listed end
//! (`past_end`) keep their rids until the end of the history, when each is resolved
//! against its write ([`resolve`]): a write acknowledged with the read's `listed_at` set
//! needs the ack's time (not kept here), so that read is left to Python.
//!
//! Whether a hole is an anomaly depends on the topic being transactional, which the
//! option `transactional_topics` decides: the Python side classifies, and hands a plain
//! topic's hole (an `offset-gap`) to the Python checker, which lists its examples.
use rustc_hash::FxHashMap;

use crate::ids::is_harness;
use crate::ops::OffsetValues;
use crate::tables::{slot, PosTable, Slots};

/// What the `offsets` checker reports of one final read.
pub struct ReadOffsets {
    pub topic: u32,
    pub records: u64,
    pub partitions: u64,
    pub out_of_range: u64,
    /// holes in `[start, end)` and the offsets they miss
    pub gaps: u64,
    pub missing: u64,
    /// the rids of the `past_end` records (resolved by [`resolve`])
    past_end: Vec<u64>,
    listed: bool,
    /// a count beyond 64 bits: Python decides
    pub overflow: bool,
}

/// `{int(k): int(v)}` of the offsets whose value is not null (Python's `_int_keys`).
pub fn int_keys(x: Option<&OffsetValues>) -> FxHashMap<u64, i128> {
    let mut m = FxHashMap::default();
    for &(p, v) in x.map_or(&[][..], |x| &x.0[..]) {
        if let Some(v) = v {
            m.insert(p, v);
        }
    }
    m
}

/// The read's offsets as Python's `FinalRead` and `_check_read` see them.
/// `past`: (partition, offset, rid) of each `past_end` record.
pub struct ReadBounds<'a> {
    pub start: Option<&'a OffsetValues>,
    pub listed_end: Option<&'a OffsetValues>,
    pub fetch_end: Option<&'a OffsetValues>,
    pub past: Vec<(u64, u64, u64)>,
    pub listed_at: bool,
}

/// Count one final read (its positions `at`, `records` records, on topic `topic`).
pub fn read_offsets(topic: u32, records: u64, at: &PosTable, b: ReadBounds) -> ReadOffsets {
    let start = int_keys(b.start);
    // the read's end: the furthest of the listed end, Fetch's end and the records found
    let mut end = int_keys(b.listed_end);
    let later = b.past.iter().map(|&(p, o, _)| (p, o as i128 + 1));
    for (p, o) in int_keys(b.fetch_end).into_iter().chain(later) {
        if o > end.get(&p).copied().unwrap_or(-1) {
            end.insert(p, o);
        }
    }
    let mut parts: Vec<u64> = start.keys().chain(end.keys()).copied().chain(at.partitions()).collect();
    parts.sort_unstable();
    parts.dedup();
    let mut r = ReadOffsets {
        topic, records, partitions: parts.len() as u64, out_of_range: 0, gaps: 0, missing: 0,
        past_end: b.past.iter().map(|x| x.2).collect(), listed: b.listed_at, overflow: false,
    };
    let mut missing: i128 = 0;
    for p in parts {
        let (lo, hi) = bounds(at, p, start.get(&p).copied(), end.get(&p).copied());
        let (mut prev, mut n, mut inside) = (lo - 1, 0u64, 0u64);
        at.for_each_offset(p, |o| {
            n += 1;
            let o = o as i128;
            if o < lo || o >= hi {
                return;
            }
            inside += 1;
            if o > prev + 1 {
                r.gaps += 1;
                missing += o - prev - 1;
            }
            prev = o;
        });
        if hi > prev + 1 {
            r.gaps += 1;
            missing += hi - prev - 1;
        }
        r.out_of_range += n - inside;
    }
    r.missing = u64::try_from(missing).unwrap_or_else(|_| {
        r.overflow = true;
        0
    });
    r
}

/// `[lo, hi)` of partition `p`: the read's start and end, else its first offset and the
/// one after its last (no offset: `[0, 0)`).
fn bounds(at: &PosTable, p: u64, lo: Option<i128>, hi: Option<i128>) -> (i128, i128) {
    let (mut first, mut last) = (None, None);
    if lo.is_none() || hi.is_none() {
        at.for_each_offset(p, |o| {
            first.get_or_insert(o as i128);
            last = Some(o as i128);
        });
    }
    let lo = lo.unwrap_or(first.unwrap_or(0));
    (lo, hi.unwrap_or(last.map_or(lo, |l| l + 1)))
}

/// `past_end` records of a read resolved against their writes: how many were written
/// after the listing (`past-end-later`), or None when some write was acknowledged and
/// the read has `listed_at`: whether the ack came before the listing is Python's to say.
pub fn resolve(r: &ReadOffsets, slots: &mut Slots) -> Option<u64> {
    let mut later = 0;
    for &rid in &r.past_end {
        let acked = is_harness(rid)
            && slots.get_mut(rid).is_some_and(|s| *s & slot::STATE == slot::ACKED);
        if acked && r.listed {
            return None;
        }
        later += 1;
    }
    Some(later)
}
