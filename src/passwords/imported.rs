//! Password hashes made by other systems, as `roster users import` brings them in:
//! Argon2 and scrypt PHC strings, bcrypt (`$2a$`, `$2b$`, `$2y$`), and PBKDF2-SHA256 in
//! Django's form (`pbkdf2_sha256$ITERATIONS$SALT$HASH`, the salt used as text, the hash
//! in standard base64) and passlib's (`$pbkdf2-sha256$ITERATIONS$SALT$HASH`, both in
//! passlib's adapted base64: `.` for `+`, no padding).
//!
//! [`check_format`] says why a hash cannot be stored, before it is; [`verify_foreign`]
//! checks a password against a stored non-Argon2 hash (on a hashing thread: see
//! `hasher`), comparing in constant time. Every such hash is re-hashed to Argon2id at
//! the first login that verifies it. Costs are bounded so that one imported hash cannot
//! hold a hashing thread for long: a hash beyond the bounds is refused at import.

use argon2::{Algorithm, Params, PasswordHash};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// PBKDF2 iterations accepted: Django's default is 1,000,000 (5.2), passlib's 29,000.
pub const MAX_PBKDF2_ITERATIONS: u32 = 5_000_000;
/// scrypt memory (128 · r · 2^ln bytes) accepted: passlib's default is 16 MiB, 64 MiB
/// for ln=16.
const MAX_SCRYPT_MEMORY: u64 = 256 * 1024 * 1024;
const MAX_SCRYPT_LOG_N: u8 = 20;
const MAX_SCRYPT_P: u32 = 16;
/// Derived-key lengths accepted for PBKDF2 and scrypt, in bytes.
const OUTPUT_LENGTHS: std::ops::RangeInclusive<usize> = 16..=64;

const UNKNOWN_SCHEME: &str = "unknown hash scheme: expected an Argon2 or scrypt PHC string, bcrypt ($2a$, $2b$, $2y$), or PBKDF2-SHA256 in Django's (pbkdf2_sha256$...) or passlib's ($pbkdf2-sha256$...) form";

/// A parsed non-Argon2 hash, ready to check a password against.
enum Foreign {
    Bcrypt,
    Pbkdf2 {
        iterations: u32,
        salt: Vec<u8>,
        expected: Vec<u8>,
    },
    Scrypt {
        params: scrypt::Params,
        salt: Vec<u8>,
        expected: Vec<u8>,
    },
}

/// Why `hash` cannot be stored as an imported password hash, if it cannot. The reason
/// names what is wrong, never the hash's material.
pub fn check_format(hash: &str) -> Result<(), String> {
    if hash.starts_with("$argon2") {
        return check_argon2(hash);
    }
    match parse_foreign(hash) {
        Some(parsed) => parsed.map(drop),
        None => Err(UNKNOWN_SCHEME.to_owned()),
    }
}

fn check_argon2(hash: &str) -> Result<(), String> {
    let parsed =
        PasswordHash::new(hash).map_err(|e| format!("not a valid Argon2 PHC string ({e})"))?;
    Algorithm::try_from(parsed.algorithm.as_str())
        .map_err(|_| "unknown Argon2 variant".to_owned())?;
    let params = Params::try_from(&parsed).map_err(|e| format!("bad Argon2 parameters ({e})"))?;
    if params.m_cost() > 1024 * 1024 || params.t_cost() > 100 {
        return Err("Argon2 cost above 1 GiB of memory or 100 iterations".to_owned());
    }
    if parsed.salt.is_none() || parsed.hash.is_none() {
        return Err("an Argon2 PHC string needs a salt and a hash".to_owned());
    }
    Ok(())
}

/// Checks `password` against a stored bcrypt, PBKDF2 or scrypt hash; `None` when
/// `stored` is none of these (an Argon2 hash, or nothing Roster knows).
pub(super) fn verify_foreign(password: &[u8], stored: &str) -> Option<bool> {
    let parsed = parse_foreign(stored)?;
    let Ok(foreign) = parsed else {
        return Some(false);
    };
    Some(match foreign {
        Foreign::Bcrypt => bcrypt::verify(password, stored).unwrap_or(false),
        Foreign::Pbkdf2 {
            iterations,
            salt,
            expected,
        } => {
            let mut derived = vec![0u8; expected.len()];
            pbkdf2::pbkdf2_hmac::<Sha256>(password, &salt, iterations, &mut derived);
            derived.ct_eq(&expected).into()
        }
        Foreign::Scrypt {
            params,
            salt,
            expected,
        } => {
            let mut derived = vec![0u8; expected.len()];
            scrypt::scrypt(password, &salt, &params, &mut derived).is_ok()
                && bool::from(derived.ct_eq(&expected))
        }
    })
}

