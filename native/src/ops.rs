//! The JSON of one operation, typed as strictly as `kfchaos/history_schema.py` (or more).
//!
//! These are the values (`envelope.rs`: the op around them).  Only the kinds the scan
//! digests are typed (`send`, `poll`, `final-read`, `final-read-page`, `commit`, `assign`,
//! `revoke`); every
//! other op goes back to Python whole, where the schema checks it.  A value the Python schema accepts but these types reject (a duplicated key, an
//! integer beyond 64 bits, a NaN in a free field, ...) is not an error: the caller hands
//! the history to the Python path, which accepts it or names the problem exactly.
use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::envelope::Positions;

/// Any JSON integer that fits 64 bits (signed or not).
#[derive(Clone, Copy, Debug)]
pub struct Int(pub i128);

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Int;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer")
            }
            fn visit_i64<E>(self, v: i64) -> Result<Int, E> {
                Ok(Int(v as i128))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Int, E> {
                Ok(Int(v as i128))
            }
        }
        d.deserialize_any(V)
    }
}

/// A JSON string (never null), borrowed from the input when it has no escapes.
pub struct Str<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

/// A harness id: a string or an integer.
pub enum Id<'a> {
    S(Cow<'a, str>),
    I(i128),
}

impl<'de: 'a, 'a> Deserialize<'de> for Id<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Id<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or integer id")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Id<'de>, E> {
                Ok(Id::S(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Id<'de>, E> {
                Ok(Id::S(Cow::Owned(v.to_owned())))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Id<'de>, E> {
                Ok(Id::I(v as i128))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Id<'de>, E> {
                Ok(Id::I(v as i128))
            }
        }
        d.deserialize_any(V)
    }
}

/// An optional field the schema types without `|null`: absent, or present and not null.
#[derive(Default)]
pub enum Maybe<T> {
    #[default]
    Absent,
    Present(T),
}


impl<T> Maybe<T> {
    pub fn as_ref(&self) -> Option<&T> {
        match self {
            Maybe::Absent => None,
            Maybe::Present(t) => Some(t),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Maybe<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Maybe::Present)
    }
}

/// An object (contents free) or null: the schema's loose values.
pub struct Loose;

impl<'de> Deserialize<'de> for Loose {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Loose;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object or null")
            }
            fn visit_unit<E>(self) -> Result<Loose, E> {
                Ok(Loose)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Loose, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Loose)
            }
        }
        d.deserialize_any(V)
    }
}

/// An offsets object whose values the scan keeps (a final read's start/end offsets):
/// (partition, offset or None for null), in the object's order.  The keys are checked
/// as decimal partition strings (ASCII digits, 1..=10 of them); a key repeated verbatim is refused (Python's `json` keeps its last
/// value, in its first place: the Python path decides such a history).
#[derive(Debug, PartialEq)]
pub struct OffsetValues(pub Vec<(u64, Option<i128>)>);

/// A key of an offsets object as the partition it names (`None`: not the schema's form).
pub fn offsets_key(k: &str) -> Option<u64> {
    if k.is_empty() || k.len() > 10 || !k.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    k.parse().ok()
}

impl OffsetValues {
    /// Add one entry; false if the same key text came before.
    pub fn push(&mut self, keys: &mut Vec<String>, k: &str, v: Option<i128>) -> Option<()> {
        if keys.iter().any(|x| x == k) {
            return None;
        }
        keys.push(k.to_owned());
        self.0.push((offsets_key(k)?, v));
        Some(())
    }
}

