//! `roster passwords benchmark`: how long one password hash takes with the configured
//! Argon2id parameters on this machine, and so how many logins per second its cores
//! can verify. Operators use it to choose `ARGON2_*`; the benchmark harness uses it as
//! the hashing limit that login throughput is compared with.

use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, Version};

use crate::config::HashCost;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HashTiming {
    pub cost: HashCost,
    /// Median time of one hash.
    pub median: Duration,
    pub cores: usize,
}

impl HashTiming {
    /// Hashes per second all cores can compute: cores ÷ the time of one hash.
    pub fn limit_per_second(&self) -> f64 {
        self.cores as f64 / self.median.as_secs_f64()
    }
}

/// Times `samples` hashes (after one warm-up) on the calling thread.
pub fn time_hashes(cost: HashCost, samples: usize) -> anyhow::Result<HashTiming> {
    let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
        .map_err(|e| anyhow::anyhow!("invalid Argon2 parameters: {e}"))?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut times = Vec::with_capacity(samples);
    for round in 0..=samples.max(1) {
        let started = Instant::now();
        argon2
            .hash_password(b"Calibration-Password-1")
            .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?;
        if round > 0 {
            times.push(started.elapsed());
        }
    }
    times.sort();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    Ok(HashTiming {
        cost,
        median: times[times.len() / 2],
        cores,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_reports_a_positive_limit() {
        let timing = time_hashes(
            HashCost {
                memory_kib: 64,
                iterations: 1,
                parallelism: 1,
            },
            3,
        )
        .unwrap();
        assert!(timing.median > Duration::ZERO);
        assert!(timing.limit_per_second() > 0.0);
    }
}
