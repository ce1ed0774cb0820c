//! One op line: the envelope (`index`, `process`, `type`, `f`, `time`, `wall`) checked as
//! `kfchaos/history_schema.py` does, and the value typed by its kind while the line is
//! parsed (the writer puts `f` and `type` before `value`; a value that comes first is
//! kept raw and typed afterwards).  A repeated key, a missing field or a wrong type is an
//! error: the caller hands the history to the Python path.
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::ops::*;

/// A digested op's value, typed by its kind while the line is parsed.
pub enum Value<'a> {
    Absent,
    /// the value came before `f` or `type`: typed afterwards ([`typed`])
    Raw(&'a RawValue),
    Send(Send<'a>),
    Poll(PollOk<'a>),
    Final(FinalReadOk<'a>),
    Page(Page<'a>),
    /// a final read that is not ok (None: its value is null): it may close pages
    FinalOther(Option<FinalNotOk<'a>>),
    /// an `assign` or `revoke` ok
    Rebalance(Rebalance<'a>),
    /// a `commit` (any type)
    Commit(Commit<'a>),
    /// checked against the schema, nothing kept (loose values)
    Checked,
    /// a kind not digested here (its line goes back to Python)
    Other,
}

/// One op line: the envelope checked, the value typed by its kind.
pub struct Op<'a> {
    pub typ: u8,
    pub process: Str<'a>,
    pub f: Str<'a>,
    pub value: Value<'a>,
    pub time: u64,
    /// the `wall` text as written (a number or null; None: no `wall` key)
    pub wall: Option<&'a str>,
}

pub const DIGESTED: [&str; 7] = ["send", "poll", "final-read", "final-read-page", "commit", "assign", "revoke"];

pub fn type_code(t: &str) -> Option<u8> {
    match t {
        "invoke" => Some(0),
        "ok" => Some(1),
        "fail" => Some(2),
        "info" => Some(3),
        _ => None,
    }
}

struct ValueSeed<'s> {
    f: &'s str,
    typ: u8,
}

fn rebalance<'a, E: de::Error>(r: Rebalance<'a>) -> Result<Value<'a>, E> {
    if partitions_ok(&r.partitions) {
        Ok(Value::Rebalance(r))
    } else {
        Err(E::custom("partitions"))
    }
}

impl<'de, 's> de::DeserializeSeed<'de> for ValueSeed<'s> {
    type Value = Value<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value<'de>, D::Error> {
        match (self.f, self.typ) {
            ("send", _) => Send::deserialize(d).map(Value::Send),
            ("poll", 1) => PollOk::deserialize(d).map(Value::Poll),
            ("final-read", 1) => FinalReadOk::deserialize(d).map(Value::Final),
            ("final-read-page", _) => Page::deserialize(d).map(Value::Page),
            ("final-read", _) => Option::<FinalNotOk>::deserialize(d).map(Value::FinalOther),
            ("commit", _) => Commit::deserialize(d).map(Value::Commit),
            ("assign", 1) => rebalance(AssignOk::deserialize(d).map(|v| Rebalance {
                assign: true,
                topic: v.topic,
                partitions: v.partitions,
                group: v.group,
                positions: match v.positions {
                    Maybe::Present(p) => Some(p),
                    Maybe::Absent => None,
                },
            })?),
            ("revoke", 1) => rebalance(RevokeOk::deserialize(d).map(|v| Rebalance {
                assign: false,
                topic: v.topic,
                partitions: v.partitions,
                group: v.group,
                positions: None,
            })?),
            ("poll" | "assign" | "revoke", _) => Loose::deserialize(d).map(|_| Value::Checked),
            _ => IgnoredAny::deserialize(d).map(|_| Value::Other),
        }
    }
}

/// The value of `raw` typed for kind `f` and type `typ`.
pub fn typed<'a>(raw: &'a RawValue, f: &str, typ: u8) -> serde_json::Result<Value<'a>> {
    let mut de = serde_json::Deserializer::from_str(raw.get());
    let v = de::DeserializeSeed::deserialize(ValueSeed { f, typ }, &mut de)?;
    de.end()?;
    Ok(v)
}

