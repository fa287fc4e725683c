//! Password hashing.
//!
//! Hashes are Argon2id with the configured cost, computed on a fixed pool of one thread
//! per core. Each thread owns one Argon2 memory buffer (`super::memory`, on huge pages),
//! allocated at its first hash and reused for every hash after it, so hashing memory is
//! exactly threads × m_cost however many logins arrive (allocating 19 MiB per hash
//! fragmented the heap: hundreds of MiB under a login flood). A flood waits in the
//! pool's queue, a few bytes per request; a queued hash whose requester has gone away is
//! skipped. Unknown users are verified against a dummy hash of the same cost, so both
//! cost the same. Imported bcrypt, scrypt and PBKDF2 hashes (`super::imported`) verify
//! and are flagged for re-hashing.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::phc::{Output, ParamsString, Salt};
use argon2::{Algorithm, Argon2, Params, PasswordHash, Version};
use rand::RngExt;
use tokio::sync::oneshot;

use super::memory::HashMemory;
use crate::config::HashCost;

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verification {
    Invalid,
    /// Valid; `needs_rehash` when the hash is bcrypt or uses other parameters than configured.
    Valid {
        needs_rehash: bool,
    },
}

impl Verification {
    pub fn is_valid(self) -> bool {
        matches!(self, Verification::Valid { .. })
    }
}

type Job = Box<dyn FnOnce(&mut HashWorker) + Send>;

/// One hashing thread's state: the configured parameters and its reusable memory.
struct HashWorker {
    cost: HashCost,
    params: Params,
    memory: HashMemory,
}

impl HashWorker {
    fn new(cost: HashCost) -> anyhow::Result<HashWorker> {
        Ok(HashWorker {
            cost,
            params: params_of(cost)?,
            memory: HashMemory::new(),
        })
    }

    /// Runs `argon2` into `out`, with this thread's buffer when it is large enough for
    /// the parameters (always, for the configured ones) and a one-off buffer otherwise.
    fn compute(
        &mut self,
        argon2: &Argon2<'_>,
        params: &Params,
        password: &[u8],
        salt: &[u8],
        out: &mut [u8],
    ) -> Result<(), argon2::Error> {
        let count = params.block_count();
        if count <= self.params.block_count() {
            argon2.hash_password_into_with_memory(password, salt, out, self.memory.blocks(count))
        } else {
            argon2.hash_password_into(password, salt, out)
        }
    }

    fn hash(&mut self, password: &[u8]) -> anyhow::Result<String> {
        let salt: [u8; 16] = rand::rng().random();
        let mut output = [0u8; 32];
        let params = self.params.clone();
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        self.compute(&argon2, &params, password, &salt, &mut output)
            .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?;
        phc_string(&params, &salt, &output)
    }

    fn verify(&mut self, password: &[u8], stored: &str) -> Verification {
        if let Some(valid) = super::imported::verify_foreign(password, stored) {
            return if valid {
                Verification::Valid { needs_rehash: true }
            } else {
                Verification::Invalid
            };
        }
        let Ok(parsed) = PasswordHash::new(stored) else {
            return Verification::Invalid;
        };
        let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
            Algorithm::try_from(parsed.algorithm.as_str()),
            Params::try_from(&parsed),
            &parsed.salt,
            &parsed.hash,
        ) else {
            return Verification::Invalid;
        };
        let Ok(version) = parsed
            .version
            .map(Version::try_from)
            .transpose()
            .map(Option::unwrap_or_default)
        else {
            return Verification::Invalid;
        };
        let mut output = vec![0u8; expected.len()];
        let argon2 = Argon2::new(algorithm, version, params.clone());
        if self
            .compute(&argon2, &params, password, salt.as_ref(), &mut output)
            .is_err()
        {
            return Verification::Invalid;
        }
        // Output's equality is constant-time.
        if Output::new(&output).ok().as_ref() != Some(expected) {
            return Verification::Invalid;
        }
        let current = algorithm == Algorithm::Argon2id
            && version == Version::V0x13
            && params.m_cost() == self.cost.memory_kib
            && params.t_cost() == self.cost.iterations
            && params.p_cost() == self.cost.parallelism;
        Verification::Valid {
            needs_rehash: !current,
        }
    }
}

/// Times `samples` hashes with `cost` (after one warm-up) the way a hashing thread
/// computes them: with its one memory buffer, reused. Answers each hash's time.
pub fn time_hashes_like_the_pool(cost: HashCost, samples: usize) -> anyhow::Result<Vec<Duration>> {
    let mut worker = HashWorker::new(cost)?;
    let mut times = Vec::with_capacity(samples);
    for round in 0..=samples.max(1) {
        let started = Instant::now();
        worker.hash(b"Calibration-Password-1")?;
        if round > 0 {
            times.push(started.elapsed());
        }
    }
    Ok(times)
}

