//! A software WebAuthn authenticator plus client (what a browser and a platform authenticator
//! do together), driven by test code. It takes the server's options JSON
//! (`CreationChallengeResponse` / `RequestChallengeResponse`, with or without the outer
//! `publicKey`) and answers with WebAuthn Level 3 `RegistrationResponseJSON` /
//! `AuthenticationResponseJSON`, every binary field base64url without padding.
//!
//! Attestation is always `"none"`, user present and verified always set, every credential
//! discoverable. Knobs for negative tests: `with_origin`, `authenticate_with_wrong_key`,
//! `set_counter`, `set_backup`.
#![allow(dead_code)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const FLAG_UP_UV: u8 = 0x05;
const FLAG_AT: u8 = 0x40;
const NO_CREDENTIAL: &str = "SoftAuthenticator: no credential registered yet";

/// The credential algorithm an authenticator makes its keys with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// ECDSA on P-256 with SHA-256 (COSE -7); signatures DER-encoded.
    Es256,
    /// EdDSA on Ed25519 (COSE -8); signatures raw 64 bytes.
    Ed25519,
}

impl Algorithm {
    /// The COSE algorithm identifier (`alg` in `pubKeyCredParams`).
    pub fn cose_alg(self) -> i64 {
        match self {
            Algorithm::Es256 => -7,
            Algorithm::Ed25519 => -8,
        }
    }
}

enum Key {
    Es256(p256::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

impl Key {
    fn generate(alg: Algorithm) -> Key {
        match alg {
            // A random scalar is below the group order but for ~2^-32 of draws: retry those.
            Algorithm::Es256 => Key::Es256(loop {
                if let Ok(k) = p256::ecdsa::SigningKey::from_slice(&rand::random::<[u8; 32]>()) {
                    break k;
                }
            }),
            Algorithm::Ed25519 => {
                Key::Ed25519(ed25519_dalek::SigningKey::from_bytes(&rand::random()))
            }
        }
    }

    /// The public key as a CBOR-encoded COSE_Key.
    fn cose_public_key(&self) -> Vec<u8> {
        // EC2 {1: 2, 3: -7, -1: P-256, -2: x, -3: y}; OKP {1: 1, 3: -8, -1: Ed25519, -2: x}.
        let (ints, coords): ([(i64, i64); 3], Vec<Vec<u8>>) = match self {
            Key::Es256(k) => {
                let point = k.verifying_key().to_encoded_point(false);
                let (x, y) = (point.x().expect("x"), point.y().expect("y"));
                ([(1, 2), (3, -7), (-1, 1)], vec![x.to_vec(), y.to_vec()])
            }
            Key::Ed25519(k) => {
                let x = k.verifying_key().to_bytes().to_vec();
                ([(1, 1), (3, -8), (-1, 6)], vec![x])
            }
        };
        let mut out = Vec::new();
        cbor_head(&mut out, 5, (ints.len() + coords.len()) as u64);
        for (label, value) in ints {
            cbor_int(&mut out, label);
            cbor_int(&mut out, value);
        }
        for (label, coord) in [-2, -3].into_iter().zip(&coords) {
            cbor_int(&mut out, label);
            cbor_bytes(&mut out, coord);
        }
        out
    }

    /// The public key as DER SubjectPublicKeyInfo (`publicKey` of the response JSON).
    fn spki(&self) -> Vec<u8> {
        use p256::pkcs8::EncodePublicKey as _;
        let der = match self {
            Key::Es256(k) => k.verifying_key().to_public_key_der(),
            Key::Ed25519(k) => {
                ed25519_dalek::pkcs8::EncodePublicKey::to_public_key_der(&k.verifying_key())
            }
        };
        der.expect("SPKI").as_bytes().to_vec()
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            Key::Es256(k) => {
                let sig: p256::ecdsa::Signature = p256::ecdsa::signature::Signer::sign(k, message);
                sig.to_der().as_bytes().to_vec()
            }
            Key::Ed25519(k) => ed25519_dalek::Signer::sign(k, message).to_bytes().to_vec(),
        }
    }
}

/// One credential the authenticator holds.
struct Credential {
    id: Vec<u8>,
    key: Key,
    rp_id: String,
    user_handle: Vec<u8>,
    counter: u32,
}

/// A software authenticator with the client around it. It holds every credential it
/// registered; the most recent one is "its" credential for the accessors and knobs.
pub struct SoftAuthenticator {
    alg: Algorithm,
    origin: String,
    backup_eligible: bool,
    backup_state: bool,
    credentials: Vec<Credential>,
}

impl SoftAuthenticator {
    /// An authenticator with no credentials that makes `alg` keys and whose client puts
    /// `origin` (e.g. `"http://localhost:8080"`) in clientDataJSON.
    pub fn new(alg: Algorithm, origin: &str) -> Self {
        SoftAuthenticator {
            alg,
            origin: origin.to_owned(),
            backup_eligible: false,
            backup_state: false,
            credentials: Vec::new(),
        }
    }

