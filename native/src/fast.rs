//! A scanner for the op lines in the form the writer emits, without the general parser.
//!
//! Contract: [`parse`] gives `Some(p)` only for a line the serde path ([`crate::digest`],
//! `envelope.rs`, `ops.rs`) accepts, and then `p` is exactly what that path gives;
//! otherwise `None`, and the caller runs the serde path, which decides (so verdicts and
//! the hand-over to Python do not depend on this module).  It reads:
//!
//! * the envelope in the writer's key order, nothing else, no whitespace:
//!   `{"index":I,"process":S,"type":S,"f":S,"value":V,"time":I,"wall":N}`;
//! * the value of a digested kind the serde path types (`send`, `commit`,
//!   `final-read-page`; `poll`, `final-read`, `assign`, `revoke` when ok): an object, its keys in any order, each
//!   at most once; a key the serde type ignores only with a plain scalar value;
//! * strings without escapes or control characters, integers as unsigned canonical
//!   decimal within 64 bits (narrower where the type is), `wall` as a plain decimal.
//!
//! Anything else -- another key order, whitespace, an escape, a negative or overflowing
//! integer, a repeated key, a float where an id is, another kind -- is `None`.
use std::borrow::Cow;

use crate::digest::{Parsed, Stamp};
use crate::envelope::{type_code, Positions, Rebalance, Value};
use crate::ops::*;