impl<'de> Deserialize<'de> for OffsetValues {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OffsetValues;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an offsets object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<OffsetValues, A::Error> {
                let (mut out, mut keys) = (OffsetValues(Vec::new()), Vec::new());
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

/// What the scan keeps of a record's value: its identity and the schema's flags.
pub enum RecVal<'a> {
    Null,
    Harness(Id<'a>),
    RawStr(Cow<'a, str>),
    RawInt(i128),
    /// a value whose identity the scan does not encode (float, boolean, list)
    Other,
}

pub struct RecValue<'a> {
    pub val: RecVal<'a>,
    pub count_set: bool,
    pub count_bad: bool,
    pub key_bad: bool,
}

impl Default for RecValue<'_> {
    fn default() -> Self {
        RecValue { val: RecVal::Null, count_set: false, count_bad: false, key_bad: false }
    }
}

/// A scalar identity field of a dict value: string, integer or null (else `bad`).
enum Scalar<'a> {
    Null,
    Id(Id<'a>),
    Bad,
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON")
            }
            fn visit_unit<E>(self) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Null)
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Id(Id::S(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Id(Id::S(Cow::Owned(v.to_owned()))))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Id(Id::I(v as i128)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Id(Id::I(v as i128)))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Bad)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Bad)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Scalar<'de>, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Bad)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Scalar<'de>, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Bad)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RecValue<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RecValue<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON")
            }
            fn visit_unit<E>(self) -> Result<RecValue<'de>, E> {
                Ok(RecValue::default())
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<RecValue<'de>, E> {
                Ok(RecValue { val: RecVal::RawStr(Cow::Borrowed(v)), ..Default::default() })
            }
            fn visit_str<E>(self, v: &str) -> Result<RecValue<'de>, E> {
                Ok(RecValue { val: RecVal::RawStr(Cow::Owned(v.to_owned())), ..Default::default() })
            }
            fn visit_i64<E>(self, v: i64) -> Result<RecValue<'de>, E> {
                Ok(RecValue { val: RecVal::RawInt(v as i128), ..Default::default() })
            }
            fn visit_u64<E>(self, v: u64) -> Result<RecValue<'de>, E> {
                Ok(RecValue { val: RecVal::RawInt(v as i128), ..Default::default() })
            }
            fn visit_f64<E>(self, _: f64) -> Result<RecValue<'de>, E> {
                Ok(RecValue { val: RecVal::Other, ..Default::default() })
            }
            fn visit_bool<E>(self, _: bool) -> Result<RecValue<'de>, E> {
                Ok(RecValue { val: RecVal::Other, ..Default::default() })
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<RecValue<'de>, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(RecValue { val: RecVal::Other, ..Default::default() })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<RecValue<'de>, A::Error> {
                // a dict: its identity is its "id" (null when absent); the last copy of a
                // repeated key wins, as in Python's json
                let mut out = RecValue { val: RecVal::Null, ..Default::default() };
                let (mut id, mut id_bad) = (Scalar::Null, false);
                let (mut count, mut key) = (Scalar::Null, Scalar::Null);
                while let Some(k) = m.next_key::<Str>()? {
                    match &*k.0 {
                        "id" => {
                            id = m.next_value()?;
                            id_bad = matches!(id, Scalar::Bad);
                        }
                        "count" => count = m.next_value()?,
                        "key" => key = m.next_value()?,
                        _ => {
                            m.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                if id_bad {
                    return Err(de::Error::custom("record id"));
                }
                out.count_set = !matches!(count, Scalar::Null);
                out.count_bad = matches!(count, Scalar::Bad | Scalar::Id(Id::S(_)));
                out.key_bad = matches!(key, Scalar::Bad);
                out.val = match id {
                    Scalar::Id(i) => RecVal::Harness(i),
                    _ => RecVal::Null,
                };
                Ok(out)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
pub struct Record<'a> {
    pub partition: u32,
    pub offset: u64,
    #[serde(default, borrow)]
    pub value: RecValue<'a>,
}

/// The schema's rule for a record list's values, per op: once any value carries a
/// count, every count must be an integer or null and every key a scalar.
pub fn records_ok(recs: &[Record]) -> bool {
    if !recs.iter().any(|r| r.value.count_set) {
        return true;
    }
    !recs.iter().any(|r| r.value.count_bad || r.value.key_bad)
}

#[derive(Deserialize)]
pub struct Send<'a> {
    #[serde(borrow)]
    pub id: Id<'a>,
    pub seq: Int,
    #[serde(default, borrow)]
    pub topic: Maybe<Str<'a>>,
    #[serde(default, borrow)]
    pub key: Option<Str<'a>>,
    #[serde(default)]
    pub partition: Option<Int>,
    #[serde(default)]
    pub offset: Option<Int>,
}

#[derive(Deserialize)]
pub struct PollOk<'a> {
    #[serde(borrow)]
    pub topic: Str<'a>,
    #[serde(borrow)]
    pub records: Vec<Record<'a>>,
    /// absent, or present (null: no group)
    #[serde(default, borrow)]
    pub group: Maybe<Option<Str<'a>>>,
}

#[derive(Deserialize)]
pub struct FinalReadOk<'a> {
    #[serde(borrow)]
    pub topic: Str<'a>,
    #[serde(borrow)]
    pub records: Vec<Record<'a>>,
    #[serde(default, borrow)]
    pub isolation: Option<Str<'a>>,
    #[serde(default)]
    pub start_offsets: Maybe<OffsetValues>,
    #[serde(default)]
    pub end_offsets: Maybe<OffsetValues>,
    #[serde(default)]
    pub fetch_end_offsets: Maybe<OffsetValues>,
    #[serde(default, borrow)]
    pub past_end: Maybe<Vec<Record<'a>>>,
    #[serde(default)]
    pub listed_at: Maybe<Int>,
    /// a paged read: the number of its page ops before it
    #[serde(default)]
    pub pages: Maybe<Int>,
}