impl<'de: 'a, 'a> Deserialize<'de> for Op<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Op<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an op object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Op<'de>, A::Error> {
                let (mut index, mut process, mut typ, mut f, mut time, mut wall) = (false, None, None, None, None, None);
                let mut value = Value::Absent;
                let mut seen_value = false;
                let dup = || de::Error::custom("a repeated key");
                while let Some(k) = m.next_key::<Str>()? {
                    match &*k.0 {
                        "index" => {
                            if std::mem::replace(&mut index, true) {
                                return Err(dup());
                            }
                            m.next_value::<Int>()?;
                        }
                        "process" => {
                            if process.is_some() {
                                return Err(dup());
                            }
                            process = Some(m.next_value::<Str>()?);
                        }
                        "type" => {
                            if typ.is_some() {
                                return Err(dup());
                            }
                            let t: Str = m.next_value()?;
                            typ = Some(type_code(&t.0).ok_or_else(|| de::Error::custom("op type"))?);
                        }
                        "f" => {
                            if f.is_some() {
                                return Err(dup());
                            }
                            f = Some(m.next_value::<Str>()?);
                        }
                        "time" => {
                            if time.is_some() {
                                return Err(dup());
                            }
                            let t: u64 = m.next_value()?;
                            if t >= 1 << 63 {
                                return Err(de::Error::custom("time"));
                            }
                            time = Some(t);
                        }
                        "wall" => {
                            if wall.is_some() {
                                return Err(dup());
                            }
                            let raw: &'de RawValue = m.next_value()?;
                            serde_json::from_str::<Option<f64>>(raw.get()).map_err(de::Error::custom)?;
                            wall = Some(raw.get());
                        }
                        "value" => {
                            if std::mem::replace(&mut seen_value, true) {
                                return Err(dup());
                            }
                            value = match (&f, typ) {
                                (Some(f), Some(typ)) => m.next_value_seed(ValueSeed { f: &f.0, typ })?,
                                _ => Value::Raw(m.next_value()?),
                            };
                        }
                        _ => {
                            m.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                match (index, process, typ, f, time) {
                    (true, Some(process), Some(typ), Some(f), Some(time)) => Ok(Op { typ, process, f, value, time, wall }),
                    _ => Err(de::Error::custom("an envelope field is missing")),
                }
            }
        }
        d.deserialize_map(V)
    }
}

/// An `assign` or `revoke` ok: what the group and ordering checkers keep of it.
pub struct Rebalance<'a> {
    pub assign: bool,
    pub topic: Option<Str<'a>>,
    pub partitions: Vec<u32>,
    /// absent, or present (null: no group)
    pub group: Maybe<Option<Str<'a>>>,
    pub positions: Option<Positions>,
}

/// An assign's `positions` (an offsets object) as Python reads it for partition p:
/// `positions.get(str(p))`, so only keys in canonical decimal name a partition; the
/// other keys are checked as [`OffsetValues`]' and dropped.  A key repeated verbatim is
/// refused (Python's `json` keeps its last value: the Python path decides).
#[derive(Debug, Default, PartialEq)]
pub struct Positions(pub Vec<(u32, Option<i128>)>);

impl Positions {
    /// Add one entry; None if the key is out of schema or its text came before.
    pub fn push(&mut self, keys: &mut Vec<String>, k: &str, v: Option<i128>) -> Option<()> {
        if keys.iter().any(|x| x == k) {
            return None;
        }
        keys.push(k.to_owned());
        let p = offsets_key(k)?;
        if (k == "0" || !k.starts_with('0')) && p < 1 << 31 {
            self.0.push((p as u32, v));
        }
        Some(())
    }

    /// The position of partition `p` (None: absent or null).
    pub fn get(&self, p: u32) -> Option<i128> {
        self.0.iter().find(|e| e.0 == p).and_then(|e| e.1)
    }
}

impl<'de> Deserialize<'de> for Positions {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Positions;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an offsets object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Positions, A::Error> {
                let (mut out, mut keys) = (Positions::default(), Vec::new());
                while let Some(k) = m.next_key::<Str>()? {
                    let v = m.next_value::<Option<Int>>()?.map(|i| i.0);
                    out.push(&mut keys, &k.0, v).ok_or_else(|| de::Error::custom("offsets key"))?;
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
    }
}