/// A position in one line; every read returns `None` when the text is not the fast form.
struct Cur<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Cur<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }

    fn lit(&mut self, l: &[u8]) -> Option<()> {
        let b = self.s.as_bytes();
        if b.len() >= self.i + l.len() && &b[self.i..self.i + l.len()] == l {
            self.i += l.len();
            return Some(());
        }
        None
    }

    /// `true` for `null` (consumed), `false` otherwise (nothing consumed).
    fn null(&mut self) -> bool {
        self.lit(b"null").is_some()
    }

    /// A string without escapes or control characters, borrowed.
    fn str(&mut self) -> Option<&'a str> {
        self.lit(b"\"")?;
        let start = self.i;
        let n = self.s.as_bytes()[start..].iter().position(|&c| !PLAIN[c as usize])?;
        if self.s.as_bytes()[start + n] != b'"' {
            return None;
        }
        self.i = start + n + 1;
        Some(&self.s[start..start + n])
    }

    /// An unsigned canonical decimal integer (no sign, no leading zero) within 64 bits.
    fn uint(&mut self) -> Option<u64> {
        let b = self.s.as_bytes();
        let start = self.i;
        let mut v: u64 = 0;
        while let Some(&c) = b.get(self.i) {
            if !c.is_ascii_digit() {
                break;
            }
            v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
            self.i += 1;
        }
        let n = self.i - start;
        if n == 0 || (n > 1 && b[start] == b'0') {
            return None;
        }
        // a fraction or exponent makes it a float: not this form
        if matches!(b.get(self.i), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        Some(v)
    }

    fn u32(&mut self) -> Option<u32> {
        u32::try_from(self.uint()?).ok()
    }

    fn int(&mut self) -> Option<Int> {
        Some(Int(self.uint()? as i128))
    }

    fn opt_int(&mut self) -> Option<Option<Int>> {
        if self.null() {
            return Some(None);
        }
        self.int().map(Some)
    }

    fn opt_str(&mut self) -> Option<Option<Str<'a>>> {
        if self.null() {
            return Some(None);
        }
        self.str().map(|s| Some(Str(Cow::Borrowed(s))))
    }

    /// A string or an integer id.
    fn id(&mut self) -> Option<Id<'a>> {
        if self.peek()? == b'"' {
            return self.str().map(|s| Id::S(Cow::Borrowed(s)));
        }
        Some(Id::I(self.uint()? as i128))
    }

    /// A plain decimal `digits[.digits]` short enough to be a finite float, or null: its text.
    fn wall(&mut self) -> Option<&'a str> {
        let start = self.i;
        if self.null() {
            return Some(&self.s[start..self.i]);
        }
        let b = self.s.as_bytes();
        let digits = |i: usize| b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        let n = digits(self.i);
        if n == 0 || n > 15 || (n > 1 && b[self.i] == b'0') {
            return None;
        }
        self.i += n;
        if self.peek() == Some(b'.') {
            let m = digits(self.i + 1);
            if m == 0 || m > 30 {
                return None;
            }
            self.i += 1 + m;
        }
        Some(&self.s[start..self.i])
    }

    /// A scalar value a serde type ignores: string, integer, null, true or false.
    fn skip_scalar(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.str().map(|_| ()),
            b'n' => self.lit(b"null"),
            b't' => self.lit(b"true"),
            b'f' => self.lit(b"false"),
            _ => self.uint().map(|_| ()),
        }
    }

    /// `{` key `:` value (`,` ...) `}`: calls `field(self, key)` after each colon.
    fn object(&mut self, mut field: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.lit(b"{")?;
        if self.lit(b"}").is_some() {
            return Some(());
        }
        loop {
            let k = self.str()?;
            self.lit(b":")?;
            field(self, k)?;
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// `[` item (`,` item) `]`.
    fn array<T>(&mut self, mut item: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        self.lit(b"[")?;
        let mut out = Vec::new();
        if self.lit(b"]").is_some() {
            return Some(out);
        }
        loop {
            out.push(item(self)?);
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(out);
                }
                _ => return None,
            }
        }
    }

    /// An offsets object with its values (a final read's), as serde reads it.
    fn offset_values(&mut self) -> Option<OffsetValues> {
        let (mut out, mut keys) = (OffsetValues(Vec::new()), Vec::new());
        self.object(|c, k| {
            let v = c.opt_int()?;
            out.push(&mut keys, k, v.map(|i| i.0))
        })?;
        Some(out)
    }

    /// An assign's positions, as serde reads them.
    fn positions(&mut self) -> Option<Positions> {
        let (mut out, mut keys) = (Positions::default(), Vec::new());
        self.object(|c, k| {
            let v = c.opt_int()?;
            out.push(&mut keys, k, v.map(|i| i.0))
        })?;
        Some(out)
    }

    fn records(&mut self) -> Option<Vec<Record<'a>>> {
        self.array(|c| c.record())
    }

    fn record(&mut self) -> Option<Record<'a>> {
        let (mut partition, mut offset, mut value) = (None, None, None);
        self.object(|c, k| match k {
            "partition" => once(&mut partition, c.u32()?),
            "offset" => once(&mut offset, c.uint()?),
            "value" => once(&mut value, c.rec_value()?),
            _ => c.skip_scalar(),
        })?;
        Some(Record { partition: partition?, offset: offset?, value: value.unwrap_or_default() })
    }

    /// A scalar identity field of a dict value: `Some(None)` for null.
    fn scalar(&mut self) -> Option<Option<Id<'a>>> {
        if self.null() {
            return Some(None);
        }
        self.id().map(Some)
    }

    fn rec_value(&mut self) -> Option<RecValue<'a>> {
        let val = match self.peek()? {
            b'n' => {
                self.lit(b"null")?;
                RecVal::Null
            }
            b'"' => RecVal::RawStr(Cow::Borrowed(self.str()?)),
            b'{' => return self.dict_value(),
            _ => RecVal::RawInt(self.uint()? as i128),
        };
        Some(RecValue { val, ..Default::default() })
    }

    fn dict_value(&mut self) -> Option<RecValue<'a>> {
        let (mut id, mut count, mut key) = (None, None, None);
        self.object(|c, k| match k {
            "id" => once(&mut id, c.scalar()?),
            "count" => once(&mut count, c.scalar()?),
            "key" => once(&mut key, c.scalar()?),
            _ => c.skip_scalar(),
        })?;
        let count = count.flatten();
        Some(RecValue {
            count_set: count.is_some(),
            count_bad: matches!(count, Some(Id::S(_))),
            key_bad: false,
            val: match id.flatten() {
                Some(i) => RecVal::Harness(i),
                None => RecVal::Null,
            },
        })
    }

    fn send(&mut self) -> Option<Send<'a>> {
        let (mut id, mut seq, mut topic, mut key, mut partition, mut offset) = (None, None, None, None, None, None);
        self.object(|c, k| match k {
            "id" => once(&mut id, c.id()?),
            "seq" => once(&mut seq, c.int()?),
            "topic" => once(&mut topic, Str(Cow::Borrowed(c.str()?))),
            "key" => once(&mut key, c.opt_str()?),
            "partition" => once(&mut partition, c.opt_int()?),
            "offset" => once(&mut offset, c.opt_int()?),
            _ => c.skip_scalar(),
        })?;
        Some(Send {
            id: id?,
            seq: seq?,
            topic: topic.map_or(Maybe::Absent, Maybe::Present),
            key: key.flatten(),
            partition: partition.flatten(),
            offset: offset.flatten(),
        })
    }

    fn poll(&mut self) -> Option<PollOk<'a>> {
        let (mut topic, mut records, mut group) = (None, None, None);
        self.object(|c, k| match k {
            "topic" => once(&mut topic, Str(Cow::Borrowed(c.str()?))),
            "records" => once(&mut records, c.records()?),
            "group" => once(&mut group, c.opt_str()?),
            _ => c.skip_scalar(),
        })?;
        Some(PollOk { topic: topic?, records: records?, group: group.map_or(Maybe::Absent, Maybe::Present) })
    }

    fn final_read(&mut self) -> Option<FinalReadOk<'a>> {
        let (mut topic, mut records, mut isolation, mut past_end, mut listed_at) = (None, None, None, None, None);
        let (mut start, mut end, mut fetch_end, mut pages) = (None, None, None, None);
        self.object(|c, k| match k {
            "topic" => once(&mut topic, Str(Cow::Borrowed(c.str()?))),
            "records" => once(&mut records, c.records()?),
            "pages" => once(&mut pages, c.int()?),
            "isolation" => once(&mut isolation, c.opt_str()?),
            "start_offsets" => once(&mut start, c.offset_values()?),
            "end_offsets" => once(&mut end, c.offset_values()?),
            "fetch_end_offsets" => once(&mut fetch_end, c.offset_values()?),
            "past_end" => once(&mut past_end, c.records()?),
            "listed_at" => once(&mut listed_at, c.int()?),
            _ => c.skip_scalar(),
        })?;
        let maybe = |x: Option<OffsetValues>| x.map_or(Maybe::Absent, Maybe::Present);
        Some(FinalReadOk {
            topic: topic?,
            records: records?,
            isolation: isolation.flatten(),
            start_offsets: maybe(start),
            end_offsets: maybe(end),
            fetch_end_offsets: maybe(fetch_end),
            past_end: past_end.map_or(Maybe::Absent, Maybe::Present),
            listed_at: listed_at.map_or(Maybe::Absent, Maybe::Present),
            pages: pages.map_or(Maybe::Absent, Maybe::Present),
        })
    }

    /// A `final-read-page` value (any type): `{"topic", "page", "records"}`.
    fn page(&mut self) -> Option<Page<'a>> {
        let (mut topic, mut page, mut records) = (None, None, None);
        self.object(|c, k| match k {
            "topic" => once(&mut topic, Str(Cow::Borrowed(c.str()?))),
            "page" => once(&mut page, c.int()?),
            "records" => once(&mut records, c.records()?),
            _ => c.skip_scalar(),
        })?;
        Some(Page { topic: topic?, page: page?, records: records? })
    }

    /// commit (any type): its offsets, group and topic; assign ok, revoke ok: their
    /// topic, partitions, group and (assign) positions.
    fn checked(&mut self, f: &str) -> Option<Value<'a>> {
        let (mut offsets, mut partitions, mut positions, mut group, mut topic) = (None, None, None, None, None);
        self.object(|c, k| match (k, f) {
            ("offsets", "commit") => once(&mut offsets, c.offset_values()?),
            ("partitions", "assign" | "revoke") => once(&mut partitions, c.array(|c| c.u32())?),
            ("positions", "assign") => once(&mut positions, c.positions()?),
            ("group", _) => once(&mut group, c.opt_str()?),
            ("topic", _) => once(&mut topic, c.opt_str()?),
            _ => c.skip_scalar(),
        })?;
        if f == "commit" {
            return Some(Value::Commit(Commit { offsets: offsets?, group: group.flatten(), topic: topic.flatten() }));
        }
        let parts = partitions?;
        partitions_ok(&parts).then(|| {
            Value::Rebalance(Rebalance {
                assign: f == "assign",
                topic: topic.flatten(),
                partitions: parts,
                group: group.map_or(Maybe::Absent, Maybe::Present),
                positions,
            })
        })
    }

    fn value(&mut self, f: &str, typ: u8) -> Option<Value<'a>> {
        match (f, typ) {
            ("send", _) => self.send().map(Value::Send),
            ("poll", 1) => self.poll().map(Value::Poll),
            ("final-read", 1) => self.final_read().map(Value::Final),
            ("final-read-page", _) => self.page().map(Value::Page),
            ("commit", _) | ("assign" | "revoke", 1) => self.checked(f),
            _ => None,
        }
    }
}

