//! One pass over the op lines into compact columns: what the ported checkers read.
//!
//! Kept per op kind (the Python index, `kfchaos/checkers/index.py`, is the reference):
//!
//! * `send`: every write, keyed by its encoded id ([`crate::ids`]): topic, outcome and
//!   the acknowledged (partition, offset) -- 24 bytes and a hash slot a write;
//! * `poll` ok: every polled record as (position, id) per topic, 16 bytes a record;
//! * `final-read` ok: the records of the authoritative final read of each topic (the
//!   last `read_committed` one, else the last), as (position, id), 16 bytes a record;
//! * `commit`, `assign`, `revoke`: checked against the schema, nothing kept;
//! * any other kind: its line goes back to Python (the small ops).
//!
//! What the digest does not model exactly ends the native scan with a [`Fallback`]: a
//! transaction (`txn`), a send id invoked twice or completed without an invoke or twice,
//! a write without a topic, positions beyond the Python index's 40-bit offset packing, a
//! final read written in pages (a `final-read-page` / `output-read-page` op, or a final op
//! with `pages`: the Python path assembles them, `kfchaos/history_pages.py`).
use rustc_hash::FxHashMap;
use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::ids::{Interner, NONE, UNSUPPORTED};
use crate::envelope::*;
use crate::ops::*;
use crate::source::Fallback;

pub const OFFSET_BITS: u32 = 40;
const NO_POS: i64 = i64::MIN;
pub const INFLIGHT: u8 = 0;
pub const ACKED: u8 = 1;
pub const UNACKED: u8 = 2;

#[derive(Clone, Copy)]
pub struct Write {
    pub offset: i64,
    pub partition: i64,
    pub topic: u32,
    pub state: u8,
}

impl Write {
    /// The acknowledged position, when the ack carries one the duplicate checker merges.
    pub fn position(&self) -> Option<u64> {
        if self.partition == NO_POS || self.offset == NO_POS || self.offset < 0 {
            return None;
        }
        Some(((self.partition as u64) << OFFSET_BITS) | self.offset as u64)
    }
}

#[derive(Default)]
pub struct Polls {
    pub n_polls: u64,
    pub recs: Vec<(u64, u64)>,
}

pub struct FinalRead {
    pub isolation: String,
    pub n_records: u64,
    pub recs: Vec<(u64, u64)>,
}

#[derive(Default)]
pub struct Digest {
    pub ids: Interner,
    pub topics: Vec<String>,
    topic_ix: FxHashMap<String, u32>,
    pub writes: FxHashMap<u64, Write>,
    pub n_invoked: u64,
    pub n_done: u64,
    pub polls: FxHashMap<u32, Polls>,
    pub finals: FxHashMap<u32, FinalRead>,
    pub n: u64,
    /// (ordinal, line) of the ops of other kinds
    pub small: Vec<(u64, Vec<u8>)>,
}

/// One op line parsed (no state needed: lines may be parsed on several threads).
pub enum Parsed<'a> {
    /// a kind not digested here: its line goes back to Python
    Small(&'a str),
    Op(u8, Value<'a>),
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
    if f == "final-read-page" || f == "output-read-page" {
        return Err(PAGED.into());
    }
    if (f == "output-read" || (f == "final-read" && op.typ != 1)) && has_pages(line) {
        return Err(PAGED.into());
    }
    if !DIGESTED.contains(&f) {
        return Ok(Parsed::Small(line));
    }
    let value = match op.value {
        Value::Raw(raw) => typed(raw, f, op.typ).map_err(bad("value"))?,
        Value::Absent => return Err("op has no value".into()),
        v => v,
    };
    Ok(Parsed::Op(op.typ, value))
}

const PAGED: &str = "a final read written in pages";

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

    fn records(&mut self, recs: &[Record], out: &mut Vec<(u64, u64)>) -> Result<(), Fallback> {
        if !records_ok(recs) {
            return Err("records: counts/keys out of schema".into());
        }
        out.reserve(recs.len());
        for r in recs {
            let rid = self.rid(&r.value)?;
            out.push((position(r.partition as u64, r.offset)?, rid));
        }
        Ok(())
    }

    /// Digest one op line (its ordinal among the op lines: `self.n`); the caller has
    /// checked the text for `\\ud` escapes (lone surrogates are Python's to reject).
    pub fn line(&mut self, line: &str) -> Result<(), Fallback> {
        let p = parse(line)?;
        self.apply(p)
    }

    /// Digest one parsed op line (the next in history order).
    pub fn apply(&mut self, p: Parsed) -> Result<(), Fallback> {
        match p {
            Parsed::Small(line) => self.small.push((self.n, line.as_bytes().to_vec())),
            Parsed::Op(typ, Value::Send(v)) => self.send(typ, v)?,
            Parsed::Op(_, Value::Poll(v)) => self.poll(v)?,
            Parsed::Op(_, Value::Final(v)) => self.final_read(v)?,
            Parsed::Op(..) => {}
        }
        self.n += 1;
        Ok(())
    }

    fn send(&mut self, typ: u8, v: Send) -> Result<(), Fallback> {
        let rid = self.harness(&v.id)?;
        let _ = (v.seq, &v.key);
        if typ == 0 {
            let topic = match v.topic.as_ref() {
                Some(t) => self.topic(&t.0),
                None => return Err("a send without a topic".into()),
            };
            if self.writes.insert(rid, Write { offset: NO_POS, partition: NO_POS, topic, state: INFLIGHT }).is_some() {
                return Err("a send id invoked twice".into());
            }
            self.n_invoked += 1;
            return Ok(());
        }
        self.n_done += 1;
        let w = self.writes.get_mut(&rid).ok_or("a send completion without its invoke")?;
        if w.state != INFLIGHT {
            return Err("a send completed twice".into());
        }
        if typ == 1 {
            w.state = ACKED;
            w.partition = narrow(v.partition, 0, 1 << (63 - OFFSET_BITS))?;
            w.offset = narrow(v.offset, -(1 << 62), 1 << OFFSET_BITS)?;
        } else {
            w.state = UNACKED;
        }
        Ok(())
    }

    fn poll(&mut self, v: PollOk) -> Result<(), Fallback> {
        let _ = &v.group;
        let t = self.topic(&v.topic.0);
        let mut recs = std::mem::take(&mut self.polls.entry(t).or_default().recs);
        let r = self.records(&v.records, &mut recs);
        let p = self.polls.get_mut(&t).unwrap();
        p.recs = recs;
        p.n_polls += 1;
        r
    }

    fn final_read(&mut self, v: FinalReadOk) -> Result<(), Fallback> {
        let _ = (&v.start_offsets, &v.end_offsets, &v.fetch_end_offsets, v.listed_at);
        if v.pages.as_ref().is_some() {
            return Err(PAGED.into());
        }
        let t = self.topic(&v.topic.0);
        let isolation = match &v.isolation {
            Some(s) if !s.0.is_empty() => s.0.to_string(),
            _ => "read_committed".to_string(),
        };
        let past = v.past_end.as_ref().map_or(&[][..], |v| &v[..]);
        let replaces = match self.finals.get(&t) {
            None => true,
            Some(cur) => isolation == "read_committed" || cur.isolation != "read_committed",
        };
        let mut recs = Vec::new();
        // checked (and their ids encoded) whether or not this read becomes the topic's
        self.records(&v.records, &mut recs)?;
        self.records(past, &mut recs)?;
        if replaces {
            let n_records = recs.len() as u64;
            self.finals.insert(t, FinalRead { isolation, n_records, recs });
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
