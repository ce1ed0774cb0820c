//! One pass over the op lines into compact columns: what the ported checkers read.
//!
//! Kept per op kind (the Python index, `kfchaos/checkers/index.py`, is the reference;
//! the tables: [`crate::tables`]):
//!
//! * `send`: every write's slot (state, topic; 4 bytes, dense per producer), and an
//!   acknowledged (partition, offset) as a position of its topic;
//! * `poll` ok: every polled record as a position of its topic (8 bytes, dense per
//!   partition), a flag in the write's slot (or a set, for ids of no write of that topic);
//! * `final-read` ok: the records of the authoritative final read of each topic (the
//!   last `read_committed` one, else the last) as its own position table, and of every
//!   final read the `offsets` checker's counts ([`crate::check_offsets`]); a read
//!   written in pages (`final-read-page` ops, then the final op with `pages`: N) is
//!   assembled page by page as `kfchaos/history_pages.py` does, never held whole;
//! * `send`, `poll`, `assign` and `revoke` ok also feed the `ordering` checker's state
//!   ([`crate::check_ordering`]: per producer/key and consumer/partition, not per record);
//! * `commit`, `assign` and `revoke` ok also feed the `group` checker's state
//!   ([`crate::check_group`]: per group/topic/partition, not per record), and each final
//!   read keeps its start and end offsets per partition for it;
//! * a final read not ok (which may close pages, as a read that raised does): checked
//!   against the schema, nothing kept;
//! * any other kind: its line goes back to Python (the small ops).
//!
//! What the digest does not model exactly ends the native scan with a [`Fallback`]: a
//! transaction (`txn`), a send id invoked twice or completed without an invoke or twice,
//! a write without a topic, positions beyond the Python index's 40-bit offset packing,
//! pages that do not add up (a page out of order, a final op whose `pages` differs from
//! the pages seen, pages left without their final op at the end), and any `output-read`
//! pages: the Python path
//! then raises its exact HistoryError or decides the history.
use rustc_hash::{FxHashMap, FxHashSet};
use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::ids::{is_harness, Interner, NONE, UNSUPPORTED};
use crate::tables::{slot, PosTable, Slots};
use crate::check_group::Group;
use crate::check_offsets::{int_keys, read_offsets, ReadBounds, ReadOffsets};
use crate::check_ordering::{Order, Reset};
use crate::envelope::*;
use crate::ops::*;
use crate::series::SeriesScan;
use crate::source::Fallback;

pub const OFFSET_BITS: u32 = 40;
const NO_POS: i64 = i64::MIN;

#[derive(Default)]
pub struct Polls {
    pub n_polls: u64,
    pub n_records: u64,
}

/// A final read: its isolation, record count and positions (`at.conflict`: some
/// position read with two rids).
#[derive(Default)]
pub struct FinalRead {
    pub isolation: String,
    pub n_records: u64,
    pub at: PosTable,
    /// per partition: the start offset and the end (Python's `FinalRead.start`, `.end`)
    pub start: FxHashMap<u64, i128>,
    pub end: FxHashMap<u64, i128>,
}

/// A final read being written in pages: the read so far and its page count.
struct Pending {
    read: FinalRead,
    pages: i128,
}

#[derive(Default)]
pub struct Digest {
    pub ids: Interner,
    pub topics: Vec<String>,
    topic_ix: FxHashMap<String, u32>,
    pub slots: Slots,
    pub n_invoked: u64,
    pub n_done: u64,
    pub polls: FxHashMap<u32, Polls>,
    /// per topic: the acknowledged and polled positions
    pub observed: FxHashMap<u32, PosTable>,
    /// per topic: harness ids polled there that had no write of that topic when polled
    pub polled_other: FxHashMap<u32, FxHashSet<u64>>,
    pub finals: FxHashMap<u32, FinalRead>,
    /// every final read's counts for the `offsets` checker, in history order
    pub offset_reads: Vec<ReadOffsets>,
    /// what the `ordering` checker keeps (per producer/key and consumer/partition)
    pub order: Order,
    /// what the `group` checker keeps (per group/topic/partition)
    pub group: Group,
    pending: FxHashMap<(Box<str>, u32), Pending>,
    pub n: u64,
    /// (ordinal, line) of the ops of other kinds
    pub small: Vec<(u64, Vec<u8>)>,
    /// what the `windows` and `recovery` checkers ask of sends and polls
    pub series: SeriesScan,
}

/// An op's `time` and its `wall` as written (None: no `wall` key).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stamp<'a> {
    pub time: u64,
    pub wall: Option<&'a str>,
}

