//! Record identities as one `u64` each, never a heap object per record.
//!
//! A record's identity ("rid", `kfchaos/checkers/records.py`) is the `id` of a dict value
//! (a harness id: a string or an integer), null for a null value or a dict without `id`,
//! else the raw value.  Encoding (top 4 bits a tag, 60 bits payload):
//!
//! * `0`: no identity (null);
//! * tag 1: a harness string `<prefix>-<n>` (`producer-0-123`), the interned prefix in
//!   20 bits and `n` (canonical decimal, below 2**40) in 40 bits;
//! * tag 2: any other harness string, interned whole;
//! * tag 3: a harness integer (-2**59 <= id < 2**59);
//! * tag 4 / 5: a raw (non-dict) string / integer value, interned / as tag 3.
//!
//! Two encodings are equal exactly when Python's `==` says the identities are equal.
//! Anything else (a float or boolean raw value, a list, an integer out of range) is
//! [`UNSUPPORTED`]: the scan then hands the history to the Python checkers.
use rustc_hash::FxHashMap;

pub const NONE: u64 = 0;
pub const UNSUPPORTED: u64 = u64::MAX;
const TAG_SHIFT: u32 = 60;
const PAYLOAD: u64 = (1 << TAG_SHIFT) - 1;
const SPLIT_BITS: u32 = 40;
const SPLIT_MAX_PREFIXES: usize = 1 << 20;
const INT_LIMIT: i128 = 1 << 59;

#[derive(Default)]
pub struct Interner {
    prefixes: FxHashMap<Box<str>, u64>,
    whole: FxHashMap<Box<str>, u64>,
    raw: FxHashMap<Box<str>, u64>,
}

fn tagged(tag: u64, payload: u64) -> u64 {
    (tag << TAG_SHIFT) | (payload & PAYLOAD)
}

fn intern(map: &mut FxHashMap<Box<str>, u64>, s: &str) -> u64 {
    if let Some(&i) = map.get(s) {
        return i;
    }
    let i = map.len() as u64;
    map.insert(s.into(), i);
    i
}

/// `<prefix>-<n>` with `n` canonical decimal below 2**40: (prefix, n).
fn split(s: &str) -> Option<(&str, u64)> {
    let dash = s.rfind('-')?;
    let digits = &s[dash + 1..];
    if digits.is_empty() || digits.len() > 13 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    if n >= 1 << SPLIT_BITS {
        return None;
    }
    Some((&s[..dash], n))
}

fn int_payload(tag: u64, v: i128) -> u64 {
    if !(-INT_LIMIT..INT_LIMIT).contains(&v) {
        return UNSUPPORTED;
    }
    tagged(tag, v as i64 as u64)
}

impl Interner {
    pub fn harness_str(&mut self, s: &str) -> u64 {
        if let Some((prefix, n)) = split(s) {
            if self.prefixes.len() < SPLIT_MAX_PREFIXES || self.prefixes.contains_key(prefix) {
                let p = intern(&mut self.prefixes, prefix);
                return tagged(1, (p << SPLIT_BITS) | n);
            }
        }
        tagged(2, intern(&mut self.whole, s))
    }

    pub fn harness_int(&mut self, v: i128) -> u64 {
        int_payload(3, v)
    }

    pub fn raw_str(&mut self, s: &str) -> u64 {
        tagged(4, intern(&mut self.raw, s))
    }

    pub fn raw_int(&mut self, v: i128) -> u64 {
        int_payload(5, v)
    }
}

/// A harness id (what a write is keyed by; `None` and raw values are not).
pub fn is_harness(rid: u64) -> bool {
    matches!(rid >> TAG_SHIFT, 1..=3) && rid != UNSUPPORTED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_exactly_when_python_equal() {
        let mut i = Interner::default();
        let a = i.harness_str("producer-0-123");
        assert_eq!(a, i.harness_str("producer-0-123"));
        assert_ne!(a, i.harness_str("producer-0-0123"));
        assert_ne!(a, i.harness_str("producer-1-123"));
        assert_ne!(i.harness_str("123"), i.harness_int(123));
        assert_ne!(i.raw_str("x"), i.harness_str("x"));
        assert_ne!(i.raw_int(5), i.harness_int(5));
        assert_eq!(i.harness_int(1 << 60), UNSUPPORTED);
        assert!(is_harness(a) && !is_harness(i.raw_str("x")) && !is_harness(NONE));
    }
}