/// Recognises the scheme by its prefix (`None`: not a foreign scheme), then parses.
fn parse_foreign(hash: &str) -> Option<Result<Foreign, String>> {
    if ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p)) {
        return Some(parse_bcrypt(hash));
    }
    if let Some(rest) = hash.strip_prefix("pbkdf2_sha256$") {
        return Some(parse_django(rest));
    }
    if let Some(rest) = hash.strip_prefix("$pbkdf2-sha256$") {
        return Some(parse_passlib(rest));
    }
    if hash.starts_with("$scrypt$") {
        return Some(parse_scrypt(hash));
    }
    None
}

fn parse_bcrypt(hash: &str) -> Result<Foreign, String> {
    let parts: bcrypt::HashParts = hash.parse().map_err(|_| {
        "not a valid bcrypt hash (60 characters: $2b$COST$ then 53 of bcrypt's base64)".to_owned()
    })?;
    if !(4..=31).contains(&parts.get_cost()) {
        return Err("bcrypt cost must be 4 to 31".to_owned());
    }
    Ok(Foreign::Bcrypt)
}

/// The `ITERATIONS$SALT$HASH` after a PBKDF2 prefix, as three fields.
fn pbkdf2_fields(rest: &str, form: &str) -> Result<(u32, String, String), String> {
    let fields: Vec<&str> = rest.split('$').collect();
    let [iterations, salt, hash] = fields[..] else {
        return Err(format!(
            "{form} PBKDF2 hash needs 4 $-separated fields (scheme, iterations, salt, hash), found {}",
            fields.len() + 1
        ));
    };
    Ok((
        parse_iterations(iterations)?,
        salt.to_owned(),
        hash.to_owned(),
    ))
}

fn parse_iterations(text: &str) -> Result<u32, String> {
    let valid = !text.is_empty() && text.len() <= 10 && text.bytes().all(|b| b.is_ascii_digit());
    match text.parse::<u64>() {
        Ok(n) if valid && n >= 1 && n <= u64::from(MAX_PBKDF2_ITERATIONS) => Ok(n as u32),
        _ => Err(format!(
            "PBKDF2 iterations must be a number from 1 to {MAX_PBKDF2_ITERATIONS}"
        )),
    }
}

fn checked_output(bytes: Vec<u8>, what: &str) -> Result<Vec<u8>, String> {
    if OUTPUT_LENGTHS.contains(&bytes.len()) {
        Ok(bytes)
    } else {
        Err(format!(
            "{what} must decode to {} to {} bytes",
            OUTPUT_LENGTHS.start(),
            OUTPUT_LENGTHS.end()
        ))
    }
}

/// Django: the salt is used as it is written (its UTF-8 bytes), the hash is standard
/// base64 with padding.
fn parse_django(rest: &str) -> Result<Foreign, String> {
    let (iterations, salt, hash) = pbkdf2_fields(rest, "Django's")?;
    if salt.is_empty() || salt.len() > 256 || !salt.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("Django's PBKDF2 salt must be 1 to 256 printable ASCII characters".to_owned());
    }
    let expected = STANDARD
        .decode(&hash)
        .map_err(|_| "Django's PBKDF2 hash is not valid base64".to_owned())?;
    Ok(Foreign::Pbkdf2 {
        iterations,
        salt: salt.into_bytes(),
        expected: checked_output(expected, "the PBKDF2 hash")?,
    })
}

/// passlib's adapted base64: standard base64 with `.` for `+` and no padding.
fn ab64_decode(text: &str) -> Option<Vec<u8>> {
    if text.contains('+') || text.contains('=') {
        return None;
    }
    STANDARD_NO_PAD.decode(text.replace('.', "+")).ok()
}

