//! The fast scanner against the serde path: the writer's form is read fast and to the
//! same values; every other form (and every one-byte change of the writer's) is either
//! read to the same values or left to serde.
use super::parse;
use crate::digest::{parse_serde, Parsed};
use crate::envelope::Value;
use crate::ops::*;

fn id(i: &Id) -> String {
    match i {
        Id::S(s) => format!("S{s:?}"),
        Id::I(v) => format!("I{v}"),
    }
}

fn maybe_int(x: &Option<Int>) -> String {
    format!("{:?}", x.map(|i| i.0))
}

fn records(rs: &[Record]) -> String {
    let one = |r: &Record| {
        let v = &r.value;
        let val = match &v.val {
            RecVal::Null => "null".to_string(),
            RecVal::Harness(i) => format!("h{}", id(i)),
            RecVal::RawStr(s) => format!("s{s:?}"),
            RecVal::RawInt(i) => format!("i{i}"),
            RecVal::Other => "other".to_string(),
        };
        format!("{}/{}:{val}:{}{}{}", r.partition, r.offset, v.count_set, v.count_bad, v.key_bad)
    };
    rs.iter().map(one).collect::<Vec<_>>().join(",")
}

/// Everything a parsed line holds, as text.
fn describe(p: &Parsed) -> String {
    let (typ, process, v) = match p {
        Parsed::Small(l, st) => return format!("small {l} {st:?}"),
        Parsed::Op(t, process, v, _) => (t, process, v),
    };
    let stamp = format!("{:?}", p.stamp());
    let s = |x: &Option<Str>| format!("{:?}", x.as_ref().map(|s| s.0.to_string()));
    let g = |x: &Maybe<Option<Str>>| format!("{:?}", x.as_ref().map(|x| x.as_ref().map(|s| s.0.to_string())));
    let body = match v {
        Value::Send(v) => format!(
            "send {} {} {:?} {} {} {}",
            id(&v.id),
            v.seq.0,
            v.topic.as_ref().map(|t| t.0.to_string()),
            s(&v.key),
            maybe_int(&v.partition),
            maybe_int(&v.offset)
        ),
        Value::Poll(v) => format!("poll {} {} [{}]", v.topic.0, g(&v.group), records(&v.records)),
        Value::Final(v) => format!(
            "final {} {} [{}] {:?} {:?} {:?} {:?} {:?} {:?}",
            v.topic.0,
            s(&v.isolation),
            records(&v.records),
            v.past_end.as_ref().map(|r| records(r)),
            v.start_offsets.as_ref().map(|o| format!("{:?}", o.0)),
            v.end_offsets.as_ref().map(|o| format!("{:?}", o.0)),
            v.fetch_end_offsets.as_ref().map(|o| format!("{:?}", o.0)),
            v.listed_at.as_ref().map(|i| i.0),
            v.pages.as_ref().map(|i| i.0)
        ),
        Value::Page(v) => format!("page {} {} [{}]", v.topic.0, v.page.0, records(&v.records)),
        Value::FinalOther(v) => format!("final-other {:?}", v.as_ref().map(|v| (v.topic.as_deref().map(str::to_owned), v.pages.map(|i| i.0)))),
        Value::Rebalance(r) => format!(
            "rebalance {} {} {:?} {} {:?}",
            r.assign,
            s(&r.topic),
            r.partitions,
            g(&r.group),
            r.positions.as_ref().map(|p| &p.0)
        ),
        Value::Commit(c) => format!("commit {} {} {:?}", s(&c.group), s(&c.topic), c.offsets.0),
        Value::Checked => "checked".to_string(),
        Value::Other => "other".to_string(),
        Value::Absent => "absent".to_string(),
        Value::Raw(r) => format!("raw {}", r.get()),
    };
    format!("{typ} {:?} {body} {stamp}", process.0)
}

fn op(typ: &str, f: &str, value: &str) -> String {
    format!(
        r#"{{"index":7,"process":"producer-0","type":"{typ}","f":"{f}","value":{value},"time":1000000007000,"wall":1700000000.000007}}"#
    )
}