/// One op line parsed (no state needed: lines may be parsed on several threads).
pub enum Parsed<'a> {
    /// a kind not digested here: its line goes back to Python
    Small(&'a str, Stamp<'a>),
    /// type, process, value
    Op(u8, Str<'a>, Value<'a>, Stamp<'a>),
}

impl<'a> Parsed<'a> {
    pub fn stamp(&self) -> Stamp<'a> {
        match self {
            Parsed::Small(_, s) | Parsed::Op(.., s) => *s,
        }
    }
}

/// Parse and check one op line: the writer's form by [`crate::fast`], any other text
/// by serde (the reference; the fast scanner gives the same or leaves it to serde).
pub fn parse(line: &str) -> Result<Parsed<'_>, Fallback> {
    match crate::fast::parse(line) {
        Some(p) => Ok(p),
        None => parse_serde(line),
    }
}

/// Parse and check one op line with serde_json.
pub fn parse_serde(line: &str) -> Result<Parsed<'_>, Fallback> {
    let op: Op = serde_json::from_str(line).map_err(bad("op"))?;
    let f = &*op.f.0;
    if f == "txn" {
        return Err("transactions (txn ops) are not digested natively".into());
    }
    if f == "output-read-page" {
        return Err(PAGED.into());
    }
    if f == "output-read" && has_pages(line) {
        return Err(PAGED.into());
    }
    let stamp = Stamp { time: op.time, wall: op.wall };
    if !DIGESTED.contains(&f) {
        return Ok(Parsed::Small(line, stamp));
    }
    let value = match op.value {
        Value::Raw(raw) => typed(raw, f, op.typ).map_err(bad("value"))?,
        Value::Absent => return Err("op has no value".into()),
        v => v,
    };
    Ok(Parsed::Op(op.typ, op.process, value, stamp))
}

const PAGED: &str = "output-read pages (the native scan does not assemble them)";

/// The `pages` key of an op's value, present with any value (null too).
#[derive(Deserialize)]
struct PagesProbe {
    #[serde(default)]
    value: Option<PagesOf>,
}

#[derive(Deserialize)]
struct PagesOf {
    #[serde(default)]
    pages: Maybe<IgnoredAny>,
}

/// True if the op's value holds `pages`, or the line cannot tell (then Python decides).
fn has_pages(line: &str) -> bool {
    match serde_json::from_str::<PagesProbe>(line) {
        Ok(PagesProbe { value: Some(PagesOf { pages: Maybe::Present(_) }) }) => true,
        Ok(_) => false,
        Err(_) => true,
    }
}

fn bad<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> Fallback + '_ {
    move |e| format!("{what}: {e}")
}

fn position(p: u64, o: u64) -> Result<u64, Fallback> {
    if p >= 1 << (63 - OFFSET_BITS) || o >= 1 << OFFSET_BITS {
        return Err("a position beyond the 40-bit offset packing".into());
    }
    Ok((p << OFFSET_BITS) | o)
}

impl Digest {
    fn topic(&mut self, t: &str) -> u32 {
        if let Some(&i) = self.topic_ix.get(t) {
            return i;
        }
        let i = self.topics.len() as u32;
        self.topics.push(t.to_owned());
        self.topic_ix.insert(t.to_owned(), i);
        i
    }

    fn harness(&mut self, id: &Id) -> Result<u64, Fallback> {
        let rid = match id {
            Id::S(s) => self.ids.harness_str(s),
            Id::I(i) => self.ids.harness_int(*i),
        };
        if rid == UNSUPPORTED {
            return Err("an integer id beyond 60 bits".into());
        }
        Ok(rid)
    }

    fn rid(&mut self, v: &RecValue) -> Result<u64, Fallback> {
        let rid = match &v.val {
            RecVal::Null => NONE,
            RecVal::Harness(id) => return self.harness(id),
            RecVal::RawStr(s) => self.ids.raw_str(s),
            RecVal::RawInt(i) => self.ids.raw_int(*i),
            RecVal::Other => UNSUPPORTED,
        };
        if rid == UNSUPPORTED {
            return Err("a record value whose identity is not encoded (float, boolean, list)".into());
        }
        Ok(rid)
    }

    /// Check a record list and put its records into `at`; their count.
    fn records(&mut self, recs: &[Record], at: &mut PosTable) -> Result<u64, Fallback> {
        if !records_ok(recs) {
            return Err("records: counts/keys out of schema".into());
        }
        for r in recs {
            let rid = self.rid(&r.value)?;
            at.put(position(r.partition as u64, r.offset)?, rid);
        }
        Ok(recs.len() as u64)
    }

