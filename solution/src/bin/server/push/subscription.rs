//! Checking a browser's `PushSubscription` before it is stored.
//!
//! What the page sends is `subscription.toJSON()`:
//! `{"endpoint": "https://…", "expirationTime": null, "keys": {"p256dh": "…", "auth": "…"}}`.
//! The endpoint is where the server will later send requests of its own
//! accord, so it is checked with care: a server that POSTs to any URL a
//! visitor hands it is a way into the network it runs in (SSRF). Endpoints
//! must be https and must not lead to this machine or a private network.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ct_codecs::{Base64UrlSafeNoPadding, Decoder};
use reqwest::Url;
use serde::Deserialize;

use crate::store::Subscription;

/// Longest endpoint accepted. Real ones are 100 to 500 characters.
const MAX_ENDPOINT_CHARS: usize = 2048;

/// Which endpoints may be stored and sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointPolicy {
    /// https, public addresses only: what a real deployment needs.
    PublicHttpsOnly,
    /// Also http and loopback or private addresses: only for a push service
    /// that a test runs on this machine (`--allow-local-push-endpoints`).
    AllowLocal,
}

/// A `PushSubscription` as the page sends it, each field of the right type
/// (or absent) but not yet checked.
#[derive(Deserialize)]
pub struct SubscriptionDraft {
    endpoint: Option<String>,
    keys: Option<KeysDraft>,
}

#[derive(Deserialize)]
struct KeysDraft {
    p256dh: Option<String>,
    auth: Option<String>,
}

impl SubscriptionDraft {
    /// Reads the JSON: an object, whose fields have the right types. Errors
    /// start with the field at fault, like the articles API's.
    pub fn from_value(value: serde_json::Value) -> Result<Self, String> {
        match value {
            serde_json::Value::Object(_) => {
                serde_path_to_error::deserialize(value).map_err(|e| e.to_string())
            }
            _ => Err("body: expected a PushSubscription object".into()),
        }
    }

    /// Checks the form of a subscription: every field there and well made.
    /// Errors start with the field at fault. Where the endpoint leads is
    /// [`check_destination`]'s to check.
    pub fn check(self, policy: EndpointPolicy) -> Result<(Subscription, Url), String> {
        let endpoint = self.endpoint.ok_or("endpoint: is missing")?;
        let url = parse_endpoint(&endpoint, policy)?;
        let keys = self.keys.ok_or("keys: is missing")?;
        let p256dh = keys.p256dh.ok_or("keys.p256dh: is missing")?;
        let p256dh_bytes = decode_base64url("keys.p256dh", &p256dh)?;
        if p256dh_bytes.len() != 65 || p256dh_bytes[0] != 0x04 {
            return Err(format!(
                "keys.p256dh: must be an uncompressed P-256 point (65 bytes starting with 0x04), got {} bytes",
                p256dh_bytes.len()
            ));
        }
        // 65 bytes of the right shape may still not be a point on the
        // curve; the encryption would fail on every push.
        jwt_simple::prelude::P256PublicKey::from_bytes(&p256dh_bytes)
            .map_err(|_| "keys.p256dh: is not a point on the P-256 curve".to_owned())?;
        let auth = keys.auth.ok_or("keys.auth: is missing")?;
        let auth_bytes = decode_base64url("keys.auth", &auth)?;
        if auth_bytes.len() != 16 {
            return Err(format!(
                "keys.auth: must be 16 bytes, got {}",
                auth_bytes.len()
            ));
        }
        let subscription = Subscription {
            endpoint,
            p256dh: p256dh.trim_end_matches('=').to_owned(),
            auth: auth.trim_end_matches('=').to_owned(),
        };
        Ok((subscription, url))
    }
}

/// base64url, with or without `=` padding (browsers send none).
fn decode_base64url(field: &str, text: &str) -> Result<Vec<u8>, String> {
    Base64UrlSafeNoPadding::decode_to_vec(text.trim_end_matches('='), None)
        .map_err(|_| format!("{field}: is not base64url"))
}