/// The writer's lines of every fast kind (the benchmark generator's layout and others).
fn writer_lines() -> Vec<String> {
    let rec = r#"{"partition":2,"offset":40,"key":"k8","value":{"id":"producer-1-9","key":"k8","seq":3,"producer":"producer-1"}}"#;
    vec![
        op("invoke", "send", r#"{"topic":"t","key":"k8","id":"producer-1-9","seq":3}"#),
        op("ok", "send", r#"{"topic":"t","key":"k8","id":"producer-1-9","seq":3,"partition":2,"offset":40}"#),
        op("info", "send", r#"{"topic":"t","key":"k8","id":"producer-1-9","seq":3,"error":"timeout"}"#),
        op("fail", "send", r#"{"id":12,"seq":0,"topic":"t","key":null,"partition":null,"offset":null}"#),
        op("ok", "poll", &format!(r#"{{"topic":"t","group":"g1","records":[{rec},{rec}]}}"#)),
        op("ok", "poll", r#"{"topic":"t","group":"g1","records":[]}"#),
        op("ok", "poll", r#"{"topic":"t","records":[{"partition":0,"offset":1,"value":"raw"},{"partition":0,"offset":2,"value":17},{"partition":0,"offset":3,"value":null},{"partition":0,"offset":4}]}"#),
        op("ok", "poll", r#"{"topic":"t","records":[{"partition":0,"offset":1,"value":{"id":5,"count":2,"key":null}},{"partition":0,"offset":2,"value":{"count":"x","key":"k"}}]}"#),
        op(
            "ok",
            "final-read",
            &format!(
                r#"{{"topic":"t","isolation":"read_committed","start_offsets":{{"0":0,"1":0}},"end_offsets":{{"0":41,"1":null}},"records":[{rec}]}}"#
            ),
        ),
        op("ok", "final-read", &format!(r#"{{"topic":"t","records":[],"past_end":[{rec}],"listed_at":5,"fetch_end_offsets":{{}}}}"#)),
        op("ok", "final-read", &format!(r#"{{"topic":"t","records":[{rec}],"pages":3}}"#)),
        op("ok", "final-read", r#"{"topic":"t","records":[],"start_offsets":{"00":3,"0":null,"7":5},"end_offsets":{}}"#),
        op("info", "final-read-page", &format!(r#"{{"topic":"t","page":0,"records":[{rec},{rec}]}}"#)),
        op("info", "final-read-page", r#"{"page":12,"records":[],"topic":"t"}"#),
        op("ok", "final-read-page", &format!(r#"{{"topic":"t","page":1,"records":[{rec}],"note":"x"}}"#)),
        op("invoke", "commit", r#"{"group":"g1","topic":"t","offsets":{"0":12,"2":40}}"#),
        op("ok", "commit", r#"{"group":"g1","topic":"t","offsets":{"0":12,"2":40}}"#),
        op("ok", "assign", r#"{"group":"g1","topic":"t","partitions":[0,2,4],"positions":{"0":null,"2":null,"4":null}}"#),
        op("ok", "revoke", r#"{"group":"g1","topic":"t","partitions":[]}"#),
        // the group checker's fields: a group null or absent, odd keys, positions values
        op("ok", "poll", &format!(r#"{{"topic":"t","group":null,"records":[{rec}]}}"#)),
        op("info", "commit", r#"{"group":null,"offsets":{"0":9,"00":5,"3":null}}"#),
        op("ok", "assign", r#"{"group":null,"topic":"t","partitions":[5],"positions":{"05":7,"5":3,"4294967296":1}}"#),
        op("ok", "assign", r#"{"topic":null,"partitions":[1]}"#),
        op("ok", "revoke", r#"{"topic":"t","partitions":[1]}"#),
    ]
}

#[test]
fn the_writers_lines_are_read_fast_to_the_serde_values() {
    for line in writer_lines() {
        let fast = parse(&line).unwrap_or_else(|| panic!("not read fast: {line}"));
        let slow = parse_serde(&line).unwrap_or_else(|e| panic!("serde rejects {line}: {e}"));
        assert_eq!(describe(&fast), describe(&slow), "{line}");
    }
}

#[test]
fn other_forms_are_left_to_serde() {
    let odd = [
        // the envelope in another key order, with whitespace, with an extra key, after the end
        r#"{"process":"p","index":7,"type":"ok","f":"commit","value":{"offsets":{}},"time":1,"wall":1.5}"#,
        r#"{"index":7, "process":"p","type":"ok","f":"commit","value":{"offsets":{}},"time":1,"wall":1.5}"#,
        r#"{"index":7,"process":"p","type":"ok","f":"commit","value":{"offsets":{}},"time":1,"wall":1.5,"x":1}"#,
        r#"{"index":7,"process":"p","type":"ok","f":"commit","value":{"offsets":{}},"time":1,"wall":1.5} "#,
        // escapes, numbers not in canonical unsigned form, a float id, a huge wall
        r#"{"index":7,"process":"p\u0041","type":"ok","f":"commit","value":{"offsets":{}},"time":1,"wall":1.5}"#,
        r#"{"index":-7,"process":"p","type":"ok","f":"commit","value":{"offsets":{}},"time":1,"wall":1.5}"#,
        r#"{"index":07,"process":"p","type":"ok","f":"commit","value":{"offsets":{}},"time":1,"wall":1.5}"#,
        r#"{"index":7,"process":"p","type":"ok","f":"commit","value":{"offsets":{}},"time":1,"wall":1e5}"#,
        r#"{"index":7,"process":"p","type":"ok","f":"send","value":{"id":1.0,"seq":0,"topic":"t"},"time":1,"wall":1.5}"#,
        r#"{"index":7,"process":"p","type":"ok","f":"commit","value":{"offsets":{}},"time":1,"wall":1234567890123456789.5}"#,
        // integers beyond 64 bits (or the field's width), and time beyond 63 bits
        r#"{"index":18446744073709551616,"process":"p","type":"ok","f":"commit","value":{"offsets":{}},"time":1,"wall":1.5}"#,
        r#"{"index":7,"process":"p","type":"ok","f":"send","value":{"id":"a","seq":99999999999999999999,"topic":"t"},"time":1,"wall":1.5}"#,
        r#"{"index":7,"process":"p","type":"ok","f":"poll","value":{"topic":"t","records":[{"partition":4294967296,"offset":0}]},"time":1,"wall":1.5}"#,
        r#"{"index":7,"process":"p","type":"ok","f":"commit","value":{"offsets":{}},"time":9223372036854775808,"wall":1.5}"#,
        // repeated keys: in a value, a record, a record's dict value
        r#"{"index":7,"process":"p","type":"ok","f":"send","value":{"id":"a","seq":1,"seq":2,"topic":"t"},"time":1,"wall":1.5}"#,
        r#"{"index":7,"process":"p","type":"ok","f":"poll","value":{"topic":"t","records":[{"partition":1,"offset":0,"offset":1}]},"time":1,"wall":1.5}"#,
        r#"{"index":7,"process":"p","type":"ok","f":"poll","value":{"topic":"t","records":[{"partition":1,"offset":0,"value":{"id":"a","id":"b"}}]},"time":1,"wall":1.5}"#,
        r#"{"index":7,"process":"p","type":"ok","f":"final-read","value":{"topic":"t","records":[],"end_offsets":{"0":1,"0":2}},"time":1,"wall":1.5}"#,
        // kinds and types not read fast, values of other shapes
        r#"{"index":7,"process":"p","type":"ok","f":"txn","value":{"txn":"a"},"time":1,"wall":1.5}"#,
        r#"{"index":7,"process":"p","type":"ok","f":"fault-start","value":{"fault":"kill"},"time":1,"wall":1.5}"#,
        r#"{"index":7,"process":"p","type":"invoke","f":"poll","value":null,"time":1,"wall":1.5}"#,
        r#"{"index":7,"process":"p","type":"ok","f":"send","value":{"id":"a","seq":1,"topic":"t","meta":{}},"time":1,"wall":1.5}"#,
        r#"{"index":7,"process":"p","type":"ok","f":"assign","value":{"partitions":[2147483648]},"time":1,"wall":1.5}"#,
        // a page: without records, a repeated page, a page number of another type, a final op not ok
        r#"{"index":7,"process":"p","type":"info","f":"final-read-page","value":{"topic":"t","page":0},"time":1,"wall":1.5}"#,
        r#"{"index":7,"process":"p","type":"info","f":"final-read-page","value":{"topic":"t","page":0,"page":1,"records":[]},"time":1,"wall":1.5}"#,
        r#"{"index":7,"process":"p","type":"info","f":"final-read-page","value":{"topic":"t","page":"0","records":[]},"time":1,"wall":1.5}"#,
        r#"{"index":7,"process":"p","type":"info","f":"final-read","value":{"topic":"t","pages":2},"time":1,"wall":1.5}"#,
    ];
    for line in odd {
        assert!(parse(line).is_none(), "read fast: {line}");
    }
}

/// Every one-byte deletion, and replacement by a byte that changes the JSON, of the
/// writer's lines: what is read fast is what serde reads.
#[test]
fn one_byte_changes_are_read_as_serde_reads_them() {
    let (mut fast, mut total) = (0, 0);
    for line in writer_lines() {
        let b = line.as_bytes();
        for i in 0..b.len() {
            let mut variants = vec![[&b[..i], &b[i + 1..]].concat()];
            for c in b"\"\\,:{}[]0919 -.enull".iter() {
                variants.push([&b[..i], &[*c][..], &b[i + 1..]].concat());
            }
            for v in variants {
                let Ok(s) = std::str::from_utf8(&v) else { continue };
                total += 1;
                if let Some(p) = parse(s) {
                    fast += 1;
                    let slow = parse_serde(s).unwrap_or_else(|e| panic!("read fast, serde rejects {s}: {e}"));
                    assert_eq!(describe(&p), describe(&slow), "{s}");
                }
            }
        }
    }
    assert!(fast > 0 && fast < total, "{fast} of {total} read fast");
}
