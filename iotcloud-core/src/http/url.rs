//! The `http://` and `https://` URLs the client fetches.

use core::fmt;

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP (test servers only, or when asked for).
    Http,
    /// HTTP over TLS.
    Https,
}

impl Scheme {
    /// The scheme's default port.
    pub fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

/// Why a URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum UrlError {
    /// Not `http://` or `https://`.
    #[error("only http:// and https:// URLs are supported")]
    Scheme,
    /// No host, or characters a host cannot have.
    #[error("invalid host")]
    Host,
    /// The port is not a number from 1 to 65535.
    #[error("invalid port")]
    Port,
    /// Spaces or control characters, which a request line cannot carry.
    #[error("the URL contains spaces or control characters")]
    Characters,
}

/// A parsed URL, borrowing its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Url<'a> {
    /// Scheme.
    pub scheme: Scheme,
    /// Host name or address (IPv6 in brackets, as written).
    pub host: &'a str,
    /// Port, explicit or the scheme's default.
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: &'a str,
}

impl<'a> Url<'a> {
    /// Parses `http[s]://host[:port][/path][?query]`; a fragment is dropped.
    pub fn parse(text: &'a str) -> Result<Url<'a>, UrlError> {
        if text.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(UrlError::Characters);
        }
        let (scheme, rest) = if let Some(r) = strip_prefix_ci(text, "https://") {
            (Scheme::Https, r)
        } else if let Some(r) = strip_prefix_ci(text, "http://") {
            (Scheme::Http, r)
        } else {
            return Err(UrlError::Scheme);
        };
        let rest = rest.split('#').next().unwrap_or("");
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        let path = if path.is_empty() { "/" } else { path };
        if !path.starts_with('/') {
            // "host?query": HTTP needs a path; refuse rather than guess.
            return Err(UrlError::Host);
        }
        if authority.contains('@') {
            return Err(UrlError::Host); // credentials in URLs are not supported
        }
        // A bracketed IPv6 literal, or a name or IPv4 address: `:` and brackets belong
        // to the literal only, so that the host connected to is the host printed.
        let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
            let (literal, after) = inner.split_once(']').ok_or(UrlError::Host)?;
            let port = match after {
                "" => None,
                _ => Some(after.strip_prefix(':').ok_or(UrlError::Host)?),
            };
            if literal.is_empty()
                || !literal
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
            {
                return Err(UrlError::Host);
            }
            (&authority[..literal.len() + 2], port)
        } else {
            let (host, port) = match authority.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            };
            if host.is_empty()
                || !host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
            {
                return Err(UrlError::Host);
            }
            (host, port)
        };
        let port = match port {
            None => scheme.default_port(),
            Some(p) => match p.parse::<u16>() {
                Ok(p) if p > 0 => p,
                _ => return Err(UrlError::Port),
            },
        };
        Ok(Url {
            scheme,
            host,
            port,
            path,
        })
    }

    /// Resolves a `Location` header against this URL: absolute URLs as they are, and
    /// absolute paths (`/…`) on this URL's scheme, host and port.
    pub fn join(&self, location: &'a str) -> Result<Url<'a>, UrlError> {
        if location.starts_with('/') && !location.starts_with("//") {
            if location.bytes().any(|b| b <= b' ' || b == 0x7f) {
                return Err(UrlError::Characters);
            }
            Ok(Url {
                path: location,
                ..*self
            })
        } else {
            Url::parse(location)
        }
    }
}

fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

impl fmt::Display for Url<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        write!(f, "{scheme}://{}", self.host)?;
        if self.port != self.scheme.default_port() {
            write!(f, ":{}", self.port)?;
        }
        f.write_str(self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_with_defaults() {
        let u =
            Url::parse("https://iot-auth.cn-shanghai.aliyuncs.com/auth/register/device").unwrap();
        assert_eq!(
            (u.scheme, u.host, u.port, u.path),
            (
                Scheme::Https,
                "iot-auth.cn-shanghai.aliyuncs.com",
                443,
                "/auth/register/device"
            )
        );
        let u = Url::parse("HTTP://127.0.0.1:8080?x=1#frag").unwrap_err();
        assert_eq!(u, UrlError::Host);
        let u = Url::parse("http://127.0.0.1:8080/fw.bin?x=1#frag").unwrap();
        assert_eq!(
            (u.scheme, u.port, u.path),
            (Scheme::Http, 8080, "/fw.bin?x=1")
        );
        assert_eq!(Url::parse("http://[::1]:81/").unwrap().host, "[::1]");
        assert_eq!(
            std::format!("{}", Url::parse("https://h:443/a").unwrap()),
            "https://h/a"
        );
    }

    #[test]
    fn bad_urls_are_named() {
        assert_eq!(Url::parse("ftp://h/x"), Err(UrlError::Scheme));
        assert_eq!(Url::parse("http:///x"), Err(UrlError::Host));
        assert_eq!(Url::parse("http://h:0/"), Err(UrlError::Port));
        assert_eq!(Url::parse("http://h:99999/"), Err(UrlError::Port));
        assert_eq!(Url::parse("http://h/a b"), Err(UrlError::Characters));
        assert_eq!(Url::parse("http://u:p@h/"), Err(UrlError::Host));
        assert_eq!(Url::parse("http://h\r\nX: y/"), Err(UrlError::Characters));
    }

    #[test]
    fn colons_and_brackets_belong_to_ipv6_literals_only() {
        // Once read as host `a:b` (port 80), printed as `http://a:b/`, a different URL.
        assert_eq!(Url::parse("http://a:b:80/"), Err(UrlError::Port));
        assert_eq!(Url::parse("http://Z:81]279]/"), Err(UrlError::Port));
        assert_eq!(Url::parse("http://h]/"), Err(UrlError::Host));
        // Once read as `[::1]` on port 80, dropping what followed the bracket.
        assert_eq!(Url::parse("http://[::1]x:81/"), Err(UrlError::Host));
        assert_eq!(Url::parse("http://[::1/"), Err(UrlError::Host));
        assert_eq!(Url::parse("http://[]/"), Err(UrlError::Host));
        assert_eq!(Url::parse("http://[h.example]/"), Err(UrlError::Host));
        let u = Url::parse("http://[fe80::1:2]:81/x").unwrap();
        assert_eq!((u.host, u.port, u.path), ("[fe80::1:2]", 81, "/x"));
        assert_eq!(std::format!("{u}"), "http://[fe80::1:2]:81/x");
        assert_eq!(Url::parse("http://[::ffff:1.2.3.4]/").unwrap().port, 80);
    }

    #[test]
    fn locations_resolve_against_the_current_url() {
        let base = Url::parse("https://a.example:8443/old").unwrap();
        let j = base.join("/new?x").unwrap();
        assert_eq!((j.host, j.port, j.path), ("a.example", 8443, "/new?x"));
        let j = base.join("http://b.example/z").unwrap();
        assert_eq!((j.scheme, j.host), (Scheme::Http, "b.example"));
        assert!(base.join("relative/path").is_err());
    }
}
