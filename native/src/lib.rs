//! `kfchaos._native`: one streaming pass over a history file into compact columns, and
//! the checkers ported onto them (`lost`, `duplicate`, `offsets`, `ordering`, `group`).
//!
//! Python entry point: `scan(paths, chunked) -> dict | str`.  `paths`: the files of one
//! history in order (one `history.kfh` or `history.jsonl`, or the chunk files of a
//! rotated `history.chunks/`); `chunked`: they are chunk files.  A `str` result is the
//! reason the native scan does not decide this history (see `source`, `digest`): the
//! caller then runs the Python path, which accepts it or raises the exact HistoryError.
//! The dict holds the op count, the ops of the kinds not digested here (`small`:
//! (ordinal, line bytes)), per topic the counts the ported checkers report
//! (`checks`), and per final read, in history order, the `offsets` checker's counts
//! (`offset_reads`: topic, records, partitions, out of range, holes, missing offsets,
//! past-end records written later or None, see `check_offsets`) and the `ordering`
//! checker's (`order`: `exact`, and per topic the gaps the final read explains and the
//! gaps of topics without one, see `check_ordering`) and the `group` checker's (`group`:
//! `exact`, the counts of its stats, and the skips left to the options, see
//! `check_group`), and what the `windows` and `recovery` checkers ask of sends and polls
//! (`series`: a `NativeSeries`, see `series_py`; `first_time`, `last_time`, `monotone`:
//! whether op times never decrease, `last_wall`: the last op's `wall` text or None).
//! The GIL is released while scanning.
mod check_group;
mod check_offsets;
mod check_ordering;
mod checks;
mod digest;
mod envelope;
mod fast;
mod ids;
mod ops;
mod series;
mod series_py;
mod source;
mod tables;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use rustc_hash::FxHashMap;

use digest::Digest;
use source::Fallback;

/// Read the files on one thread, digest their lines on this one (the digested blocks'
/// buffers go back to the reader, which fills them again).
type Scanned = (Digest, checks::Summary, Vec<Option<u64>>, check_ordering::OrderSummary, check_group::GroupSummary);

