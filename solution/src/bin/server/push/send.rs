//! Sending push messages: one shared HTTP client, a bound on how many are in
//! flight, and the push service's answer decides what happens next.
//!
//! A push service answers (RFC 8030):
//! - `201`: accepted, it will deliver the message (the browser may be asleep);
//! - `404` or `410`: this subscription is gone (the user unsubscribed or the
//!   browser dropped it) — we delete it, or we would push to it forever;
//! - `413`: the message is too large for this push service (RFC 8030 asks
//!   every push service to take 4096 bytes, some take no more) — logged with
//!   the size, never retried: the same bytes would be refused again;
//! - `429` or `5xx`: not now — we try again later, after the `Retry-After`
//!   it asked for, or after a growing pause;
//! - any other `4xx`: our request is wrong; retrying would not help.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Client, Request, StatusCode};
use tokio::sync::Semaphore;

use super::subscription::{EndpointPolicy, non_public};

/// How sending behaves; [`SendConfig::default`] is what the server uses.
#[derive(Debug, Clone)]
pub struct SendConfig {
    /// How long the push service keeps a message for a browser that is not
    /// connected. Mandatory (the `TTL` header). A day: news older than that
    /// is not worth waking a phone for.
    pub ttl: Duration,
    /// Most requests in flight at once, over all fan-outs together.
    pub concurrency: usize,
    /// Tries per message, the first included.
    pub max_attempts: u32,
    /// The pause after the first failed try, doubled after each further one,
    /// when the push service does not say how long to wait.
    pub first_backoff: Duration,
    /// A `Retry-After` longer than this gives up instead of holding the
    /// message (and its task) for hours.
    pub max_wait: Duration,
    /// The whole exchange with a push service, body included.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    pub policy: EndpointPolicy,
}