fn parse_endpoint(endpoint: &str, policy: EndpointPolicy) -> Result<Url, String> {
    if endpoint.chars().count() > MAX_ENDPOINT_CHARS {
        return Err(format!(
            "endpoint: must be at most {MAX_ENDPOINT_CHARS} characters"
        ));
    }
    let url = Url::parse(endpoint).map_err(|e| format!("endpoint: is not a URL ({e})"))?;
    match (url.scheme(), policy) {
        ("https", _) | ("http", EndpointPolicy::AllowLocal) => {}
        (scheme, _) => return Err(format!("endpoint: must be an https URL, not {scheme}")),
    }
    if url.host().is_none() {
        return Err("endpoint: has no host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("endpoint: must not contain a user name or password".into());
    }
    Ok(url)
}

/// `scheme://host[:port]` of an endpoint: the `aud` of its VAPID token. The
/// port is part of the origin, and a push service on a non-default port
/// checks for it.
pub fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// Checks where an endpoint leads: every address its host resolves to must
/// be public. Run when a subscription is stored; the sender's DNS resolver
/// runs the same check at every connection, since a name can be pointed
/// elsewhere after it was stored (DNS rebinding).
pub async fn check_destination(url: &Url, policy: EndpointPolicy) -> Result<(), String> {
    if policy == EndpointPolicy::AllowLocal {
        return Ok(());
    }
    let host = url.host_str().ok_or("endpoint: has no host")?;
    let port = url.port_or_known_default().unwrap_or(443);
    let addresses: Vec<IpAddr> = match url.host() {
        Some(url::Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
        Some(url::Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
        _ => tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| format!("endpoint: cannot resolve {host} ({e})"))?
            .map(|address| address.ip())
            .collect(),
    };
    if addresses.is_empty() {
        return Err(format!("endpoint: {host} has no address"));
    }
    for ip in addresses {
        if let Some(kind) = non_public(ip) {
            return Err(format!(
                "endpoint: {host} leads to {ip}, a {kind} address; push services are on the public internet"
            ));
        }
    }
    Ok(())
}

/// Why an address is not a public one, if it is not.
pub fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(ip) => non_public_v4(ip),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(v4) => non_public_v4(v4),
            None => non_public_v6(ip),
        },
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if ip.is_unspecified() || a == 0 {
        Some("unspecified")
    } else if a == 100 && (64..128).contains(&b) {
        // 100.64.0.0/10, carrier-grade NAT: private to the provider.
        Some("shared (carrier-grade NAT)")
    } else if ip.is_broadcast() || ip.is_multicast() || a >= 240 {
        Some("broadcast, multicast or reserved")
    } else {
        None
    }
}

fn non_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() {
        Some("unspecified")
    } else if ip.is_unique_local() {
        Some("private (unique local)")
    } else if ip.is_unicast_link_local() {
        Some("link-local")
    } else if ip.is_multicast() {
        Some("multicast")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_public_addresses_are_named() {
        for (ip, kind) in [
            ("127.0.0.1", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("0.0.0.0", "unspecified"),
            ("100.64.0.1", "shared (carrier-grade NAT)"),
            ("::1", "loopback"),
            ("fd00::1", "private (unique local)"),
            ("fe80::1", "link-local"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.0.0.1", "private"),
        ] {
            assert_eq!(non_public(ip.parse().unwrap()), Some(kind), "{ip}");
        }
        for ip in ["142.250.1.1", "2a00:1450:4001::1", "100.128.0.1"] {
            assert_eq!(non_public(ip.parse().unwrap()), None, "{ip}");
        }
    }

    #[test]
    fn the_origin_keeps_a_non_default_port() {
        let url = Url::parse("https://push.example:8443/wpush/abc").unwrap();
        assert_eq!(origin(&url), "https://push.example:8443");
        let url = Url::parse("https://push.example:443/wpush/abc").unwrap();
        assert_eq!(origin(&url), "https://push.example");
        let url = Url::parse("http://127.0.0.1:4000/p").unwrap();
        assert_eq!(origin(&url), "http://127.0.0.1:4000");
    }
}