    /// Changes the origin used in clientDataJSON from now on (e.g. a wrong one).
    pub fn with_origin(&mut self, origin: &str) {
        self.origin = origin.to_owned();
    }

    /// Sets the backup-eligible (BE) and backup-state (BS) flags of later responses.
    pub fn set_backup(&mut self, eligible: bool, state: bool) {
        self.backup_eligible = eligible;
        self.backup_state = state;
    }

    /// The latest credential's id, base64url without padding (as in `id` of a response).
    pub fn credential_id_b64(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.latest().id)
    }

    /// The latest credential's user handle (the `user.id` it was registered with).
    pub fn user_handle(&self) -> Vec<u8> {
        self.latest().user_handle.clone()
    }

    /// The latest credential's stored signature counter (the value of its last assertion).
    pub fn counter(&self) -> u32 {
        self.latest().counter
    }

    /// Sets the latest credential's stored counter: the next assertion carries `n + 1`.
    /// Setting it back to a counter already seen makes the next assertion a replay.
    pub fn set_counter(&mut self, n: u32) {
        self.latest_mut().counter = n;
    }

    /// `navigator.credentials.create()`: makes a new discoverable credential for the
    /// options (whole `{"publicKey": ...}` object or the inner one) and returns the
    /// RegistrationResponseJSON. Panics if the options don't offer this authenticator's
    /// algorithm.
    pub fn register(&mut self, creation_options: &Value) -> Value {
        let opts = creation_options
            .get("publicKey")
            .unwrap_or(creation_options);
        let algs: Vec<i64> = opts["pubKeyCredParams"]
            .as_array()
            .map(|params| params.iter().filter_map(|p| p["alg"].as_i64()).collect())
            .unwrap_or_default();
        assert!(
            algs.contains(&self.alg.cose_alg()),
            "SoftAuthenticator({:?}, COSE {}): pubKeyCredParams {:?} does not offer its algorithm",
            self.alg,
            self.alg.cose_alg(),
            algs
        );
        let rp_id = str_field(opts, "rp.id", &opts["rp"]["id"]).to_owned();
        let user_handle = b64_decode(str_field(opts, "user.id", &opts["user"]["id"]));
        let challenge = str_field(opts, "challenge", &opts["challenge"]);

        let id: Vec<u8> = (0..rand::random_range(16..=32usize))
            .map(|_| rand::random())
            .collect();
        let key = Key::generate(self.alg);

        let mut auth_data = self.auth_data(&rp_id, FLAG_AT, 0);
        auth_data.extend_from_slice(&[0u8; 16]); // AAGUID
        auth_data.extend_from_slice(&(id.len() as u16).to_be_bytes());
        auth_data.extend_from_slice(&id);
        auth_data.extend_from_slice(&key.cose_public_key());

        let mut attestation_object = Vec::new();
        cbor_head(&mut attestation_object, 5, 3);
        cbor_text(&mut attestation_object, "fmt");
        cbor_text(&mut attestation_object, "none");
        cbor_text(&mut attestation_object, "attStmt");
        cbor_head(&mut attestation_object, 5, 0);
        cbor_text(&mut attestation_object, "authData");
        cbor_bytes(&mut attestation_object, &auth_data);

        let client_data = self.client_data("webauthn.create", challenge);
        let id_b64 = URL_SAFE_NO_PAD.encode(&id);
        let public_key = key.spki();
        self.credentials.push(Credential {
            id,
            key,
            rp_id,
            user_handle,
            counter: 0,
        });
        credential_json(
            &id_b64,
            json!({
                "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data),
                "attestationObject": URL_SAFE_NO_PAD.encode(attestation_object),
                "authenticatorData": URL_SAFE_NO_PAD.encode(&auth_data),
                "publicKey": URL_SAFE_NO_PAD.encode(public_key),
                "publicKeyAlgorithm": self.alg.cose_alg(),
                "transports": ["internal"],
            }),
        )
    }

    /// `navigator.credentials.get()`: signs an assertion for the options (whole object or
    /// the inner `publicKey`) and returns the AuthenticationResponseJSON. With a non-empty
    /// `allowCredentials` one of them must be held here (else it panics); with an empty one
    /// it is a discoverable login and the response carries `userHandle`.
    pub fn authenticate(&mut self, request_options: &Value) -> Value {
        self.assert(request_options, false)
    }

    /// Like [`Self::authenticate`] (counter included), but signed by a fresh key that is
    /// not the credential's: the server must reject it.
    pub fn authenticate_with_wrong_key(&mut self, request_options: &Value) -> Value {
        self.assert(request_options, true)
    }

