//! Web Push: the server tells every subscribed browser about new articles,
//! even when no page of the app is open.
//!
//! - `keys.rs`: the VAPID key pair the page subscribes with, and the signed
//!   tokens that prove a push comes from this server;
//! - `subscription.rs`: a browser's `PushSubscription`, checked before
//!   `store` keeps it, and where an endpoint may lead;
//! - `send.rs`: one message to one push service, and what its answer means;
//! - here, [`Push`]: after an article POST commits something new,
//!   [`Push::announce`] encrypts and sends every subscription a message, in
//!   the background: the POST's answer never waits for a push service.
//!
//! Nothing here speaks HTTP to browsers: the routes that hand out the public
//! key and store subscriptions are in `api/push.rs`.

pub mod keys;
pub mod send;
pub mod subscription;

use std::path::Path;
use std::sync::Arc;

use crate::origin::PublicOrigin;
use crate::shared::push_payload::{NEW_ARTICLES_PATH, PushPayload};
use web_push::{ContentEncoding, SubscriptionInfo, Urgency, WebPushMessageBuilder};

use crate::store::{Store, Subscription, with_store};
use keys::{KeyError, Signer, VapidKeys};
use send::{Outcome, SendConfig, SendError, Sender};
pub use subscription::EndpointPolicy;

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Send(#[from] SendError),
    #[error("the stored endpoint {endpoint} is not a URL: {source}")]
    Endpoint {
        endpoint: String,
        source: url::ParseError,
    },
    #[error("cannot encrypt the push message: {0}")]
    Encrypt(web_push::WebPushError),
    #[error("cannot build the push request: {0}")]
    Request(String),
}

/// The `Topic` of every push about new articles (RFC 8030, section 5.4: at
/// most 32 characters of the base64url alphabet). A push service keeps only
/// the newest undelivered message of a topic for a subscription, so a phone
/// that was off all day wakes to one notification, not one per article.
pub const TOPIC: &str = "new-articles";

/// How many encrypted messages may wait for the sending side to take them.
const ENCRYPTED_AHEAD: usize = 256;

/// Everything push needs, shared by the routes and the background sends.
pub struct Push {
    signer: Signer,
    sender: Sender,
    /// Where the app is, for the absolute link in every push.
    app: PublicOrigin,
}

impl Push {
    /// Loads (or makes) the VAPID key pair in `key_dir` and sets up the HTTP
    /// client. `subject` is the VAPID `sub`: a `mailto:` or `https:` URL;
    /// `app` is the origin the pushes' links point at.
    pub fn new(
        key_dir: &Path,
        subject: String,
        app: PublicOrigin,
        config: SendConfig,
    ) -> Result<Self, PushError> {
        let keys = VapidKeys::load_or_create(key_dir)?;
        Ok(Push {
            signer: Signer::new(keys, subject),
            sender: Sender::new(config)?,
            app,
        })
    }

    pub fn keys(&self) -> &VapidKeys {
        self.signer.keys()
    }

    /// Which endpoints may be stored and sent to.
    pub fn policy(&self) -> EndpointPolicy {
        self.sender.config().policy
    }

    // ANCHOR: announce
    /// Tells every subscriber about newly published articles, in a task of
    /// its own: the caller (the POST that published them) answers at once.
    pub fn announce(
        self: &Arc<Self>,
        store: Arc<Store>,
        headlines: Vec<String>,
    ) -> tokio::task::JoinHandle<FanOut> {
        let push = Arc::clone(self);
        let payload = PushPayload::new_articles(&headlines, self.app.join(NEW_ARTICLES_PATH));
        tokio::spawn(async move {
            let fan_out = push.send_to_all(&store, &payload).await;
            tracing::info!(
                "push: {} delivered, {} subscriptions gone and removed, {} failed",
                fan_out.delivered,
                fan_out.removed,
                fan_out.failed
            );
            fan_out
        })
    }
    // ANCHOR_END: announce

