use super::*;

/// Python's bisect on a plain sorted list: the reference for [`Times`].
fn bisect(xs: &[u64], t: i128, right: bool) -> usize {
    xs.iter().take_while(|&&x| if right { x as i128 <= t } else { (x as i128) < t }).count()
}

fn times(xs: &[u64]) -> Times {
    let mut t = Times::default();
    for &x in xs {
        t.push(x);
    }
    t
}

#[test]
fn times_bisect_as_python_across_blocks_ties_and_wide_gaps() {
    // ties spanning a block boundary, gaps beyond u32 (a new block each), equal runs
    let mut xs: Vec<u64> = Vec::new();
    for k in 0..3000u64 {
        xs.push(1_000 + k / 3);
    }
    xs.extend([1 << 40, 1 << 40, (1 << 40) + 5, 1 << 45, (1 << 45) + (1 << 33)]);
    xs.extend(std::iter::repeat((1 << 46) + 7).take(2 * BLOCK + 3));
    let t = times(&xs);
    assert_eq!(t.len(), xs.len());
    for (i, &x) in xs.iter().enumerate() {
        assert_eq!(t.get(i), x);
    }
    let mut probes: Vec<i128> = vec![-1, 0, 999, 1000, 1001, 1999, 2000, i128::MAX, u64::MAX as i128];
    for &x in &xs {
        probes.extend([x as i128 - 1, x as i128, x as i128 + 1]);
    }
    for &p in &probes {
        assert_eq!(t.bisect_left(p), bisect(&xs, p, false), "left {p}");
        assert_eq!(t.bisect_right(p), bisect(&xs, p, true), "right {p}");
        let k = bisect(&xs, p, true);
        assert_eq!(t.first_after(p), xs.get(k).copied(), "after {p}");
    }
    assert_eq!(times(&[]).first_after(0), None);
    assert_eq!(times(&[]).bisect_right(5), 0);
}

/// Nearest-rank values of `lats[i..j]` sorted, the Python way.
fn reference(lats: &[u64], i: usize, j: usize, ranks: &[usize]) -> Vec<u64> {
    let mut s = lats[i..j].to_vec();
    s.sort();
    ranks.iter().map(|&r| s[r]).collect()
}

fn sends(lats: &[u64]) -> Sends {
    let mut s = Sends::default();
    for (k, &l) in lats.iter().enumerate() {
        s.push(10 * k as u64, l);
    }
    s
}

#[test]
fn ranked_latencies_match_a_full_sort_sorted_or_selected_with_big_ones_aside() {
    // a pseudo-random mix: small, 16-bit-bucket neighbours, u32::MAX - 1, u32::MAX and beyond
    let mut x: u64 = 88172645463325252;
    let mut lats = Vec::new();
    for k in 0..(SORT_MAX * 2 + 77) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        lats.push(match k % 11 {
            0 => u32::MAX as u64 + (x % 5),
            1 => u32::MAX as u64 - 1,
            2 => 65_536 * (x % 3) + (x % 2),
            _ => x % 50_000_000,
        });
    }
    let s = sends(&lats);
    for (i, j) in [(0, lats.len()), (5, 5 + SORT_MAX), (3, 3 + SORT_MAX + 1), (100, 101), (7, 40)] {
        let n = j - i;
        let ranks = vec![0, n / 2, n - 1, (n * 95).div_ceil(100) - 1, n / 3];
        assert_eq!(s.ranked(i, j, &ranks), reference(&lats, i, j, &ranks), "{i}..{j}");
    }
    // only big ones, and only small ones, over the radix path
    let big = vec![u32::MAX as u64 + 9; SORT_MAX + 5];
    assert_eq!(sends(&big).ranked(0, big.len(), &[0, big.len() - 1]), vec![u32::MAX as u64 + 9; 2]);
    let same = vec![123_456u64; SORT_MAX + 5];
    assert_eq!(sends(&same).ranked(1, same.len(), &[0, 17, same.len() - 2]), vec![123_456; 3]);
}

#[test]
fn the_scan_keeps_acks_latencies_polls_and_the_clock() {
    let mut s = SeriesScan::default();
    s.stamp(5, Some("1.5"));
    s.invoke(1, 5);
    s.stamp(6, None);
    s.invoke(2, 6);
    s.stamp(9, Some("null"));
    s.done(2, 9, true);
    s.stamp(9, Some("2.25"));
    s.done(1, 9, false);
    s.poll(3, 9, 4);
    s.poll(3, 12, 0);
    assert!(s.monotone);
    assert_eq!((s.first_time, s.last_time, s.max_invoke), (Some(5), 9, Some(6)));
    assert_eq!(s.last_wall.as_deref(), Some(&b"2.25"[..]));
    assert_eq!((s.sends.times.len(), s.sends.ranked(0, 1, &[0])), (1, vec![3]));
    assert_eq!(s.polls[&3].cum, vec![0, 4, 4]);
    s.stamp(8, None);
    assert!(!s.monotone && s.last_wall.is_none());
}