    /// Digest one op line (its ordinal among the op lines: `self.n`); the caller has
    /// checked the text for `\\ud` escapes (lone surrogates are Python's to reject).
    pub fn line(&mut self, line: &str) -> Result<(), Fallback> {
        let p = parse(line)?;
        self.apply(p)
    }

    /// Digest one parsed op line (the next in history order).
    pub fn apply(&mut self, p: Parsed) -> Result<(), Fallback> {
        let Stamp { time, wall } = p.stamp();
        self.series.stamp(time, wall);
        match p {
            Parsed::Small(line, _) => self.small.push((self.n, line.as_bytes().to_vec())),
            Parsed::Op(typ, process, Value::Send(v), _) => self.send(typ, &process.0, v, time)?,
            Parsed::Op(_, process, Value::Poll(v), _) => self.poll(&process.0, v, time)?,
            Parsed::Op(_, process, Value::Rebalance(r), _) => {
                let reset = match &r.topic {
                    None => Reset::All,
                    Some(t) => self.topic_ix.get(&*t.0).map_or(Reset::Unknown, |&i| Reset::One(i)),
                };
                self.order.rebalance(&process.0, reset, &r.partitions);
                let t = r.topic.as_ref().map(|t| self.topic(&t.0));
                self.group.rebalance(&process.0, t, &r);
            }
            Parsed::Op(typ, process, Value::Commit(c), _) => {
                let t = c.topic.as_ref().filter(|t| !t.0.is_empty()).map(|t| self.topic(&t.0));
                self.group.commit(typ, &process.0, c.group.as_ref().map(|g| &*g.0), t, &c.offsets.0)?;
            }
            Parsed::Op(_, process, Value::Final(v), _) => self.final_read(&process.0, v)?,
            Parsed::Op(_, process, Value::Page(v), _) => self.page(&process.0, v)?,
            Parsed::Op(_, process, Value::FinalOther(Some(v)), _) => self.final_not_ok(&process.0, v)?,
            Parsed::Op(..) => {}
        }
        self.n += 1;
        Ok(())
    }

    /// The history ended: a read left in pages is Python's to report.
    pub fn finish(&mut self) -> Result<(), Fallback> {
        if !self.pending.is_empty() {
            return Err("pages of a final read without its final op".into());
        }
        Ok(())
    }

    fn send(&mut self, typ: u8, process: &str, v: Send, time: u64) -> Result<(), Fallback> {
        let rid = self.harness(&v.id)?;
        if typ == 0 {
            let topic = match v.topic.as_ref() {
                Some(t) => self.topic(&t.0),
                None => return Err("a send without a topic".into()),
            };
            if topic >= slot::MAX_TOPICS {
                return Err("too many topics".into());
            }
            let s = self.slots.entry(rid);
            if *s != 0 {
                return Err("a send id invoked twice".into());
            }
            *s = slot::INFLIGHT | topic << slot::TOPIC_SHIFT;
            self.n_invoked += 1;
            self.series.invoke(rid, time);
            self.order.invoke(rid, process, v.key.as_ref().map(|k| &*k.0), v.seq.0);
            return Ok(());
        }
        self.n_done += 1;
        let s = self.slots.get_mut(rid).ok_or("a send completion without its invoke")?;
        if *s & slot::STATE != slot::INFLIGHT {
            return Err("a send completed twice".into());
        }
        if typ != 1 {
            *s = (*s & !slot::STATE) | slot::UNACKED;
            self.order.done(rid, None);
            self.series.done(rid, time, false);
            return Ok(());
        }
        *s = (*s & !slot::STATE) | slot::ACKED;
        self.series.done(rid, time, true);
        let topic = slot::topic(*s);
        let partition = narrow(v.partition, 0, 1 << (63 - OFFSET_BITS))?;
        let offset = narrow(v.offset, -(1 << 62), 1 << OFFSET_BITS)?;
        self.order.done(rid, Some((topic, partition, offset)));
        if partition != NO_POS && offset != NO_POS && offset >= 0 {
            let q = ((partition as u64) << OFFSET_BITS) | offset as u64;
            self.observed.entry(topic).or_default().put(q, rid);
        }
        Ok(())
    }