fn parse_passlib(rest: &str) -> Result<Foreign, String> {
    let (iterations, salt, hash) = pbkdf2_fields(rest, "passlib's")?;
    let salt = ab64_decode(&salt)
        .filter(|s| !s.is_empty() && s.len() <= 1024)
        .ok_or_else(|| {
            "passlib's PBKDF2 salt is not 1 to 1024 bytes of adapted base64".to_owned()
        })?;
    let expected = ab64_decode(&hash)
        .ok_or_else(|| "passlib's PBKDF2 hash is not valid adapted base64".to_owned())?;
    Ok(Foreign::Pbkdf2 {
        iterations,
        salt,
        expected: checked_output(expected, "the PBKDF2 hash")?,
    })
}

/// `$scrypt$ln=LOG2_N,r=R,p=P$SALT$HASH` (passlib's and RustCrypto's PHC form).
fn parse_scrypt(hash: &str) -> Result<Foreign, String> {
    let parsed =
        PasswordHash::new(hash).map_err(|e| format!("not a valid scrypt PHC string ({e})"))?;
    let param = |name: &str| -> Result<u32, String> {
        parsed
            .params
            .get_decimal(name)
            .ok_or_else(|| format!("scrypt parameter {name} is missing or not a number"))
    };
    let (log_n, r, p) = (param("ln")?, param("r")?, param("p")?);
    if parsed.params.iter().count() != 3 {
        return Err("scrypt takes exactly the parameters ln, r and p".to_owned());
    }
    let log_n = u8::try_from(log_n)
        .ok()
        .filter(|ln| (1..=MAX_SCRYPT_LOG_N).contains(ln))
        .ok_or_else(|| format!("scrypt ln must be 1 to {MAX_SCRYPT_LOG_N}"))?;
    if r == 0 || p == 0 || p > MAX_SCRYPT_P {
        return Err(format!(
            "scrypt r must be at least 1 and p 1 to {MAX_SCRYPT_P}"
        ));
    }
    if 128 * u64::from(r) * (1u64 << log_n) > MAX_SCRYPT_MEMORY {
        return Err("scrypt memory (128 · r · 2^ln bytes) above 256 MiB".to_owned());
    }
    let params = scrypt::Params::new(log_n, r, p)
        .map_err(|_| "scrypt parameters out of range".to_owned())?;
    let (Some(salt), Some(output)) = (&parsed.salt, &parsed.hash) else {
        return Err("a scrypt PHC string needs a salt and a hash".to_owned());
    };
    Ok(Foreign::Scrypt {
        params,
        salt: salt.as_ref().to_vec(),
        expected: checked_output(output.as_bytes().to_vec(), "the scrypt hash")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hashes computed once with Python's hashlib (`pbkdf2_hmac`, `scrypt`), written in
    /// each system's own form, with their passwords; the last of each kind uses that
    /// system's default cost.
    const VECTORS: [(&str, &str); 6] = [
        (
            "Django-Pbkdf2-41",
            "pbkdf2_sha256$1000$Qw7xPz3kLm9vRt2sYb6nHc$zTR1zDlHoiKe5zuUPzSa5B4uXSZxA6e5DMxCwNvk1T4=",
        ),
        (
            "Django-Default-87",
            "pbkdf2_sha256$870000$seasalt2024abcdefghijk$Y/+k6Yx4WkB8fGesneiC4wy9aKLSdgSMdUZzxhagb9w=",
        ),
        (
            "Passlib-Pbkdf2-52",
            "$pbkdf2-sha256$1000$N2bMOSfEuFcqBYDQes9Z6w$88md1O.GGJqXirowvoOChMSwKcKJ8BGs1xsAxcoqRNI",
        ),
        (
            "Passlib-Default-29",
            "$pbkdf2-sha256$29000$.59T6p0zptRaC2Hs/V9LIQ$/ij2fy5kTZMNkMSXHFNGCFpT1ZgevzZfbjjKFfZEMsw",
        ),
        (
            "Scrypt-Hash-63",
            "$scrypt$ln=10,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$5Mm6OWEKk6geMxoGMFEWA5galqfrkZGcgVgSAZ5XM7g",
        ),
        (
            "Scrypt-Default-16",
            "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$/OO2v3B7zkwJUb2r2MLjPTb3jss+Z6GFQwcm2vYZqU0",
        ),
    ];

    #[test]
    fn foreign_hashes_verify_their_password_only() {
        for (password, hash) in VECTORS {
            assert_eq!(check_format(hash), Ok(()), "{hash}");
            assert_eq!(
                verify_foreign(password.as_bytes(), hash),
                Some(true),
                "{hash}"
            );
            let wrong = format!("{password}!");
            assert_eq!(verify_foreign(wrong.as_bytes(), hash), Some(false));
        }
        let bcrypt_hash = bcrypt::hash("Bcrypt-Pass-7", 4).unwrap();
        for prefix in ["$2a$", "$2b$", "$2y$"] {
            let hash = format!("{prefix}{}", &bcrypt_hash[4..]);
            assert_eq!(check_format(&hash), Ok(()));
            assert_eq!(verify_foreign(b"Bcrypt-Pass-7", &hash), Some(true));
            assert_eq!(verify_foreign(b"Bcrypt-Pass-8", &hash), Some(false));
        }
        assert_eq!(
            verify_foreign(
                b"x",
                "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
            ),
            None
        );
    }

    #[test]
    fn malformed_hashes_are_refused_with_a_reason() {
        let django = "pbkdf2_sha256$1000$Qw7xPz3kLm9vRt2sYb6nHc$zTR1zDlHoiKe5zuUPzSa5B4uXSZxA6e5DMxCwNvk1T4=";
        let passlib = "$pbkdf2-sha256$1000$N2bMOSfEuFcqBYDQes9Z6w$88md1O.GGJqXirowvoOChMSwKcKJ8BGs1xsAxcoqRNI";
        for (hash, reason) in [
            ("hunter2", "unknown hash scheme"),
            ("$1$md5$crypt", "unknown hash scheme"),
            ("pbkdf2_sha1$1000$salt$aGFzaA==", "unknown hash scheme"),
            (
                "pbkdf2_sha256$1000$Qw7xPz3kLm9vRt2sYb6nHc",
                "4 $-separated fields",
            ),
            (&django.replace("$1000$", "$0$"), "iterations"),
            (&django.replace("$1000$", "$999999999$"), "iterations"),
            (&django.replace("$1000$", "$-5$"), "iterations"),
            (&django.replace("T4=", "T4"), "base64"),
            (&django.replace("zTR1", "zT*1"), "base64"),
            (
                &passlib.replace("$1000$", "$1000$$"),
                "4 $-separated fields",
            ),
            (&passlib.replace("O.GG", "O+GG"), "adapted base64"),
            (&passlib.replace("$1000$", "$0$"), "iterations"),
            (
                "$pbkdf2-sha256$1000$N2bMOSfEuFcqBYDQes9Z6w$c2hvcnQ",
                "16 to 64 bytes",
            ),
            (
                "$scrypt$ln=10,r=8$aM15713r3Xsvxbi31lqr1Q$5Mm6OWEKk6geMxoGMFEWA5galqfrkZGcgVgSAZ5XM7g",
                "parameter p",
            ),
            (
                "$scrypt$ln=30,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$5Mm6OWEKk6geMxoGMFEWA5galqfrkZGcgVgSAZ5XM7g",
                "ln must be",
            ),
            (
                "$scrypt$ln=20,r=64,p=1$aM15713r3Xsvxbi31lqr1Q$5Mm6OWEKk6geMxoGMFEWA5galqfrkZGcgVgSAZ5XM7g",
                "256 MiB",
            ),
            (
                "$scrypt$ln=10,r=8,p=1$aM15713r3Xsvxbi31lqr1Q",
                "salt and a hash",
            ),
            ("$2b$04$short", "bcrypt"),
            (
                "$2b$99$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyzabcde",
                "bcrypt",
            ),
            ("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ", "salt and a hash"),
            (
                "$argon2q$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
                "variant",
            ),
        ] {
            let refused = check_format(hash).expect_err(hash);
            assert!(refused.contains(reason), "{hash}: {refused}");
            assert!(
                !refused.contains("Qw7xPz3k"),
                "no hash material in {refused}"
            );
            assert_ne!(verify_foreign(b"anything", hash), Some(true));
        }
    }
}
