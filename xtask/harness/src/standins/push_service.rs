//! Web Push without the internet: the harness stands in for the browser's
//! push service.
//!
//! A real browser's `pushManager.subscribe` asks a push service on the
//! internet for an endpoint, which cannot be reached here. So the harness
//! plays both of its parts: it makes a subscriber's key pair and auth secret
//! itself ([`Subscriber`]), registers them with the app's server under an
//! endpoint of a small HTTP/1.1 listener on 127.0.0.1 ([`PushService`]), and
//! when the server pushes, checks the VAPID header (RFC 8292) and decrypts the
//! `aes128gcm` body (RFC 8291) — with RustCrypto, not the server's
//! `ece`/OpenSSL code, so a bug on one side cannot hide behind the same bug on
//! the other. The plaintext then goes to the worker through the browser
//! (`Browser::deliver_push`), as the browser would hand it over.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aes_gcm::Aes128Gcm;
use aes_gcm::aead::{Aead, KeyInit};
use anyhow::{Context, Result, bail};
use base64ct::{Base64UrlUnpadded, Encoding};
use hkdf::Hkdf;
use p256::ecdsa::signature::Verifier;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::standins::proxy::{dechunk, http_request};
use crate::util::Background;

/// `bytes` as base64url without padding, as Web Push writes keys.
pub fn b64(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// `text` as base64url, padded or not (Firefox pads the keys it sends its
/// push service; Web Push headers do not); the error names `what`.
pub(crate) fn unb64(what: &str, text: &str) -> Result<Vec<u8>, String> {
    Base64UrlUnpadded::decode_vec(text.trim_end_matches('='))
        .map_err(|_| format!("{what} is not base64url: {text:?}"))
}

/// Bytes from the operating system's random source.
pub fn random<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0; N];
    getrandom::getrandom(&mut bytes).map_err(|e| anyhow::anyhow!("no random bytes: {e}"))?;
    Ok(bytes)
}