fn run(paths: &[String], chunked: bool) -> Result<Scanned, Fallback> {
    let mut d = Digest::default();
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<source::Block, Fallback>>(4);
    let (done_tx, done_rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
    std::thread::scope(|scope| -> Result<(), Fallback> {
        scope.spawn(move || {
            let mut spare = || done_rx.try_recv().unwrap_or_default();
            for path in paths {
                let mut send = |b: source::Block| tx.send(Ok(b)).is_ok();
                let r = if chunked {
                    source::chunk_file_lines(path, &mut send, &mut spare)
                } else {
                    source::jsonl_lines(path, &mut send, &mut spare)
                };
                if let Err(e) = r {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        });
        let rx = rx; // dropped on an early return, so the reader stops instead of blocking
        for block in rx.iter() {
            let block = block?;
            digest_block(&mut d, &block)?;
            let _ = done_tx.try_send(block.text);
        }
        Ok(())
    })?;
    d.finish()?;
    let s = checks::summarize(&mut d);
    let past: Vec<Option<u64>> = d.offset_reads.iter().map(|r| check_offsets::resolve(r, &mut d.slots)).collect();
    let order = check_ordering::summarize(&d.order, &d.finals);
    let group = check_group::summarize(&d.group, &d.finals);
    Ok((d, s, past, order, group))
}

/// Blocks above this many bytes are parsed on two threads (the digest stays in order).
const SPLIT_BYTES: usize = 256 << 10;

/// Digest a block's lines: the second half parsed on another thread meanwhile.
fn digest_block(d: &mut Digest, block: &source::Block) -> Result<(), Fallback> {
    let lines = block.lines();
    if block.text.len() < SPLIT_BYTES || lines.len() < 2 {
        for line in lines {
            d.line(line)?;
        }
        return Ok(());
    }
    let (first, second) = lines.split_at(lines.len() / 2);
    std::thread::scope(|scope| -> Result<(), Fallback> {
        let later = scope.spawn(|| second.iter().map(|l| digest::parse(l)).collect::<Result<Vec<_>, _>>());
        for line in first {
            d.line(line)?;
        }
        for p in later.join().map_err(|_| Fallback::from("a parsing thread panicked"))?? {
            d.apply(p)?;
        }
        Ok(())
    })
}

#[pyfunction]
fn scan(py: Python<'_>, paths: Vec<String>, chunked: bool) -> PyResult<PyObject> {
    let out = py.allow_threads(|| run(&paths, chunked));
    let (mut d, s, past, order, group) = match out {
        Ok(x) => x,
        Err(reason) => return Ok(reason.into_pyobject(py)?.into_any().unbind()),
    };
    let r = PyDict::new(py);
    r.set_item("n", d.n)?;
    let small = PyList::empty(py);
    for (i, line) in &d.small {
        small.append((i, PyBytes::new(py, line)))?;
    }
    r.set_item("small", small)?;
    r.set_item("n_invoked", d.n_invoked)?;
    r.set_item("lost_exact", s.lost_exact)?;
    r.set_item("dup_exact", s.dup_exact)?;
    let topics = PyDict::new(py);
    for (&t, c) in &s.topics {
        let e = PyDict::new(py);
        e.set_item("acked", c.acked)?;
        e.set_item("unacked", c.unacked)?;
        e.set_item("lost", c.lost)?;
        e.set_item("recovered", c.recovered)?;
        e.set_item("unseen", c.unseen)?;
        e.set_item("positions", c.positions)?;
        match d.finals.get(&t) {
            Some(fr) => e.set_item("final", (fr.isolation.as_str(), fr.n_records))?,
            None => e.set_item("final", py.None())?,
        }
        match d.polls.get(&t) {
            Some(p) => e.set_item("polls", (p.n_polls, p.n_records))?,
            None => e.set_item("polls", py.None())?,
        }
        topics.set_item(d.topics[t as usize].as_str(), e)?;
    }
    r.set_item("topics", topics)?;
    let reads = PyList::empty(py);
    for (o, later) in d.offset_reads.iter().zip(past) {
        let topic = d.topics[o.topic as usize].as_str();
        // None: Python decides (an ack's time needed, or a count beyond 64 bits)
        let later = later.filter(|_| !o.overflow);
        reads.append((topic, o.records, o.partitions, o.out_of_range, o.gaps, o.missing, later))?;
    }
    r.set_item("offset_reads", reads)?;
    // per-topic counts as (topic name, count) pairs
    let named = |m: &FxHashMap<u32, u64>| m.iter().map(|(t, n)| (d.topics[*t as usize].as_str(), *n)).collect::<Vec<_>>();
    let o = PyDict::new(py);
    o.set_item("exact", order.exact)?;
    o.set_item("explained", named(&order.explained))?;
    o.set_item("unresolved", named(&order.unresolved))?;
    r.set_item("order", o)?;
    let g = &d.group;
    let gd = PyDict::new(py);
    gd.set_item("exact", group.exact)?;
    gd.set_item("unresolved", named(&group.skips.unresolved))?;
    gd.set_item("early_held", group.early.held)?;
    gd.set_item("early_unresolved", named(&group.early.unresolved))?;
    gd.set_item("commits", (g.commits[1], g.commits[2], g.commits[3]))?;
    gd.set_item("assigns", g.assigns)?;
    gd.set_item("revokes", g.revokes)?;
    gd.set_item("events", g.events)?;
    gd.set_item("redelivery_events", g.redelivery_events)?;
    gd.set_item("redelivered", g.redelivered)?;
    gd.set_item("max_redelivered", g.max_redelivered)?;
    gd.set_item("below_commit", g.below_commit)?;
    gd.set_item("uncommitted", g.uncommitted)?;
    r.set_item("group", gd)?;
    let polled: Vec<(u32, String)> = d.polls.keys().map(|&t| (t, d.topics[t as usize].clone())).collect();
    let sc = std::mem::take(&mut d.series);
    drop(d);
    r.set_item("first_time", sc.first_time)?;
    r.set_item("last_time", sc.last_time)?;
    r.set_item("monotone", sc.monotone)?;
    r.set_item("last_wall", sc.last_wall.as_ref().map(|w| PyBytes::new(py, w)))?;
    r.set_item("series", Py::new(py, series_py::NativeSeries::new(sc, polled.into_iter()))?)?;
    Ok(r.into_any().unbind())
}

#[pyfunction]
fn is_chunk_file(path: &str) -> bool {
    source::is_chunk_file(path)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(scan, m)?)?;
    m.add_function(wrap_pyfunction!(is_chunk_file, m)?)?;
    m.add_class::<series_py::NativeSeries>()?;
    Ok(())
}
