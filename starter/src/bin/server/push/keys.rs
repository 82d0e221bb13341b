//! The server's VAPID key pair (RFC 8292): how a push service knows that a
//! push comes from the server a browser subscribed to.
//!
//! The page subscribes with the public key; from then on the push service
//! accepts only pushes signed with the matching private key. So the key pair
//! is made once, on first start, and kept: a new key would silently cut off
//! every subscribed browser. It lives beside the database, readable by its
//! owner only, since anyone holding it can push to our subscribers.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ct_codecs::{Base64UrlSafeNoPadding, Decoder, Encoder};
use jwt_simple::prelude::{Claims, ECDSAP256KeyPairLike, ECDSAP256PublicKeyLike, ES256KeyPair};
use web_push::VapidSignature;

/// The key file's name, in the database's directory.
pub const KEY_FILE: &str = "vapid-private-key";

/// How long a signed VAPID token is valid. RFC 8292 allows at most 24 hours;
/// push services reject longer ones.
const TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);
/// A token is signed again this long before it expires, so that none expires
/// on the way to the push service or while a push waits to be retried.
const TOKEN_RENEW_BEFORE: Duration = Duration::from_secs(60 * 60);

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot create the directory {path} for the VAPID key: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot read the VAPID key {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write the VAPID key {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the VAPID key {path} is damaged ({reason}); delete it to make a new one \
         (every browser will then have to subscribe again)"
    )]
    Damaged { path: String, reason: String },
    #[error("cannot sign a VAPID token: {0}")]
    Sign(String),
}

/// The key pair, loaded once at start.
pub struct VapidKeys {
    key_pair: ES256KeyPair,
    /// The public key as an uncompressed P-256 point (65 bytes, `0x04‖x‖y`):
    /// the `applicationServerKey` of the page's subscribe call, and the `k`
    /// of every push's `Authorization` header.
    public_key: Vec<u8>,
    path: PathBuf,
}

impl VapidKeys {
    /// Loads the key pair from `dir`, or makes one and saves it there.
    pub fn load_or_create(dir: &Path) -> Result<Self, KeyError> {
        let path = dir.join(KEY_FILE);
        let key_pair = match std::fs::read_to_string(&path) {
            Ok(text) => {
                keep_private(&path)?;
                decode_private_key(&text).map_err(|reason| KeyError::Damaged {
                    path: path.display().to_string(),
                    reason,
                })?
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let key_pair = ES256KeyPair::generate();
                save_private_key(dir, &path, &key_pair)?;
                tracing::info!("made a new VAPID key pair in {}", path.display());
                key_pair
            }
            Err(source) => {
                return Err(KeyError::Read {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        let public_key = key_pair.public_key().public_key().to_bytes_uncompressed();
        Ok(VapidKeys {
            key_pair,
            public_key,
            path,
        })
    }

    /// The public key, base64url without padding, as browsers take it.
    pub fn public_key_base64(&self) -> String {
        Base64UrlSafeNoPadding::encode_to_string(&self.public_key).unwrap_or_default()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Signs a VAPID token (a JWT, ES256) for one push service.
    fn sign(&self, audience: &str, subject: &str) -> Result<VapidSignature, KeyError> {
        let lifetime = jwt_simple::prelude::Duration::from_secs(TOKEN_LIFETIME.as_secs());
        let claims = Claims::create(lifetime)
            .with_audience(audience)
            .with_subject(subject);
        let token = self
            .key_pair
            .sign(claims)
            .map_err(|error| KeyError::Sign(error.to_string()))?;
        Ok(VapidSignature {
            auth_t: token,
            auth_k: self.public_key.clone(),
        })
    }
}

fn decode_private_key(text: &str) -> Result<ES256KeyPair, String> {
    let bytes = Base64UrlSafeNoPadding::decode_to_vec(text.trim(), None)
        .map_err(|_| "not base64url".to_owned())?;
    ES256KeyPair::from_bytes(&bytes).map_err(|_| "not a P-256 private key".to_owned())
}

/// Writes the private key (base64url of its 32 bytes) with owner-only
/// permissions. It goes to a temporary file first and is renamed into place,
/// so a crash mid-write never leaves a half key that the next start would
/// refuse.
fn save_private_key(dir: &Path, path: &Path, key_pair: &ES256KeyPair) -> Result<(), KeyError> {
    std::fs::create_dir_all(dir).map_err(|source| KeyError::CreateDir {
        path: dir.display().to_string(),
        source,
    })?;
    let temporary = path.with_extension("new");
    let write_error = |source| KeyError::Write {
        path: temporary.display().to_string(),
        source,
    };
    // A leftover from an earlier crash may have other permissions; the mode
    // below only applies to a file created now.
    match std::fs::remove_file(&temporary) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            return Err(write_error(error));
        }
        _ => {}
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary).map_err(write_error)?;
    let encoded = Base64UrlSafeNoPadding::encode_to_string(key_pair.to_bytes())
        .map_err(|error| KeyError::Sign(error.to_string()))?;
    file.write_all(format!("{encoded}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(write_error)?;
    std::fs::rename(&temporary, path).map_err(|source| KeyError::Write {
        path: path.display().to_string(),
        source,
    })
}

/// Takes group and other permissions away from an existing key file (it may
/// have been copied with a loose umask), saying so in the log.
fn keep_private(path: &Path) -> Result<(), KeyError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let read_error = |source| KeyError::Read {
            path: path.display().to_string(),
            source,
        };
        let mode = std::fs::metadata(path)
            .map_err(read_error)?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            tracing::warn!(
                "{} was readable by others (mode {:o}); making it owner-only",
                path.display(),
                mode & 0o777
            );
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .map_err(read_error)?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Signed tokens, one per push service.
///
/// A VAPID token names its audience — the push service's origin — and
/// nothing about the subscription, so every push to the same service can
/// carry the same token. Signing is the costliest step of building a push
/// after the encryption itself; doing it once per service rather than once
/// per message makes a fan-out to thousands of browsers of one service sign
/// once.
pub struct Signer {
    keys: VapidKeys,
    /// Who runs this server: a `mailto:` or `https:` URL the push service can
    /// contact about our traffic.
    subject: String,
    signed: Mutex<HashMap<String, (VapidSignature, Instant)>>,
}

impl Signer {
    pub fn new(keys: VapidKeys, subject: String) -> Self {
        Signer {
            keys,
            subject,
            signed: Mutex::new(HashMap::new()),
        }
    }

    pub fn keys(&self) -> &VapidKeys {
        &self.keys
    }

    /// The token for the push service at `origin` (`scheme://host[:port]`),
    /// signed now or reused from earlier while it has more than an hour left.
    pub fn signature_for(&self, origin: &str) -> Result<VapidSignature, KeyError> {
        let now = Instant::now();
        // A poisoned lock only means another push panicked while holding it;
        // the map itself is still sound.
        let mut signed = self
            .signed
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((signature, renew_at)) = signed.get(origin)
            && now < *renew_at
        {
            return Ok(signature.clone());
        }
        let signature = self.keys.sign(origin, &self.subject)?;
        signed.insert(
            origin.to_owned(),
            (signature.clone(), now + TOKEN_LIFETIME - TOKEN_RENEW_BEFORE),
        );
        Ok(signature)
    }
}
