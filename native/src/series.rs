//! What the `windows` and `recovery` checkers ask of the sends and polls, kept compactly
//! during the scan (the Python reference: `Series` in `kfchaos/checkers/windows.py`).
//!
//! * every `send` ok: its time and its latency (ok time - invoke time), history order;
//! * the latest send invoke time (recovery asks only whether a send was invoked after t);
//! * per topic, every `poll` ok returning records: its time and the cumulative record
//!   count (Python's `PollDigest.times` / `cum`);
//! * the first and last op time, whether op times never decrease (the writer's
//!   guarantee; when they do decrease the caller hands the history to Python, so every
//!   series here is sorted), and the last op's `wall` as written.
//!
//! Layout: times as [`Times`] (a `u64` base per block of up to [`BLOCK`] entries, `u32`
//! offsets: ~4 bytes a time); latencies as `u32` nanoseconds, with the rare ones of
//! 2^32 - 1 ns or more kept exactly aside.  Queries mirror Python's `bisect`: a phase is
//! the closed interval [t0, t1] (`bisect_left(t0)` .. `bisect_right(t1)`), "first after
//! t" is strictly after (`bisect_right`), and latency percentiles are values at given
//! ranks of the sorted samples (the ranks are computed in Python, with its rounding).
use rustc_hash::FxHashMap;

/// Entries per block of [`Times`].
pub const BLOCK: usize = 1024;
/// A latency kept in `big` (it does not fit the `u32`).
const ESC: u32 = u32::MAX;
/// Ranges up to this many samples are copied and sorted; longer ones radix-selected.
const SORT_MAX: usize = 1 << 16;

/// A non-decreasing sequence of `u64` times in blocks (base + `u32` offsets).
#[derive(Default)]
pub struct Times {
    bases: Vec<u64>,
    firsts: Vec<usize>,
    offs: Vec<u32>,
}

impl Times {
    /// Append `t` (a time below the block's base opens a new block: never a wrap).
    pub fn push(&mut self, t: u64) {
        let n = self.offs.len();
        let fits = match (self.bases.last(), self.firsts.last()) {
            (Some(&b), Some(&f)) => t >= b && t - b < ESC as u64 && n - f < BLOCK,
            _ => false,
        };
        if !fits {
            self.bases.push(t);
            self.firsts.push(n);
        }
        self.offs.push((t - self.bases.last().unwrap()) as u32);
    }

    pub fn len(&self) -> usize {
        self.offs.len()
    }

    pub fn get(&self, i: usize) -> u64 {
        let b = self.firsts.partition_point(|&f| f <= i) - 1;
        self.bases[b] + self.offs[i] as u64
    }

    /// How many leading entries satisfy `below` (true on a prefix of sorted entries).
    fn prefix(&self, below: impl Fn(u64) -> bool) -> usize {
        let bk = self.bases.partition_point(|&b| below(b));
        if bk == 0 {
            return 0;
        }
        let (base, lo) = (self.bases[bk - 1], self.firsts[bk - 1]);
        let hi = self.firsts.get(bk).copied().unwrap_or(self.offs.len());
        lo + self.offs[lo..hi].partition_point(|&o| below(base + o as u64))
    }

    /// Python's `bisect_left(times, t)`: entries below `t`.
    pub fn bisect_left(&self, t: i128) -> usize {
        self.prefix(|x| (x as i128) < t)
    }

    /// Python's `bisect_right(times, t)`: entries at or below `t`.
    pub fn bisect_right(&self, t: i128) -> usize {
        self.prefix(|x| (x as i128) <= t)
    }

    /// The first entry strictly after `t`.
    pub fn first_after(&self, t: i128) -> Option<u64> {
        let k = self.bisect_right(t);
        (k < self.len()).then(|| self.get(k))
    }
}

/// One topic's polls that returned records.
pub struct TopicPolls {
    pub times: Times,
    /// `cum[k]`: records of the polls before poll `k` (one more entry than `times`)
    pub cum: Vec<u64>,
}

impl Default for TopicPolls {
    fn default() -> Self {
        TopicPolls { times: Times::default(), cum: vec![0] }
    }
}

/// The ok sends: times and latencies.
#[derive(Default)]
pub struct Sends {
    pub times: Times,
    lat: Vec<u32>,
    /// (index, latency) of the latencies of `ESC` ns or more, index order
    big: Vec<(usize, u64)>,
}

impl Sends {
    pub fn push(&mut self, t: u64, lat: u64) {
        if lat >= ESC as u64 {
            self.big.push((self.lat.len(), lat));
            self.lat.push(ESC);
        } else {
            self.lat.push(lat as u32);
        }
        self.times.push(t);
    }