impl Default for SendConfig {
    fn default() -> Self {
        SendConfig {
            ttl: Duration::from_secs(24 * 60 * 60),
            concurrency: 64,
            max_attempts: 5,
            first_backoff: Duration::from_secs(2),
            max_wait: Duration::from_secs(10 * 60),
            request_timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(10),
            policy: EndpointPolicy::PublicHttpsOnly,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("cannot set up the HTTP client for push: {0}")]
    Client(#[from] reqwest::Error),
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The push service took it.
    Delivered,
    /// The push service says the subscription no longer exists.
    Gone,
    /// Given up on, and why.
    Failed(String),
}

/// The largest push-service answer body kept for the log. The body is read
/// to its end all the same (up to this much), which is what lets the
/// connection go back to the pool for the next message.
const MAX_ANSWER_BYTES: usize = 16 * 1024;

pub struct Sender {
    client: Client,
    permits: Semaphore,
    config: SendConfig,
}

impl Sender {
    pub fn new(config: SendConfig) -> Result<Self, SendError> {
        // rustls needs a crypto provider; ring is the only one compiled in.
        // Installing it is process-wide and fails harmlessly when a provider
        // is already installed (a second `Sender` in the tests).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = Client::builder()
            .user_agent(concat!("offline-news/", env!("CARGO_PKG_VERSION")))
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            // Keep connections open between messages and fan-outs: a new TLS
            // handshake per message would cost more than the message.
            .pool_max_idle_per_host(config.concurrency)
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_keepalive(Duration::from_secs(60))
            // A redirect could lead anywhere, including into our own network;
            // push services do not redirect.
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve names itself, past the check below.
            .no_proxy();
        if config.policy == EndpointPolicy::PublicHttpsOnly {
            builder = builder.dns_resolver(PublicOnlyResolver);
        }
        Ok(Sender {
            client: builder.build()?,
            permits: Semaphore::new(config.concurrency.max(1)),
            config,
        })
    }

    pub fn config(&self) -> &SendConfig {
        &self.config
    }

    /// Sends one message, trying again on `429`, `5xx`, timeouts and
    /// connection failures, up to [`SendConfig::max_attempts`] tries.
    pub async fn send(&self, request: Request) -> Outcome {
        let mut attempt = 1;
        loop {
            let Some(this_try) = request.try_clone() else {
                return Outcome::Failed("the request cannot be sent twice".into());
            };
            // The permit is held for the exchange only, not while waiting to
            // retry: a slow push service must not hold up the others.
            let answer = match self.permits.acquire().await {
                Ok(_permit) => self.exchange(this_try).await,
                Err(_) => return Outcome::Failed("the sender is shutting down".into()),
            };
            let (reason, wait) = match answer {
                Ok(answer) if answer.status.is_success() => return Outcome::Delivered,
                Ok(answer) if matches!(answer.status, StatusCode::NOT_FOUND | StatusCode::GONE) => {
                    return Outcome::Gone;
                }
                Ok(answer) if answer.status == StatusCode::PAYLOAD_TOO_LARGE => {
                    let size = request.body().and_then(|b| b.as_bytes()).map(<[u8]>::len);
                    return Outcome::Failed(format!(
                        "{}; the encrypted message is {} bytes, not retried",
                        answer.describe(),
                        size.map_or_else(|| "?".to_owned(), |n| n.to_string())
                    ));
                }
                Ok(answer)
                    if answer.status == StatusCode::TOO_MANY_REQUESTS
                        || answer.status.is_server_error() =>
                {
                    let wait = answer.retry_after.unwrap_or_else(|| self.backoff(attempt));
                    (answer.describe(), wait)
                }
                Ok(answer) => return Outcome::Failed(answer.describe()),
                Err(error) => (describe_error(&error), self.backoff(attempt)),
            };
            if attempt >= self.config.max_attempts {
                return Outcome::Failed(format!("{reason}; gave up after {attempt} tries"));
            }
            if wait > self.config.max_wait {
                return Outcome::Failed(format!(
                    "{reason}; asked to wait {}s, too long",
                    wait.as_secs()
                ));
            }
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// One request and its whole answer.
    async fn exchange(&self, request: Request) -> Result<Answer, reqwest::Error> {
        let mut response = self.client.execute(request).await?;
        let status = response.status();
        let retry_after = retry_after(response.headers(), SystemTime::now());
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                // Too much to read: drop the connection rather than the time.
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status,
            retry_after,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let doubled = self
            .config
            .first_backoff
            .saturating_mul(1 << attempt.saturating_sub(1).min(16));
        doubled.min(self.config.max_wait)
    }
}

struct Answer {
    status: StatusCode,
    retry_after: Option<Duration>,
    body: String,
}

impl Answer {
    fn describe(&self) -> String {
        let body: String = self.body.chars().take(200).collect();
        format!("the push service answered {}: {}", self.status, body.trim())
    }
}

/// A reqwest error with its causes: its own text alone is often just "error
/// sending request".
fn describe_error(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `Retry-After`: a number of seconds, or an HTTP date.
fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or_default())
}

/// Resolves names as usual, but refuses any that leads to a loopback,
/// private or link-local address: a subscription's host could be pointed at
/// one after it was checked and stored.
struct PublicOnlyResolver;

impl reqwest::dns::Resolve for PublicOnlyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some((ip, kind)) = addresses
                .iter()
                .find_map(|address| non_public(address.ip()).map(|kind| (address.ip(), kind)))
            {
                return Err(
                    format!("{host} leads to {ip}, a {kind} address; not sending there").into(),
                );
            }
            Ok(Box::new(addresses.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_seconds_or_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers, now), None);
        headers.insert(RETRY_AFTER, "120".parse().unwrap());
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(120)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        headers.insert(RETRY_AFTER, later.parse().unwrap());
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(30)));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(30));
        headers.insert(RETRY_AFTER, earlier.parse().unwrap());
        assert_eq!(retry_after(&headers, now), Some(Duration::ZERO));
        headers.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers, now), None);
    }

    #[test]
    fn the_backoff_doubles_up_to_the_limit() {
        let sender = Sender::new(SendConfig {
            first_backoff: Duration::from_secs(2),
            max_wait: Duration::from_secs(10),
            ..SendConfig::default()
        })
        .unwrap();
        let waits: Vec<u64> = (1..=5).map(|n| sender.backoff(n).as_secs()).collect();
        assert_eq!(waits, [2, 4, 8, 10, 10]);
    }
}