    fn assert(&mut self, request_options: &Value, wrong_key: bool) -> Value {
        let opts = request_options.get("publicKey").unwrap_or(request_options);
        let challenge = str_field(opts, "challenge", &opts["challenge"]).to_owned();
        let rp_id = opts["rpId"].as_str();
        let allowed: Vec<Vec<u8>> = opts["allowCredentials"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|c| c["id"].as_str())
                    .map(b64_decode)
                    .collect()
            })
            .unwrap_or_default();
        let usable = |c: &Credential| {
            rp_id.is_none_or(|rp| c.rp_id == rp) && (allowed.is_empty() || allowed.contains(&c.id))
        };
        let Some(index) = self.credentials.iter().rposition(usable) else {
            panic!(
                "SoftAuthenticator: allowCredentials {} (rpId {rp_id:?}) names none of its \
                 credentials (latest {:?})",
                opts["allowCredentials"],
                self.credentials
                    .last()
                    .map(|c| URL_SAFE_NO_PAD.encode(&c.id))
            )
        };

        let cred = &mut self.credentials[index];
        cred.counter = cred.counter.wrapping_add(1);
        let (counter, rp_id) = (cred.counter, cred.rp_id.clone());
        let auth_data = self.auth_data(&rp_id, 0, counter);
        let client_data = self.client_data("webauthn.get", &challenge);
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(client_data.as_bytes()));

        let cred = &self.credentials[index];
        let signature = if wrong_key {
            Key::generate(self.alg).sign(&signed)
        } else {
            cred.key.sign(&signed)
        };
        let id_b64 = URL_SAFE_NO_PAD.encode(&cred.id);
        let mut response = json!({
            "clientDataJSON": URL_SAFE_NO_PAD.encode(client_data),
            "authenticatorData": URL_SAFE_NO_PAD.encode(&auth_data),
            "signature": URL_SAFE_NO_PAD.encode(signature),
        });
        if allowed.is_empty() {
            response["userHandle"] = json!(URL_SAFE_NO_PAD.encode(&cred.user_handle));
        }
        credential_json(&id_b64, response)
    }

    /// rpIdHash || flags (UP|UV, BE 0x08 / BS 0x10 if set, plus `extra`) || counter (BE u32).
    fn auth_data(&self, rp_id: &str, extra_flags: u8, counter: u32) -> Vec<u8> {
        let flags = FLAG_UP_UV
            | extra_flags
            | if self.backup_eligible { 0x08 } else { 0 }
            | if self.backup_state { 0x10 } else { 0 };
        let mut out = Sha256::digest(rp_id.as_bytes()).to_vec();
        out.push(flags);
        out.extend_from_slice(&counter.to_be_bytes());
        out
    }

    /// clientDataJSON, members in the order browsers write them.
    fn client_data(&self, type_: &str, challenge: &str) -> String {
        format!(
            r#"{{"type":{},"challenge":{},"origin":{},"crossOrigin":false}}"#,
            Value::from(type_),
            Value::from(challenge),
            Value::from(self.origin.as_str())
        )
    }

    fn latest(&self) -> &Credential {
        self.credentials.last().expect(NO_CREDENTIAL)
    }

    fn latest_mut(&mut self) -> &mut Credential {
        self.credentials.last_mut().expect(NO_CREDENTIAL)
    }
}

/// The PublicKeyCredential JSON around a `response`.
fn credential_json(id_b64: &str, response: Value) -> Value {
    json!({
        "id": id_b64,
        "rawId": id_b64,
        "type": "public-key",
        "response": response,
        "clientExtensionResults": {},
        "authenticatorAttachment": "platform",
    })
}

fn str_field<'a>(opts: &Value, name: &str, v: &'a Value) -> &'a str {
    v.as_str()
        .unwrap_or_else(|| panic!("SoftAuthenticator: options lack string `{name}`: {opts}"))
}

/// Decodes base64url, tolerating padding and the standard alphabet.
fn b64_decode(s: &str) -> Vec<u8> {
    let s: String = s.trim_end_matches('=').replace('+', "-").replace('/', "_");
    URL_SAFE_NO_PAD
        .decode(&s)
        .unwrap_or_else(|e| panic!("SoftAuthenticator: bad base64url {s:?}: {e}"))
}

// The few CBOR items the authenticator writes (RFC 8949, definite lengths).
fn cbor_head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    match n {
        0..24 => out.push(m | n as u8),
        24..256 => out.extend_from_slice(&[m | 24, n as u8]),
        _ => {
            out.push(m | 25); // lengths here stay far below 65536
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
}

fn cbor_int(out: &mut Vec<u8>, i: i64) {
    let (major, n) = if i >= 0 { (0, i) } else { (1, -1 - i) };
    cbor_head(out, major, n as u64);
}

fn cbor_bytes(out: &mut Vec<u8>, b: &[u8]) {
    cbor_head(out, 2, b.len() as u64);
    out.extend_from_slice(b);
}

fn cbor_text(out: &mut Vec<u8>, s: &str) {
    cbor_head(out, 3, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}