/// A random (version 4) UUID, as the app's articles use for their ids.
pub fn uuid() -> Result<String> {
    let mut b: [u8; 16] = random()?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

// ---------------------------------------------------------------- subscriber

/// What a browser keeps for a push subscription: a P-256 key pair and a
/// 16-byte auth secret. The public key and the secret go to the server.
pub struct Subscriber {
    secret: p256::SecretKey,
    auth: [u8; 16],
}

impl Subscriber {
    pub fn new() -> Result<Self> {
        // Nearly every 32 random bytes are a valid scalar; try again if not.
        for _ in 0..8 {
            if let Ok(secret) = p256::SecretKey::from_slice(&random::<32>()?) {
                return Ok(Self {
                    secret,
                    auth: random()?,
                });
            }
        }
        bail!("could not make a P-256 key")
    }

    /// The public key as an uncompressed point (65 bytes, `0x04…`).
    pub fn public_key(&self) -> Vec<u8> {
        self.secret
            .public_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec()
    }

    /// `PushSubscription.toJSON()` for `endpoint`, as a page would POST it.
    pub fn json(&self, endpoint: &str) -> Value {
        json!({
            "endpoint": endpoint,
            "expirationTime": null,
            "keys": { "p256dh": b64(&self.public_key()), "auth": b64(&self.auth) },
        })
    }

    /// Decrypts an `aes128gcm` push body (RFC 8188 framing, RFC 8291 keys).
    /// The error says, for a message, what was wrong with it.
    pub fn decrypt(&self, body: &[u8]) -> Result<Vec<u8>, String> {
        // salt (16) ‖ record size (4) ‖ key id length (1) ‖ key id (the
        // sender's one-time public key) ‖ one record.
        if body.len() < 21 {
            return Err(format!(
                "a body of {} bytes, too short for the aes128gcm header",
                body.len()
            ));
        }
        let salt = &body[..16];
        let record_size = u32::from_be_bytes([body[16], body[17], body[18], body[19]]) as usize;
        let id_length = body[20] as usize;
        if id_length != 65 || body.len() < 21 + 65 {
            return Err(format!(
                "a key id of {id_length} bytes in the aes128gcm header (RFC 8291 puts the sender's 65-byte public key there)"
            ));
        }
        let sender = &body[21..21 + 65];
        let ciphertext = &body[21 + 65..];
        if ciphertext.len() > record_size {
            return Err(format!(
                "{} bytes of ciphertext in records of {record_size}: a push is one record",
                ciphertext.len()
            ));
        }
        let sender_key = p256::PublicKey::from_sec1_bytes(sender)
            .map_err(|_| "a key id that is not a P-256 public key".to_owned())?;
        let shared =
            p256::ecdh::diffie_hellman(self.secret.to_nonzero_scalar(), sender_key.as_affine());

        // IKM = HKDF(auth, ECDH secret, "WebPush: info\0" ‖ ua_public ‖ as_public)
        let mut info = b"WebPush: info\0".to_vec();
        info.extend_from_slice(&self.public_key());
        info.extend_from_slice(sender);
        let mut ikm = [0; 32];
        Hkdf::<Sha256>::new(Some(&self.auth), shared.raw_secret_bytes())
            .expand(&info, &mut ikm)
            .map_err(|e| e.to_string())?;
        // The content key and the nonce, from the salt.
        let content = Hkdf::<Sha256>::new(Some(salt), &ikm);
        let mut cek = [0; 16];
        let mut nonce = [0; 12];
        content
            .expand(b"Content-Encoding: aes128gcm\0", &mut cek)
            .map_err(|e| e.to_string())?;
        content
            .expand(b"Content-Encoding: nonce\0", &mut nonce)
            .map_err(|e| e.to_string())?;
        let cipher = Aes128Gcm::new_from_slice(&cek).map_err(|e| e.to_string())?;
        let nonce = aes_gcm::Nonce::try_from(&nonce[..]).map_err(|e| e.to_string())?;
        let mut plain = cipher.decrypt(&nonce, ciphertext).map_err(|_| {
            "a body that does not decrypt with this subscription's keys (AES-GCM tag mismatch)"
                .to_owned()
        })?;
        // The last record: the content, the delimiter 0x02, zero padding.
        while plain.last() == Some(&0) {
            plain.pop();
        }
        if plain.pop() != Some(2) {
            return Err("a record without the last-record delimiter 0x02".into());
        }
        Ok(plain)
    }
}

// ---------------------------------------------------------------- delivery headers

/// RFC 8030's delivery headers, as a push service reads them: `TTL` in
/// seconds (mandatory), `Urgency` one of its four words, `Topic` at most 32
/// base64url characters. The server must send all three.
pub fn delivery_headers<'a>(header: impl Fn(&str) -> Option<&'a str>) -> Result<(), String> {
    if header("ttl").and_then(|t| t.parse::<u64>().ok()).is_none() {
        return Err(format!(
            "TTL {:?}: the header is mandatory, in seconds",
            header("ttl")
        ));
    }
    match header("urgency") {
        Some("very-low" | "low" | "normal" | "high") => {}
        other => {
            return Err(format!(
                "Urgency {other:?}: expected one of very-low, low, normal, high (`normal` for news)"
            ));
        }
    }
    match header("topic") {
        Some(topic)
            if !topic.is_empty()
                && topic.len() <= 32
                && topic
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') => {}
        other => {
            return Err(format!(
                "Topic {other:?}: expected at most 32 base64url characters, so a newer push replaces an undelivered one"
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- VAPID

/// Checks a push request's `Authorization: vapid t=<JWT>, k=<key>` header
/// (RFC 8292): an ES256 JWT signed by `k`, `k` the server's public key, `aud`
/// the push service's origin (port included), `exp` in the next 24 hours,
/// `sub` a `mailto:` or `https:` contact.
pub fn check_vapid(
    authorization: Option<&str>,
    server_key: &[u8],
    audience: &str,
) -> Result<(), String> {
    let authorization = authorization.ok_or("no Authorization header")?;
    let rest = authorization.strip_prefix("vapid ").ok_or_else(|| {
        format!("an Authorization header without the `vapid` scheme: {authorization:?}")
    })?;
    let (mut token, mut key) = (None, None);
    for part in rest.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => token = Some(value.to_owned()),
            Some(("k", value)) => key = Some(unb64("k", value)?),
            _ => {}
        }
    }
    let token = token.ok_or("no t=<JWT> in the vapid Authorization")?;
    let key = key.ok_or("no k=<public key> in the vapid Authorization")?;
    if key != server_key {
        return Err(format!(
            "k={} is not the server's public key {}",
            b64(&key),
            b64(server_key)
        ));
    }
    let (signed, signature) = token.rsplit_once('.').ok_or("a JWT without a signature")?;
    let verifying = p256::ecdsa::VerifyingKey::from_sec1_bytes(&key)
        .map_err(|_| "k is not a P-256 public key")?;
    let signature = p256::ecdsa::Signature::from_slice(&unb64("the JWT's signature", signature)?)
        .map_err(|_| "a JWT signature that is not 64 bytes of ES256")?;
    verifying
        .verify(signed.as_bytes(), &signature)
        .map_err(|_| "a JWT whose ES256 signature does not verify with k")?;
    let (header, claims) = signed.split_once('.').ok_or("a JWT without claims")?;
    let header: Value = serde_json::from_slice(&unb64("the JWT header", header)?)
        .map_err(|_| "a JWT header that is not JSON")?;
    if header["alg"] != "ES256" {
        return Err(format!("a JWT with alg {} (must be ES256)", header["alg"]));
    }
    let claims: Value = serde_json::from_slice(&unb64("the JWT claims", claims)?)
        .map_err(|_| "JWT claims that are not JSON")?;
    if claims["aud"].as_str() != Some(audience) {
        return Err(format!(
            "aud {:?}; it must be the push service's origin {audience:?}, port included",
            claims["aud"]
        ));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let exp = claims["exp"].as_u64().ok_or("no numeric exp claim")?;
    if exp <= now || exp > now + 24 * 3600 {
        return Err(format!(
            "exp {exp}, which is not within the next 24 hours (now is {now})"
        ));
    }
    let sub = claims["sub"].as_str().unwrap_or_default();
    if !(sub.starts_with("mailto:") || sub.starts_with("https://")) {
        return Err(format!(
            "sub {:?}; it must be a mailto: or https: contact",
            claims["sub"]
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------- the service

/// One request the push service received.
#[derive(Debug)]
pub struct Received {
    pub method: String,
    pub path: String,
    headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    /// Whether the sender asked to close the connection after this request.
    pub fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A push service on 127.0.0.1: records every request and answers `201
/// Created`, as a push service does when it accepted a message — or, for an
/// endpoint it was told is gone ([`PushService::expire`]), `404` or `410`.
pub struct PushService {
    pub origin: String,
    received: mpsc::UnboundedReceiver<Received>,
    /// The accept loop: it ends with the service.
    _accepting: Background,
    /// The path of each expired endpoint, and the status it answers.
    expired: Arc<Mutex<HashMap<String, &'static str>>>,
}

impl PushService {
    pub async fn start() -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot start the local push service")?;
        let origin = format!("http://{}", listener.local_addr()?);
        let (sender, received) = mpsc::unbounded_channel();
        let expired = Arc::new(Mutex::new(HashMap::new()));
        let answers = expired.clone();
        let accepting = Background::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let sender = sender.clone();
                let answers = answers.clone();
                tokio::spawn(async move {
                    if let Ok(Some(request)) = serve(stream, &answers).await {
                        let _ = sender.send(request);
                    }
                });
            }
        });
        Ok(Self {
            origin,
            received,
            _accepting: accepting,
            expired,
        })
    }

    /// From now on, the endpoint `id` answers `410 Gone` (`gone`) or `404
    /// Not Found`: what a push service says of a subscription that no
    /// longer exists (RFC 8030 §7.3 names 404; Mozilla's and Google's push
    /// services answer 410), which tells the sender to forget it.
    pub fn expire(&self, id: &str, gone: bool) {
        let status = if gone { "410 Gone" } else { "404 Not Found" };
        self.expired
            .lock()
            .unwrap()
            .insert(format!("/push/{id}"), status);
    }

    /// A subscription's endpoint on this service.
    pub fn endpoint(&self, id: &str) -> String {
        format!("{}/push/{id}", self.origin)
    }

    /// The next request, if one comes within `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> Option<Received> {
        tokio::time::timeout(timeout, self.received.recv())
            .await
            .ok()
            .flatten()
    }
}

/// Reads one request, answers `201 Created` (or the status of an expired
/// endpoint) and closes the connection.
async fn serve(
    mut stream: TcpStream,
    expired: &Mutex<HashMap<String, &'static str>>,
) -> Result<Option<Received>> {
    let request = read_request(&mut stream, &mut Vec::new()).await?;
    if let Some(request) = &request {
        let status = expired
            .lock()
            .unwrap()
            .get(&request.path)
            .copied()
            .unwrap_or("201 Created");
        respond(&mut stream, status).await?;
    }
    Ok(request)
}

/// Answers `status` (e.g. `201 Created`) with no body and closes the
/// connection: a push service's answer to a push is its status alone.
pub(crate) async fn respond(stream: &mut TcpStream, status: &str) -> Result<()> {
    stream
        .write_all(
            format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await?;
    let _ = stream.shutdown().await;
    Ok(())
}

/// Reads one HTTP/1.1 request, its body whole (by `Content-Length`, or
/// chunked); `None` if the connection closed before a request. `pending`
/// holds what was read past the request before it on a kept-alive
/// connection (and afterwards, what was read past this one).
pub(crate) async fn read_request(
    stream: &mut TcpStream,
    pending: &mut Vec<u8>,
) -> Result<Option<Received>> {
    let mut buf = [0u8; 16 * 1024];
    let end = loop {
        if let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        anyhow::ensure!(pending.len() <= 64 * 1024, "a request head over 64 KiB");
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            anyhow::ensure!(pending.is_empty(), "the connection closed mid-request");
            return Ok(None);
        }
        pending.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&pending[..end]).into_owned();
    pending.drain(..end + 4);
    let mut lines = head.lines();
    let mut start = lines.next().unwrap_or_default().split(' ');
    let method = start.next().unwrap_or_default().to_owned();
    let path = start.next().unwrap_or_default().to_owned();
    let mut request = Received {
        method,
        path,
        headers: lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect(),
        body: Vec::new(),
    };
    request.body = if request
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        // Up to the last chunk (a push body is small: one read or two).
        let end = loop {
            if let Some(at) = pending.windows(5).position(|w| w == b"0\r\n\r\n") {
                break at + 5;
            }
            let n = stream.read(&mut buf).await?;
            anyhow::ensure!(n > 0, "the connection closed mid-body");
            pending.extend_from_slice(&buf[..n]);
        };
        let body = dechunk(&pending[..end])?;
        pending.drain(..end);
        body
    } else {
        let length = match request.header("content-length") {
            Some(value) => value
                .parse::<usize>()
                .with_context(|| format!("a bad Content-Length: {value}"))?,
            None => 0,
        };
        while pending.len() < length {
            let n = stream.read(&mut buf).await?;
            anyhow::ensure!(n > 0, "the connection closed mid-body");
            pending.extend_from_slice(&buf[..n]);
        }
        pending.drain(..length).collect()
    };
    Ok(Some(request))
}

/// `method path` with a JSON body on 127.0.0.1:`port`; the status and the
/// body of the answer.
pub async fn http_json(port: u16, method: &str, path: &str, body: &Value) -> Result<(u16, String)> {
    http_request(port, method, path, Some(&body.to_string())).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Signer;

    fn token(key: &p256::ecdsa::SigningKey, claims: &Value) -> String {
        let signed = format!(
            "{}.{}",
            b64(br#"{"typ":"JWT","alg":"ES256"}"#),
            b64(claims.to_string().as_bytes())
        );
        let signature: p256::ecdsa::Signature = key.sign(signed.as_bytes());
        format!("{signed}.{}", b64(&signature.to_bytes()))
    }

    #[test]
    fn a_vapid_header_is_checked_claim_by_claim() {
        let key = p256::ecdsa::SigningKey::from_slice(&random::<32>().unwrap()).unwrap();
        let public = key
            .verifying_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let aud = "http://127.0.0.1:4321";
        let header =
            |claims: Value| format!("vapid t={}, k={}", token(&key, &claims), b64(&public));

        let good = header(json!({"aud": aud, "exp": now + 3600, "sub": "mailto:a@b.c"}));
        assert_eq!(check_vapid(Some(&good), &public, aud), Ok(()));

        let no_port =
            header(json!({"aud": "http://127.0.0.1", "exp": now + 3600, "sub": "mailto:a@b.c"}));
        assert!(
            check_vapid(Some(&no_port), &public, aud)
                .unwrap_err()
                .contains("port")
        );
        let late = header(json!({"aud": aud, "exp": now + 25 * 3600, "sub": "mailto:a@b.c"}));
        assert!(
            check_vapid(Some(&late), &public, aud)
                .unwrap_err()
                .contains("24 hours")
        );
        let no_sub = header(json!({"aud": aud, "exp": now + 3600}));
        assert!(
            check_vapid(Some(&no_sub), &public, aud)
                .unwrap_err()
                .contains("sub")
        );
        let other = p256::ecdsa::SigningKey::from_slice(&random::<32>().unwrap()).unwrap();
        let forged = format!(
            "vapid t={}, k={}",
            token(
                &other,
                &json!({"aud": aud, "exp": now + 3600, "sub": "mailto:a@b.c"})
            ),
            b64(&public)
        );
        assert!(
            check_vapid(Some(&forged), &public, aud)
                .unwrap_err()
                .contains("does not verify")
        );
        assert!(check_vapid(None, &public, aud).is_err());
    }

    #[test]
    fn a_body_not_for_this_subscriber_does_not_decrypt() {
        let subscriber = Subscriber::new().unwrap();
        assert_eq!(subscriber.public_key().len(), 65);
        let mut body = vec![0; 16];
        body.extend_from_slice(&4096u32.to_be_bytes());
        body.push(65);
        body.extend_from_slice(&Subscriber::new().unwrap().public_key());
        body.extend_from_slice(&[7; 40]);
        assert!(
            subscriber
                .decrypt(&body)
                .unwrap_err()
                .contains("does not decrypt")
        );
        assert!(subscriber.decrypt(&body[..10]).is_err());
    }

    #[test]
    fn a_push_without_rfc_8030s_delivery_headers_is_refused() {
        fn headers<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> {
            move |name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
        }
        let good = [
            ("ttl", "86400"),
            ("urgency", "normal"),
            ("topic", "new-articles"),
        ];
        assert_eq!(delivery_headers(headers(&good)), Ok(()));
        let cases: [(&[(&str, &str)], &str); 5] = [
            (&[("urgency", "normal"), ("topic", "t")], "TTL None"),
            (
                &[("ttl", "a day"), ("urgency", "normal"), ("topic", "t")],
                "TTL Some(\"a day\")",
            ),
            (&[("ttl", "60"), ("topic", "t")], "Urgency None"),
            (
                &[("ttl", "60"), ("urgency", "urgent"), ("topic", "t")],
                "Urgency Some(\"urgent\")",
            ),
            (
                &[("ttl", "60"), ("urgency", "low"), ("topic", "new articles")],
                "Topic Some(\"new articles\")",
            ),
        ];
        for (pairs, why) in cases {
            let refused = delivery_headers(headers(pairs)).unwrap_err();
            assert!(refused.starts_with(why), "{refused}");
        }
        let long = [
            ("ttl", "0"),
            ("urgency", "high"),
            ("topic", "abcdefghijklmnopqrstuvwxyz0123456"),
        ];
        assert!(
            delivery_headers(headers(&long))
                .unwrap_err()
                .starts_with("Topic")
        );
    }

    #[test]
    fn uuids_have_the_version_4_shape() {
        let id = uuid().unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert_ne!(id, uuid().unwrap());
    }
}
