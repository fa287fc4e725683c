//! `roster passwords benchmark`: how long one password hash takes with the configured
//! Argon2id parameters on this machine, computed as the server's hashing threads compute
//! it (one reused memory buffer per thread), and so how many logins per second the
//! hashing threads sustain; with `--target-ms`, the memory cost that makes one hash take
//! about that long. Operators use it to choose `ARGON2_*`; the benchmark harness uses it
//! as the hashing limit that login throughput is compared with.

use std::time::Duration;

use crate::config::HashCost;
use crate::passwords::hasher::{measure_pool_throughput, time_hashes_like_the_pool};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HashTiming {
    pub cost: HashCost,
    /// Median time of one hash on one thread.
    pub median: Duration,
    /// The server's hashing threads (one per core).
    pub threads: usize,
}

impl HashTiming {
    /// Hashes per second the hashing threads can compute: threads ÷ the time of one hash.
    pub fn limit_per_second(&self) -> f64 {
        self.threads as f64 / self.median.as_secs_f64()
    }
}

/// Parameters proposed for a target time per hash, and what they measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Suggestion {
    pub cost: HashCost,
    pub median: Duration,
}

/// OWASP's least Argon2id cost (its equivalent pairs all spend about this much memory
/// × passes: 19 MiB × 2, 12 MiB × 3, 9 MiB × 4, 7 MiB × 5).
const OWASP_MINIMUM_KIB_PASSES: u64 = 7168 * 5;