/// The bytes a string holds as they are: not a quote, a backslash or a control character.
static PLAIN: [bool; 256] = {
    let mut t = [true; 256];
    let mut c = 0;
    while c < 0x20 {
        t[c] = false;
        c += 1;
    }
    t[b'"' as usize] = false;
    t[b'\\' as usize] = false;
    t
};

/// Set a field seen for the first time (a repeated key is not the fast form).
fn once<T>(slot: &mut Option<T>, v: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(v);
    Some(())
}

/// The op line in the writer's form, parsed as the serde path would; `None` otherwise.
pub fn parse(line: &str) -> Option<Parsed<'_>> {
    let mut c = Cur { s: line, i: 0 };
    c.lit(b"{\"index\":")?;
    c.uint()?;
    c.lit(b",\"process\":")?;
    let process = Str(Cow::Borrowed(c.str()?));
    c.lit(b",\"type\":")?;
    let typ = type_code(c.str()?)?;
    c.lit(b",\"f\":")?;
    let f = c.str()?;
    c.lit(b",\"value\":")?;
    let value = c.value(f, typ)?;
    c.lit(b",\"time\":")?;
    let time = c.uint()?;
    if time >= 1 << 63 {
        return None;
    }
    c.lit(b",\"wall\":")?;
    let wall = Some(c.wall()?);
    c.lit(b"}")?;
    (c.i == line.len()).then_some(Parsed::Op(typ, process, value, Stamp { time, wall }))
}

#[cfg(test)]
#[path = "fast_tests.rs"]
mod tests;