    /// The latencies of sends `i..j` at the given ranks of their sorted order (each rank
    /// below `j - i`).
    pub fn ranked(&self, i: usize, j: usize, ranks: &[usize]) -> Vec<u64> {
        let bl = self.big.partition_point(|e| e.0 < i);
        let bh = self.big.partition_point(|e| e.0 < j);
        let mut big: Vec<u64> = self.big[bl..bh].iter().map(|e| e.1).collect();
        big.sort_unstable();
        let small = &self.lat[i..j];
        if small.len() <= SORT_MAX {
            let mut all: Vec<u64> = small.iter().filter(|&&v| v != ESC).map(|&v| v as u64).collect();
            all.sort_unstable();
            all.extend(big);
            return ranks.iter().map(|&r| all[r]).collect();
        }
        let n_small = small.len() - big.len();
        let below: Vec<usize> = ranks.iter().copied().filter(|&r| r < n_small).collect();
        let mut picked = select_u32(small, &below).into_iter();
        ranks.iter().map(|&r| if r < n_small { picked.next().unwrap() as u64 } else { big[r - n_small] }).collect()
    }
}

/// The values at `ranks` (ascending order of rank not required) of `vals` without the
/// `ESC` entries, sorted: a 16-bit radix select (two passes a rank, no copy).
pub fn select_u32(vals: &[u32], ranks: &[usize]) -> Vec<u32> {
    let mut high = vec![0u64; 1 << 16];
    for &v in vals.iter().filter(|&&v| v != ESC) {
        high[(v >> 16) as usize] += 1;
    }
    let bucket = |hist: &[u64], mut r: u64| -> (usize, u64) {
        for (b, &c) in hist.iter().enumerate() {
            if r < c {
                return (b, r);
            }
            r -= c;
        }
        unreachable!("a rank beyond the samples")
    };
    let mut low = vec![0u64; 1 << 16];
    ranks
        .iter()
        .map(|&r| {
            let (hb, r) = bucket(&high, r as u64);
            low.iter_mut().for_each(|c| *c = 0);
            for &v in vals.iter().filter(|&&v| v != ESC && (v >> 16) as usize == hb) {
                low[(v & 0xffff) as usize] += 1;
            }
            let (lb, _) = bucket(&low, r);
            ((hb as u32) << 16) | lb as u32
        })
        .collect()
}

/// What the scan keeps for the series, fed op by op in history order.
pub struct SeriesScan {
    pub sends: Sends,
    /// rid -> invoke time of the sends in flight
    inflight: FxHashMap<u64, u64>,
    pub max_invoke: Option<u64>,
    /// per topic id: its polls returning records
    pub polls: FxHashMap<u32, TopicPolls>,
    pub first_time: Option<u64>,
    pub last_time: u64,
    /// op times never decrease
    pub monotone: bool,
    /// the `wall` text of the last op (None: it has no `wall` key)
    pub last_wall: Option<Vec<u8>>,
}

impl Default for SeriesScan {
    fn default() -> Self {
        SeriesScan {
            sends: Sends::default(),
            inflight: FxHashMap::default(),
            max_invoke: None,
            polls: FxHashMap::default(),
            first_time: None,
            last_time: 0,
            monotone: true,
            last_wall: None,
        }
    }
}

impl SeriesScan {
    /// Any op: its time and `wall` text.
    pub fn stamp(&mut self, time: u64, wall: Option<&str>) {
        if self.first_time.is_none() {
            self.first_time = Some(time);
        } else if time < self.last_time {
            self.monotone = false;
        }
        self.last_time = time;
        match (wall, &mut self.last_wall) {
            (Some(w), Some(buf)) => {
                buf.clear();
                buf.extend_from_slice(w.as_bytes());
            }
            (Some(w), slot) => *slot = Some(w.as_bytes().to_vec()),
            (None, slot) => *slot = None,
        }
    }

    pub fn invoke(&mut self, rid: u64, time: u64) {
        self.inflight.insert(rid, time);
        self.max_invoke = Some(self.max_invoke.map_or(time, |m| m.max(time)));
    }

    /// A send completed: ok (`acked`) or not.
    pub fn done(&mut self, rid: u64, time: u64, acked: bool) {
        let invoked = self.inflight.remove(&rid);
        if acked {
            // a decreasing time (never, or the history goes to Python) counts 0
            self.sends.push(time, invoked.map_or(0, |i| time.saturating_sub(i)));
        }
    }

    pub fn poll(&mut self, topic: u32, time: u64, n_records: u64) {
        let p = self.polls.entry(topic).or_default();
        p.times.push(time);
        let last = *p.cum.last().unwrap();
        p.cum.push(last + n_records);
    }
}

#[cfg(test)]
#[path = "series_tests.rs"]
mod tests;
