//! Abuse: fuzzing, brute force, proxies, rate limits, hardening against a stolen token, and HTTP hygiene.

mod fuzz;
mod hardening;
mod hygiene;
mod lockout;
mod proxies;
mod ratelimit;
