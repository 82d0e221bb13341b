//! The app's public origin: the scheme, host and port a browser reaches it
//! at, such as `https://news.example`.
//!
//! The server needs it for one thing: the link in a push. A declarative push
//! message's `navigate` must be an absolute URL, because a browser that shows
//! the message by itself (Safari's Declarative Web Push, with no service
//! worker running) has no page to resolve a path against.
//!
//! Why not read it from each request's `Host` header? Pushes go to every
//! subscriber, and the `Host` of the request that published an article is
//! whatever its sender wrote: anyone who can publish could point every
//! subscriber's click at a site of their own. So the origin is configuration,
//! given once when the server starts.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

/// An `http` or `https` origin, serialised without a trailing slash (so that
/// [`PublicOrigin::join`] only has to append a path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicOrigin(String);

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum OriginError {
    #[error("`{input}` is not a URL ({reason}); give an origin such as https://news.example")]
    NotAUrl { input: String, reason: String },
    #[error("`{input}`: the scheme must be http or https, not {scheme}")]
    Scheme { input: String, scheme: String },
    #[error(
        "`{input}` has {part}; give the origin only (scheme, host and port), such as https://news.example: the app is always served from its origin's root"
    )]
    NotAnOrigin { input: String, part: &'static str },
}

impl PublicOrigin {
    /// The origin of a server listening on `address`, for when none is
    /// configured. An unspecified address (`0.0.0.0`, `::`) is reachable under
    /// many names; `localhost` is the one that works on this machine.
    pub fn of_listener(address: SocketAddr) -> Self {
        if address.ip().is_unspecified() {
            PublicOrigin(format!("http://localhost:{}", address.port()))
        } else {
            PublicOrigin(format!("http://{address}"))
        }
    }

    /// The absolute URL of `path` (which starts with `/`) in the app.
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// ANCHOR: from_str
impl FromStr for PublicOrigin {
    type Err = OriginError;

    fn from_str(input: &str) -> Result<Self, OriginError> {
        let url = url::Url::parse(input).map_err(|error| OriginError::NotAUrl {
            input: input.to_owned(),
            reason: error.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(OriginError::Scheme {
                input: input.to_owned(),
                scheme: url.scheme().to_owned(),
            });
        }
        let not_an_origin = |part| {
            Err(OriginError::NotAnOrigin {
                input: input.to_owned(),
                part,
            })
        };
        if !url.username().is_empty() || url.password().is_some() {
            return not_an_origin("a user name or password");
        }
        if url.path() != "/" {
            return not_an_origin("a path");
        }
        if url.query().is_some() {
            return not_an_origin("a query");
        }
        if url.fragment().is_some() {
            return not_an_origin("a fragment");
        }
        // The ASCII serialisation: lowercase, punycode, no default port, no
        // trailing slash — the same string a browser's `location.origin` gives.
        Ok(PublicOrigin(url.origin().ascii_serialization()))
    }
}
// ANCHOR_END: from_str

impl fmt::Display for PublicOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(input: &str) -> Result<String, OriginError> {
        input.parse::<PublicOrigin>().map(|o| o.to_string())
    }

    #[test]
    fn an_origin_is_kept_as_a_browser_writes_it() {
        assert_eq!(
            origin("https://news.example"),
            Ok("https://news.example".into())
        );
        assert_eq!(
            origin("https://news.example/"),
            Ok("https://news.example".into())
        );
        assert_eq!(
            origin("HTTPS://News.Example:443"),
            Ok("https://news.example".into())
        );
        assert_eq!(
            origin("http://127.0.0.1:3000"),
            Ok("http://127.0.0.1:3000".into())
        );
        assert_eq!(origin("http://[::1]:8080/"), Ok("http://[::1]:8080".into()));
        assert_eq!(
            origin("https://bücher.example"),
            Ok("https://xn--bcher-kva.example".into())
        );
    }

    #[test]
    fn anything_but_an_origin_says_what_is_wrong() {
        let wrong = |input: &str| origin(input).unwrap_err().to_string();
        assert!(
            wrong("news.example").contains("is not a URL"),
            "{}",
            wrong("news.example")
        );
        assert!(wrong("http://").contains("is not a URL"));
        assert!(wrong("ftp://news.example").contains("must be http or https, not ftp"));
        assert!(wrong("https://news.example/app").contains("has a path"));
        assert!(wrong("https://news.example/?x=1").contains("has a query"));
        assert!(wrong("https://news.example/#top").contains("has a fragment"));
        assert!(wrong("https://me:pw@news.example").contains("a user name or password"));
        // Each message names the value it refused.
        assert!(wrong("https://news.example/app").contains("`https://news.example/app`"));
    }

    #[test]
    fn without_configuration_the_listening_address_is_the_origin() {
        let at = |address: &str| PublicOrigin::of_listener(address.parse().unwrap()).to_string();
        assert_eq!(at("127.0.0.1:3000"), "http://127.0.0.1:3000");
        assert_eq!(at("[::1]:3000"), "http://[::1]:3000");
        assert_eq!(at("0.0.0.0:3000"), "http://localhost:3000");
        assert_eq!(at("[::]:3000"), "http://localhost:3000");
    }

    #[test]
    fn a_path_joins_without_a_double_slash() {
        let origin: PublicOrigin = "https://news.example/".parse().unwrap();
        assert_eq!(
            origin.join("/#latest-headlines"),
            "https://news.example/#latest-headlines"
        );
    }
}