    /// Sends `payload` to every stored subscription, at most
    /// [`SendConfig::concurrency`] at a time, and removes those the push
    /// service says are gone.
    pub async fn send_to_all(
        self: &Arc<Self>,
        store: &Arc<Store>,
        payload: &PushPayload,
    ) -> FanOut {
        let mut fan_out = FanOut::default();
        let subscriptions = match with_store(store, Store::subscriptions).await {
            Ok(subscriptions) => subscriptions,
            Err(error) => {
                tracing::error!("push: cannot read the subscriptions: {error}");
                return fan_out;
            }
        };
        // The declarative form: a browser with Declarative Web Push shows it
        // even with no worker running; ours reads it either way.
        let payload: Arc<[u8]> = match serde_json::to_vec(&payload.declarative()) {
            Ok(bytes) => bytes.into(),
            Err(error) => {
                tracing::error!("push: cannot encode the payload: {error}");
                return fan_out;
            }
        };
        // Encrypting is most of what a push costs this server (the web-push
        // crate: a fresh P-256 key pair, ECDH, HKDF, AES-GCM, per message).
        // It runs on threads of its own, one per core, rather than on the
        // runtime's: a runtime thread busy encrypting looks at the sockets
        // only now and then, and the answers of the messages already sent
        // would wait for it. The sends start with the first message built.
        let (built, mut to_send) = tokio::sync::mpsc::channel(ENCRYPTED_AHEAD);
        let queue = Arc::new(std::sync::Mutex::new(subscriptions.into_iter()));
        let encrypters = std::thread::available_parallelism().map_or(1, usize::from);
        for _ in 0..encrypters {
            let (push, queue, built) = (Arc::clone(self), Arc::clone(&queue), built.clone());
            let payload = Arc::clone(&payload);
            tokio::task::spawn_blocking(move || {
                while let Some(subscription) = queue.lock().ok().and_then(|mut q| q.next()) {
                    let request = push.build_request(&subscription, &payload);
                    if built.blocking_send((subscription, request)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(built);
        let mut sends = tokio::task::JoinSet::new();
        while let Some((subscription, request)) = to_send.recv().await {
            let push = Arc::clone(self);
            // The sender's semaphore bounds what is in flight; the tasks
            // themselves are cheap while they wait for it.
            sends.spawn(async move {
                let outcome = match request {
                    Ok(request) => push.sender.send(request).await,
                    Err(error) => Outcome::Failed(error.to_string()),
                };
                (subscription.endpoint, outcome)
            });
        }
        while let Some(joined) = sends.join_next().await {
            let (endpoint, outcome) = match joined {
                Ok(sent) => sent,
                Err(error) => {
                    tracing::error!("push: a send task failed: {error}");
                    fan_out.failed += 1;
                    continue;
                }
            };
            match outcome {
                Outcome::Delivered => fan_out.delivered += 1,
                Outcome::Gone => {
                    let gone = endpoint.clone();
                    match with_store(store, move |s| s.delete_subscription(&gone)).await {
                        Ok(_) => fan_out.removed += 1,
                        Err(error) => {
                            tracing::error!(
                                "push: cannot delete {endpoint}, which is gone: {error}"
                            );
                            fan_out.failed += 1;
                        }
                    }
                }
                Outcome::Failed(reason) => {
                    tracing::warn!("push to {endpoint} failed: {reason}");
                    fan_out.failed += 1;
                }
            }
        }
        fan_out
    }

    // ANCHOR: build_request
    /// Encrypts `payload` for one subscription (aes128gcm, RFC 8291), signs
    /// for its push service (VAPID, RFC 8292) and makes the HTTP request.
    fn build_request(
        &self,
        subscription: &Subscription,
        payload: &[u8],
    ) -> Result<reqwest::Request, PushError> {
        let url =
            reqwest::Url::parse(&subscription.endpoint).map_err(|source| PushError::Endpoint {
                endpoint: subscription.endpoint.clone(),
                source,
            })?;
        if self.policy() == EndpointPolicy::PublicHttpsOnly
            && let Some(kind) = literal_ip(&url).and_then(subscription::non_public)
        {
            return Err(PushError::Request(format!(
                "{url} is a {kind} address; not sending there"
            )));
        }
        // The crate would set `aud` to scheme://host, dropping a non-default
        // port; the audience is the origin, port included, so we sign
        // ourselves (once per push service, see `keys::Signer`).
        let signature = self.signer.signature_for(&subscription::origin(&url))?;
        let info = SubscriptionInfo::new(
            &subscription.endpoint,
            &subscription.p256dh,
            &subscription.auth,
        );
        let mut message = WebPushMessageBuilder::new(&info);
        message.set_payload(ContentEncoding::Aes128Gcm, payload);
        // RFC 8030's delivery headers. TTL: how long the push service keeps
        // the message for a browser that is offline (news a day old is not
        // news). Urgency: `normal`, so a phone on low battery may wait for a
        // better moment (`high` is for calls and alarms). Topic: a newer
        // announcement replaces one still waiting.
        let ttl = self.sender.config().ttl.as_secs();
        message.set_ttl(u32::try_from(ttl).unwrap_or(u32::MAX));
        message.set_urgency(Urgency::Normal);
        message.set_topic(TOPIC.to_owned());
        message.set_vapid_signature(signature);
        let message = message.build().map_err(PushError::Encrypt)?;

        // web-push speaks the `http` 0.2 types and reqwest the 1.x ones:
        // carry the parts over by name and bytes.
        let (parts, body) =
            web_push::request_builder::build_request::<Vec<u8>>(message).into_parts();
        let mut request = reqwest::Request::new(reqwest::Method::POST, url);
        for (name, value) in &parts.headers {
            // reqwest sets Content-Length from the body itself.
            if name.as_str().eq_ignore_ascii_case("content-length") {
                continue;
            }
            let name = reqwest::header::HeaderName::from_bytes(name.as_str().as_bytes())
                .map_err(|e| PushError::Request(e.to_string()))?;
            let value = reqwest::header::HeaderValue::from_bytes(value.as_bytes())
                .map_err(|e| PushError::Request(e.to_string()))?;
            request.headers_mut().append(name, value);
        }
        *request.body_mut() = Some(body.into());
        Ok(request)
    }
    // ANCHOR_END: build_request
}

fn literal_ip(url: &reqwest::Url) -> Option<std::net::IpAddr> {
    match url.host()? {
        url::Host::Ipv4(ip) => Some(ip.into()),
        url::Host::Ipv6(ip) => Some(ip.into()),
        url::Host::Domain(_) => None,
    }
}

/// What one announcement did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FanOut {
    pub delivered: usize,
    pub removed: usize,
    pub failed: usize,
}
