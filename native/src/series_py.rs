//! `NativeSeries`: the scan's series (`series.rs`) as a Python object, answering in raw
//! integers what `Series` in `kfchaos/checkers/windows.py` computes; the Python adapter
//! (`kfchaos/checkers/native_series.py`) rounds them as that class does.  Times are
//! monotonic nanoseconds; a query time is any integer the caller clamps into i128.
use pyo3::prelude::*;

use crate::series::{SeriesScan, Sends, TopicPolls};

#[pyclass(frozen, module = "kfchaos._native")]
pub struct NativeSeries {
    sends: Sends,
    max_invoke: Option<u64>,
    /// (topic, its polls returning records) of every topic some ok poll read
    topics: Vec<(String, TopicPolls)>,
}

impl NativeSeries {
    /// The series of a finished scan; `polled`: every topic some ok poll read, by id and
    /// name.
    pub fn new(mut s: SeriesScan, polled: impl Iterator<Item = (u32, String)>) -> Self {
        let topics = polled.map(|(t, name)| (name, s.polls.remove(&t).unwrap_or_default())).collect();
        NativeSeries { sends: s.sends, max_invoke: s.max_invoke, topics }
    }

    fn send_range(&self, t0: i128, t1: i128) -> (usize, usize) {
        (self.sends.times.bisect_left(t0), self.sends.times.bisect_right(t1))
    }
}

#[pymethods]
impl NativeSeries {
    /// (send oks, records polled, latency samples) in [t0, t1], as Python's
    /// `bisect_right(t1) - bisect_left(t0)` (negative when t1 < t0).
    fn phase(&self, t0: i128, t1: i128) -> (i128, i128, usize) {
        let (i, j) = self.send_range(t0, t1);
        let mut recs: i128 = 0;
        for (_, p) in &self.topics {
            let (a, b) = (p.times.bisect_left(t0), p.times.bisect_right(t1));
            recs += p.cum[b] as i128 - p.cum[a] as i128;
        }
        (j as i128 - i as i128, recs, j.saturating_sub(i))
    }

    /// The latencies (ns) of the send oks in [t0, t1] at `ranks` of their sorted order.
    fn latencies(&self, t0: i128, t1: i128, ranks: Vec<usize>) -> PyResult<Vec<u64>> {
        let (i, j) = self.send_range(t0, t1);
        if ranks.iter().any(|&r| r >= j.saturating_sub(i)) {
            return Err(pyo3::exceptions::PyIndexError::new_err("a rank beyond the samples"));
        }
        Ok(self.sends.ranked(i, j, &ranks))
    }

    fn first_send_after(&self, t: i128) -> Option<u64> {
        self.sends.times.first_after(t)
    }

    /// The first poll returning records (any topic) strictly after `t`.
    fn first_poll_after(&self, t: i128) -> Option<u64> {
        self.topics.iter().filter_map(|(_, p)| p.times.first_after(t)).min()
    }

    fn first_topic_poll_after(&self, topic: &str, t: i128) -> Option<u64> {
        self.topics.iter().find(|(n, _)| n == topic).and_then(|(_, p)| p.times.first_after(t))
    }

    fn polled_topics(&self) -> Vec<String> {
        self.topics.iter().map(|(n, _)| n.clone()).collect()
    }

    fn invoked_after(&self, t: i128) -> bool {
        self.max_invoke.is_some_and(|m| m as i128 > t)
    }

    /// Send oks kept (a size figure).
    fn __len__(&self) -> usize {
        self.sends.times.len()
    }
}