    fn poll(&mut self, process: &str, v: PollOk, time: u64) -> Result<(), Fallback> {
        let t = self.topic(&v.topic.0);
        let p = self.polls.entry(t).or_default();
        p.n_polls += 1;
        p.n_records += v.records.len() as u64;
        if !v.records.is_empty() {
            self.series.poll(t, time, v.records.len() as u64);
        }
        if !records_ok(&v.records) {
            return Err("records: counts/keys out of schema".into());
        }
        let mut at = self.observed.remove(&t).unwrap_or_default();
        for rec in &v.records {
            let rid = self.rid(&rec.value)?;
            at.put(position(rec.partition as u64, rec.offset)?, rid);
            if !is_harness(rid) {
                continue;
            }
            match self.slots.get_mut(rid) {
                Some(s) if slot::topic(*s) == t => *s |= slot::POLLED,
                _ => {
                    self.polled_other.entry(t).or_default().insert(rid);
                }
            }
        }
        self.observed.insert(t, at);
        if !v.records.is_empty() {
            self.order.polled(process, t, v.records.iter().map(|r| (r.partition, r.offset)));
            let group = v.group.as_ref().map(|g| g.as_ref().map(|s| &*s.0));
            self.group.polled(process, group, t, v.records.iter().map(|r| (r.partition, r.offset)));
        }
        Ok(())
    }

    fn page(&mut self, process: &str, v: Page) -> Result<(), Fallback> {
        let t = self.topic(&v.topic.0);
        let key = (Box::<str>::from(process), t);
        let mut p = self.pending.remove(&key).unwrap_or(Pending { read: FinalRead::default(), pages: 0 });
        if v.page.0 != p.pages {
            return Err("a final-read page out of order".into());
        }
        p.read.n_records += self.records(&v.records, &mut p.read.at)?;
        p.pages += 1;
        self.pending.insert(key, p);
        Ok(())
    }

    /// A final read not ok closes its pages (a read that raised): they must add up, and
    /// the read is dropped (only an ok read is a topic's final read).
    fn final_not_ok(&mut self, process: &str, v: FinalNotOk) -> Result<(), Fallback> {
        let t = v.topic.as_ref().and_then(|s| self.topic_ix.get(&**s).copied());
        let pending = match t {
            Some(t) if !self.pending.is_empty() => self.pending.remove(&(Box::from(process), t)),
            _ => None,
        };
        let said = v.pages.map(|n| n.0);
        if pending.is_none() && said.is_none() {
            return Ok(());
        }
        if said != Some(pending.map_or(0, |p| p.pages)) {
            return Err("a final read not ok whose pages do not match its page ops".into());
        }
        Ok(())
    }

    fn final_read(&mut self, process: &str, v: FinalReadOk) -> Result<(), Fallback> {
        let t = self.topic(&v.topic.0);
        let pending = if self.pending.is_empty() { None } else { self.pending.remove(&(Box::from(process), t)) };
        let said = v.pages.as_ref().map(|n| n.0);
        let (mut read, seen) = match pending {
            Some(p) => (p.read, p.pages),
            None => (FinalRead::default(), 0),
        };
        if said.map_or(seen != 0, |n| n != seen) {
            return Err("a final read whose pages do not match its page ops".into());
        }
        let isolation = match &v.isolation {
            Some(s) if !s.0.is_empty() => s.0.to_string(),
            _ => "read_committed".to_string(),
        };
        let past = v.past_end.as_ref().map_or(&[][..], |v| &v[..]);
        // checked (and their ids encoded) whether or not this read becomes the topic's
        read.n_records += self.records(&v.records, &mut read.at)?;
        read.n_records += self.records(past, &mut read.at)?;
        let mut past_rids = Vec::with_capacity(past.len());
        for r in past {
            past_rids.push((r.partition as u64, r.offset, self.rid(&r.value)?));
        }
        let bounds = ReadBounds {
            start: v.start_offsets.as_ref(),
            listed_end: v.end_offsets.as_ref(),
            fetch_end: v.fetch_end_offsets.as_ref(),
            past: past_rids,
            listed_at: v.listed_at.as_ref().is_some(),
        };
        read.start = int_keys(bounds.start);
        read.end = int_keys(bounds.listed_end);
        for (p, o) in int_keys(bounds.fetch_end).into_iter().chain(bounds.past.iter().map(|r| (r.0, r.1 as i128 + 1))) {
            if o > read.end.get(&p).copied().unwrap_or(-1) {
                read.end.insert(p, o);
            }
        }
        self.offset_reads.push(read_offsets(t, read.n_records, &read.at, bounds));
        let replaces = match self.finals.get(&t) {
            None => true,
            Some(cur) => isolation == "read_committed" || cur.isolation != "read_committed",
        };
        if replaces {
            read.isolation = isolation;
            self.finals.insert(t, read);
        }
        Ok(())
    }
}
/// An optional integer that must fit `lo..hi` (None: absent or null).
fn narrow(x: Option<Int>, lo: i128, hi: i128) -> Result<i64, Fallback> {
    match x {
        None => Ok(NO_POS),
        Some(Int(v)) if lo <= v && v < hi => Ok(v as i64),
        Some(_) => Err("an acknowledged partition or offset out of range".into()),
    }
}
