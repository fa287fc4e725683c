//! Standard Webhooks signatures (the `standardwebhooks` crate): `v1,` + base64 of
//! HMAC-SHA256 over `id.timestamp.body`, keyed with the secret's bytes. While a rotation
//! lasts the header carries one signature per secret, space-separated, newest first.

use standardwebhooks::Webhook;

/// The `webhook-signature` header for `body` of message `id` sent at `timestamp` (Unix
/// seconds), signed by each of `secrets` in order; `None` when the body is not UTF-8
/// (never for JSON) or there is no secret.
pub fn signature_header(
    secrets: &[Vec<u8>],
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> Option<String> {
    let mut signatures = Vec::with_capacity(secrets.len());
    for secret in secrets {
        let signer = Webhook::from_bytes(secret.clone()).ok()?;
        signatures.push(signer.sign(id, timestamp, body).ok()?);
    }
    (!signatures.is_empty()).then(|| signatures.join(" "))
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    use super::*;

    /// The test vector the Standard Webhooks specification publishes.
    #[test]
    fn the_signature_matches_the_standards_test_vector() {
        let secret = base64::engine::general_purpose::STANDARD
            .decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .unwrap();
        let header = signature_header(
            &[secret],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(
            header.as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
    }

    #[test]
    fn during_a_rotation_both_secrets_sign_newest_first() {
        let header = signature_header(&[vec![1; 32], vec![2; 32]], "id", 1, b"{}").unwrap();
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(
            parts[0],
            Webhook::from_bytes(vec![1; 32])
                .unwrap()
                .sign("id", 1, b"{}")
                .unwrap()
        );
        assert!(signature_header(&[], "id", 1, b"{}").is_none());
    }
}