/// A page of a final read (`final-read-page`, any type): its records go into the read
/// pending for (process, topic) until the final op (`kfchaos/history_pages.py`).
#[derive(Deserialize)]
pub struct Page<'a> {
    #[serde(borrow)]
    pub topic: Str<'a>,
    pub page: Int,
    #[serde(borrow)]
    pub records: Vec<Record<'a>>,
}

/// A final read that is not ok (the schema types only `pages`): what its pages need, the
/// topic when it is a string (Python's key for the read's pages) and `pages`.
pub struct FinalNotOk<'a> {
    pub topic: Option<Cow<'a, str>>,
    pub pages: Option<Int>,
}

impl<'de: 'a, 'a> Deserialize<'de> for FinalNotOk<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw<'a> {
            #[serde(default, borrow)]
            topic: Option<Scalar<'a>>,
            #[serde(default)]
            pages: Option<Int>,
        }
        let r = Raw::deserialize(d)?;
        let topic = match r.topic {
            Some(Scalar::Id(Id::S(s))) => Some(s),
            _ => None,
        };
        Ok(FinalNotOk { topic, pages: r.pages })
    }
}

/// A `commit` op's value (any type): its offsets, group and topic.
#[derive(Deserialize)]
pub struct Commit<'a> {
    pub offsets: OffsetValues,
    #[serde(default, borrow)]
    pub group: Option<Str<'a>>,
    #[serde(default, borrow)]
    pub topic: Option<Str<'a>>,
}

#[derive(Deserialize)]
pub struct AssignOk<'a> {
    pub partitions: Vec<u32>,
    #[serde(default, borrow)]
    pub group: Maybe<Option<Str<'a>>>,
    #[serde(default, borrow)]
    pub topic: Option<Str<'a>>,
    #[serde(default)]
    pub positions: Maybe<Positions>,
}

#[derive(Deserialize)]
pub struct RevokeOk<'a> {
    pub partitions: Vec<u32>,
    #[serde(default, borrow)]
    pub group: Maybe<Option<Str<'a>>>,
    #[serde(default, borrow)]
    pub topic: Option<Str<'a>>,
}

pub fn partitions_ok(ps: &[u32]) -> bool {
    ps.iter().all(|&p| p < 1 << 31)
}