/// Hashes per second `threads` hashing threads compute together, each with its own
/// buffer, measured over `per_thread` hashes each (after one warm-up each).
pub fn measure_pool_throughput(
    cost: HashCost,
    threads: usize,
    per_thread: usize,
) -> anyhow::Result<f64> {
    let threads = threads.max(1);
    let start = Arc::new(std::sync::Barrier::new(threads + 1));
    let done = Arc::new(std::sync::Barrier::new(threads + 1));
    let mut handles = Vec::with_capacity(threads);
    for _ in 0..threads {
        let (start, done) = (start.clone(), done.clone());
        let mut worker = HashWorker::new(cost)?;
        handles.push(std::thread::spawn(move || -> anyhow::Result<()> {
            let warm = worker.hash(b"Calibration-Password-1");
            start.wait();
            let timed = (0..per_thread.max(1))
                .try_for_each(|_| worker.hash(b"Calibration-Password-1").map(drop));
            done.wait();
            warm.and(timed)
        }));
    }
    start.wait();
    let started = Instant::now();
    done.wait();
    let elapsed = started.elapsed();
    for handle in handles {
        handle
            .join()
            .map_err(|_| anyhow::anyhow!("a hashing thread panicked"))??;
    }
    Ok((threads * per_thread.max(1)) as f64 / elapsed.as_secs_f64())
}

fn params_of(cost: HashCost) -> anyhow::Result<Params> {
    Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
        .map_err(|e| anyhow::anyhow!("invalid Argon2 parameters: {e}"))
}

/// The PHC string of an Argon2id hash.
fn phc_string(params: &Params, salt: &[u8], output: &[u8]) -> anyhow::Result<String> {
    let hash = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|e| anyhow::anyhow!("{e}"))?,
        salt: Some(Salt::new(salt).map_err(|e| anyhow::anyhow!("{e}"))?),
        hash: Some(Output::new(output).map_err(|e| anyhow::anyhow!("{e}"))?),
    };
    Ok(hash.to_string())
}

pub struct PasswordHasher {
    jobs: mpsc::Sender<Job>,
    /// A hash of nothing anybody knows, with the configured cost (see [`dummy_hash`]).
    dummy: String,
}

impl PasswordHasher {
    /// Starts `threads` hashing threads (the number of cores in production); they end
    /// when the hasher is dropped.
    pub fn new(cost: HashCost, threads: usize) -> anyhow::Result<PasswordHasher> {
        let params = params_of(cost)?;
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for index in 0..threads.max(1) {
            let receiver = receiver.clone();
            let mut worker = HashWorker::new(cost)?;
            std::thread::Builder::new()
                .name(format!("roster-hash-{index}"))
                .spawn(move || {
                    loop {
                        let job = match receiver.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(&mut worker),
                            Err(_) => return,
                        }
                    }
                })?;
        }
        Ok(PasswordHasher {
            jobs: sender,
            dummy: dummy_hash(&params)?,
        })
    }

    /// Runs `work` on a hashing thread and waits for its result.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut HashWorker) -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let (reply, result) = oneshot::channel();
        let queued = Instant::now();
        let job: Job = Box::new(move |worker| {
            if reply.is_closed() {
                return;
            }
            metrics::histogram!("roster_password_hash_wait_seconds")
                .record(queued.elapsed().as_secs_f64());
            let started = Instant::now();
            let value = work(worker);
            metrics::histogram!("roster_password_hash_seconds")
                .record(started.elapsed().as_secs_f64());
            let _ = reply.send(value);
        });
        self.jobs
            .send(job)
            .map_err(|_| anyhow::anyhow!("the hashing pool has stopped"))?;
        Ok(result.await?)
    }

    /// A new Argon2id PHC string for `password`.
    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let password = password.to_owned();
        self.run(move |worker| worker.hash(password.as_bytes()))
            .await?
    }

    /// Checks `password` against `stored`; with no stored hash (unknown user, no
    /// password) it spends the same effort on the dummy hash and answers `Invalid`.
    pub async fn verify(
        &self,
        password: &str,
        stored: Option<&str>,
    ) -> anyhow::Result<Verification> {
        let known = stored.is_some();
        let stored = stored.unwrap_or(&self.dummy).to_owned();
        let password = password.to_owned();
        self.run(move |worker| {
            let verification = worker.verify(password.as_bytes(), &stored);
            if known {
                verification
            } else {
                Verification::Invalid
            }
        })
        .await
    }
}

/// A PHC string with the configured parameters, a random salt and a random output: it
/// costs exactly as much to check as a real hash, matches no password, and needs no
/// hashing to make (so start-up stays fast and small).
fn dummy_hash(params: &Params) -> anyhow::Result<String> {
    let salt: [u8; 16] = rand::rng().random();
    let output: [u8; 32] = rand::rng().random();
    phc_string(params, &salt, &output)
}