impl Suggestion {
    pub fn below_owasp_minimum(&self) -> bool {
        u64::from(self.cost.memory_kib) * u64::from(self.cost.iterations) < OWASP_MINIMUM_KIB_PASSES
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// The number of hashing threads the server starts: one per core.
pub fn hashing_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Times `samples` hashes (after one warm-up) on the calling thread, as the pool does.
pub fn time_hashes(cost: HashCost, samples: usize) -> anyhow::Result<HashTiming> {
    Ok(HashTiming {
        cost,
        median: median(time_hashes_like_the_pool(cost, samples)?),
        threads: hashing_threads(),
    })
}

/// Hashes per second with every hashing thread busy at once (memory bandwidth shared).
pub fn measure_sustained(timing: &HashTiming, per_thread: usize) -> anyhow::Result<f64> {
    measure_pool_throughput(timing.cost, timing.threads, per_thread)
}

/// The memory cost, in whole MiB, for which one hash takes about `target` with the
/// configured passes and lanes: hashing time grows with memory × passes, so the memory
/// is scaled by target ÷ measured and measured again, up to three times.
pub fn suggest(timing: &HashTiming, target: Duration) -> anyhow::Result<Suggestion> {
    suggest_with(timing, target, |cost| {
        Ok(median(time_hashes_like_the_pool(cost, 5)?))
    })
}

/// [`suggest`] with the timing of a candidate cost given (the median of a few hashes).
fn suggest_with(
    timing: &HashTiming,
    target: Duration,
    mut time: impl FnMut(HashCost) -> anyhow::Result<Duration>,
) -> anyhow::Result<Suggestion> {
    let floor_kib = (8 * timing.cost.parallelism).max(1024);
    let scaled = |memory_kib: u32, measured: Duration| -> u32 {
        let ratio = target.as_secs_f64() / measured.as_secs_f64().max(1e-6);
        let kib = (f64::from(memory_kib) * ratio / 1024.0).round() * 1024.0;
        (kib.min(f64::from(u32::MAX / 2)) as u32).max(floor_kib)
    };
    let mut cost = HashCost {
        memory_kib: scaled(timing.cost.memory_kib, timing.median),
        ..timing.cost
    };
    let mut measured = time(cost)?;
    for _ in 0..2 {
        let off = (measured.as_secs_f64() / target.as_secs_f64() - 1.0).abs();
        let next = scaled(cost.memory_kib, measured);
        if off <= 0.1 || next == cost.memory_kib {
            break;
        }
        cost.memory_kib = next;
        measured = time(cost)?;
    }
    Ok(Suggestion {
        cost,
        median: measured,
    })
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The whole command: times the configured cost, measures the threads together, and
/// with a target proposes a cost; prints text or (with `json`) one JSON object.
pub fn benchmark(
    cost: HashCost,
    samples: usize,
    target: Option<Duration>,
    json: bool,
) -> anyhow::Result<()> {
    let timing = time_hashes(cost, samples)?;
    let sustained = measure_sustained(&timing, 4)?;
    let suggestion = target.map(|t| suggest(&timing, t)).transpose()?;
    if json {
        let mut report = serde_json::json!({
            "memory_kib": cost.memory_kib, "iterations": cost.iterations, "parallelism": cost.parallelism,
            "median_ms": millis(timing.median), "cores": timing.threads, "threads": timing.threads,
            "limit_per_second": timing.limit_per_second(), "sustained_per_second": sustained,
        });
        if let (Some(s), Some(target)) = (suggestion, target) {
            report["suggestion"] = serde_json::json!({
                "target_ms": millis(target), "memory_kib": s.cost.memory_kib,
                "iterations": s.cost.iterations, "parallelism": s.cost.parallelism,
                "median_ms": millis(s.median),
                "limit_per_second": timing.threads as f64 / s.median.as_secs_f64(),
                "below_owasp_minimum": s.below_owasp_minimum(),
            });
        }
        println!("{report}");
        return Ok(());
    }
    println!(
        "argon2id m={} KiB t={} p={}: {:.1} ms per hash (median of {samples}, one thread, its buffer reused as the server does)",
        cost.memory_kib,
        cost.iterations,
        cost.parallelism,
        millis(timing.median)
    );
    println!(
        "{} hashing threads: at most {:.0} logins/s ({} / {:.1} ms); measured with all of them hashing at once: {sustained:.0}/s",
        timing.threads,
        timing.limit_per_second(),
        timing.threads,
        millis(timing.median)
    );
    if let (Some(s), Some(target)) = (suggestion, target) {
        println!(
            "for about {:.0} ms per hash: ARGON2_MEMORY_KIB={} ARGON2_ITERATIONS={} ARGON2_PARALLELISM={} ({:.1} ms measured; about {:.0} logins/s on {} threads)",
            millis(target),
            s.cost.memory_kib,
            s.cost.iterations,
            s.cost.parallelism,
            millis(s.median),
            timing.threads as f64 / s.median.as_secs_f64(),
            timing.threads
        );
        if s.below_owasp_minimum() {
            println!(
                "note: that is below OWASP's least Argon2id cost (19 MiB with 2 passes, or as much memory × passes): a faster hash is cheaper to guess too"
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: HashCost = HashCost {
        memory_kib: 256,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn timing_reports_a_positive_limit() {
        let timing = time_hashes(SMALL, 3).unwrap();
        assert!(timing.median > Duration::ZERO);
        assert!(timing.limit_per_second() > 0.0);
        assert!(measure_sustained(&timing, 2).unwrap() > 0.0);
    }

    #[test]
    fn a_suggestion_scales_memory_toward_the_target() {
        // A machine on which a hash takes 10 µs per KiB (and a little more past 4 MiB,
        // so the first guess is refined): 1 MiB measured at 10.24 ms.
        let model = |cost: HashCost| {
            let kib = f64::from(cost.memory_kib);
            let extra = (kib - 4096.0).max(0.0) * 2.0;
            Ok(Duration::from_secs_f64((kib * 10.0 + extra) / 1e6))
        };
        let start = HashCost {
            memory_kib: 1024,
            ..SMALL
        };
        let timing = HashTiming {
            cost: start,
            median: model(start).unwrap(),
            threads: 2,
        };
        let mut timed = Vec::new();
        let s = suggest_with(&timing, Duration::from_millis(60), |cost| {
            timed.push(cost.memory_kib);
            model(cost)
        })
        .unwrap();
        // Passes and lanes stay as configured, memory is whole MiB, and the answer
        // lands within 10 % of the target after at most three timings.
        assert_eq!((s.cost.iterations, s.cost.parallelism), (1, 1));
        assert_eq!(s.cost.memory_kib % 1024, 0);
        let off = (s.median.as_secs_f64() / 0.060 - 1.0).abs();
        assert!(off <= 0.1, "{} KiB, {:?}", s.cost.memory_kib, s.median);
        assert!((1..=3).contains(&timed.len()), "{timed:?}");
        assert_eq!(
            timed[0], 6144,
            "the first guess scales memory by the time ratio"
        );
        assert!(s.below_owasp_minimum());
        // A target far below what 1 MiB takes stays at the 1 MiB floor.
        let tiny = suggest_with(&timing, Duration::from_micros(10), model).unwrap();
        assert_eq!(tiny.cost.memory_kib, 1024);
        let default = Suggestion {
            cost: HashCost::default(),
            median: Duration::from_millis(20),
        };
        assert!(!default.below_owasp_minimum());
    }
}