/// True for the stored-hash formats Roster can verify (see [`super::imported`]).
pub fn is_supported_hash(hash: &str) -> bool {
    super::imported::check_format(hash).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_bcrypt_is_flagged_for_rehash() {
        let cost = HashCost {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        let hasher = PasswordHasher::new(cost, 2).unwrap();
        let hash = hasher.hash("S3cure-pass").await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert_eq!(
            hasher.verify("S3cure-pass", Some(&hash)).await.unwrap(),
            Verification::Valid {
                needs_rehash: false
            }
        );
        assert_eq!(
            hasher.verify("wrong", Some(&hash)).await.unwrap(),
            Verification::Invalid
        );
        assert_eq!(
            hasher.verify("anything", None).await.unwrap(),
            Verification::Invalid
        );
        let bcrypt_hash = bcrypt::hash("S3cure-pass", 4).unwrap();
        assert_eq!(
            hasher
                .verify("S3cure-pass", Some(&bcrypt_hash))
                .await
                .unwrap(),
            Verification::Valid { needs_rehash: true }
        );
        let stronger = PasswordHasher::new(
            HashCost {
                memory_kib: 128,
                ..cost
            },
            1,
        )
        .unwrap();
        assert_eq!(
            stronger.verify("S3cure-pass", Some(&hash)).await.unwrap(),
            Verification::Valid { needs_rehash: true }
        );
        assert!(is_supported_hash(&hash) && is_supported_hash(&bcrypt_hash));
    }

    #[tokio::test]
    async fn hashes_interoperate_with_the_reference_implementation() {
        use argon2::{PasswordHasher as _, PasswordVerifier as _};
        let cost = HashCost {
            memory_kib: 256,
            iterations: 2,
            parallelism: 1,
        };
        let hasher = PasswordHasher::new(cost, 1).unwrap();
        // Ours verifies with the argon2 crate's own verifier and with an independent
        // implementation (rust-argon2)...
        let ours = hasher.hash("Interop-Pass-1").await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"Interop-Pass-1", &parsed)
                .is_ok()
        );
        assert!(
            Argon2::default()
                .verify_password(b"Interop-Pass-2", &parsed)
                .is_err()
        );
        assert!(rust_argon2::verify_encoded(&ours, b"Interop-Pass-1").unwrap());
        assert!(!rust_argon2::verify_encoded(&ours, b"Interop-Pass-2").unwrap());
        // ...and hashes made elsewhere, of every Argon2 variant and cost, verify with ours.
        for algorithm in [Algorithm::Argon2id, Algorithm::Argon2i, Algorithm::Argon2d] {
            for params in [
                Params::new(256, 2, 1, None).unwrap(),
                Params::new(512, 1, 2, Some(24)).unwrap(),
            ] {
                let reference = Argon2::new(algorithm, Version::V0x13, params)
                    .hash_password(b"Imported-Pass-9")
                    .unwrap()
                    .to_string();
                let expected_rehash =
                    algorithm != Algorithm::Argon2id || !reference.contains("m=256,t=2,p=1");
                assert_eq!(
                    hasher
                        .verify("Imported-Pass-9", Some(&reference))
                        .await
                        .unwrap(),
                    Verification::Valid {
                        needs_rehash: expected_rehash
                    },
                    "{reference}"
                );
                assert_eq!(
                    hasher
                        .verify("Imported-Pass-8", Some(&reference))
                        .await
                        .unwrap(),
                    Verification::Invalid
                );
            }
        }
        assert_eq!(
            hasher
                .verify("x", Some("$argon2id$v=19$m=256,t=2,p=1$garbage"))
                .await
                .unwrap(),
            Verification::Invalid
        );
        assert!(!is_supported_hash("plaintext") && !is_supported_hash("$1$md5$crypt"));
    }

    fn fixtures(text: &str) -> Vec<(&str, &str)> {
        text.lines()
            .filter(|line| !line.starts_with('#') && !line.is_empty())
            .map(|line| line.split_once('\t').expect("password<TAB>hash"))
            .collect()
    }

    /// Hashes the C reference implementation wrote (libargon2, through argon2-cffi), of
    /// every variant and of costs other than ours, and hashes Roster itself wrote before
    /// any change to its hashing: all verify, and only their own password does.
    #[tokio::test]
    async fn stored_hashes_from_the_reference_and_from_earlier_roster_verify() {
        let hasher = PasswordHasher::new(HashCost::default(), 1).unwrap();
        let reference = include_str!("../../tests/fixtures/argon2-libargon2.tsv");
        let earlier = include_str!("../../tests/fixtures/argon2-roster.tsv");
        let all: Vec<_> = fixtures(reference)
            .into_iter()
            .chain(fixtures(earlier))
            .collect();
        assert_eq!(all.len(), 9);
        for (password, hash) in all {
            assert!(
                hasher
                    .verify(password, Some(hash))
                    .await
                    .unwrap()
                    .is_valid(),
                "{hash}"
            );
            let wrong = format!("{password}!");
            assert_eq!(
                hasher.verify(&wrong, Some(hash)).await.unwrap(),
                Verification::Invalid
            );
        }
        // Roster's hashes verify in a second implementation too.
        for (password, hash) in fixtures(earlier) {
            assert!(rust_argon2::verify_encoded(hash, password.as_bytes()).unwrap());
        }
    }
}
