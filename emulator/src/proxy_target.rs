//! Where a Connect proxy request goes: `url_64` decoded, a relative path joined
//! to the app's `base_proxy_target_url` (its `{{custom_fields.NAME}}` filled
//! from the account's credentials), and the result held to https and to the
//! app's `allowed_domains`. `routes/proxy.rs` checks the rest and forwards.

use std::sync::OnceLock;

use axum::http::{StatusCode, Uri};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use regex::{Captures, Regex};
use serde_json::Value;

use crate::catalog::AppConnect;
use crate::error::{ApiError, ApiResult};

/// The resolved upstream URL and the parts the forwarder needs.
#[derive(Debug, Clone)]
pub struct Target {
    /// The full URL, as joined (not normalised).
    pub url: String,
    /// `host[:port]`, as the upstream's Host header.
    pub authority: String,
    pub path_and_query: String,
}

/// The three encodings clients send: base64url without padding (the
/// documented form, SDK 1 and Go clients), base64url with padding (the Python
/// SDK's `urlsafe_b64encode`) and standard base64 (the TS SDK's
/// `Buffer.toString("base64")`, percent-encoded, which the path extractor has
/// already decoded). Each must be well-formed in its own right: no mixed
/// alphabets, padding either absent or canonical.
pub fn decode_url64(encoded: &str) -> ApiResult<String> {
    let bytes = [&URL_SAFE_NO_PAD, &URL_SAFE, &STANDARD]
        .into_iter()
        .find_map(|engine| engine.decode(encoded).ok())
        .ok_or_else(|| {
            ApiError::bad_request(
                "url_64 is not base64: send the URL base64url-encoded (RFC 4648 §5, padding optional)",
            )
        })?;
    String::from_utf8(bytes)
        .map_err(|_| ApiError::bad_request("url_64 does not decode to UTF-8 text"))
}

fn placeholder() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\{\{\s*custom_fields\.([A-Za-z0-9_]+)\s*\}\}").ok())
        .as_ref()
}

/// The custom fields a base URL's placeholders name, in order (accounts of
/// such an app are given a value for each).
pub fn custom_fields_in(base: &str) -> Vec<String> {
    placeholder()
        .map(|re| re.captures_iter(base).map(|c| c[1].to_string()).collect())
        .unwrap_or_default()
}

/// `host` is `domain` or a subdomain of it: `x.zendesk.com` is in `zendesk.com`,
/// `evilzendesk.com` is not. Host names compare case-insensitively.
pub fn host_allowed(host: &str, domains: &[String]) -> bool {
    let host = host.to_ascii_lowercase();
    domains.iter().any(|d| {
        let d = d.to_ascii_lowercase();
        host == d
            || host
                .strip_suffix(d.as_str())
                .is_some_and(|rest| rest.ends_with('.'))
    })
}

/// Checks in the documented order: join a relative path to the base (400 when
/// there is none, or a placeholder cannot be filled), then https only (400),
/// then the allowed domains (403; the status is UNCONFIRMED — the docs only say
/// the proxy reaches the app's allowed domains, not how it refuses others).
pub fn resolve(
    slug: &str,
    connect: &AppConnect,
    account_id: &str,
    credentials: &Value,
    url: &str,
) -> ApiResult<Target> {
    let full = if url.starts_with('/') {
        let base = connect.base_proxy_target_url.as_deref().ok_or_else(|| {
            ApiError::bad_request(format!(
                "app {slug} has no base_proxy_target_url: send an absolute https URL"
            ))
        })?;
        let base = fill_base(slug, base, account_id, credentials)?;
        format!("{}{url}", base.trim_end_matches('/'))
    } else {
        url.to_string()
    };
    let Some((scheme, _)) = full.split_once("://") else {
        return Err(ApiError::bad_request(format!(
            "invalid URL {full:?}: send an absolute https URL or a path starting with /"
        )));
    };
    if !scheme.eq_ignore_ascii_case("https") {
        return Err(ApiError::bad_request("only https URLs can be proxied"));
    }
    let uri: Uri = full
        .parse()
        .map_err(|e| ApiError::bad_request(format!("invalid URL {full:?}: {e}")))?;
    let (Some(host), Some(authority)) = (uri.host().filter(|h| !h.is_empty()), uri.authority())
    else {
        return Err(ApiError::bad_request(format!(
            "invalid URL {full:?}: no host"
        )));
    };
    let domains = connect.allowed_domains.as_deref().unwrap_or_default();
    if !host_allowed(host, domains) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "{} is not an allowed domain for app {slug}",
                host.to_ascii_lowercase()
            ),
        ));
    }
    Ok(Target {
        authority: authority.as_str().to_string(),
        path_and_query: uri
            .path_and_query()
            .map_or_else(|| "/".to_string(), |p| p.as_str().to_string()),
        url: full,
    })
}

/// The base with every `{{custom_fields.NAME}}` replaced by the account's
/// credential NAME. How Pipedream fills these is UNCONFIRMED (a third-party
/// observation only); an empty or missing value, or any other `{{…}}`, is a 400.
fn fill_base(slug: &str, base: &str, account_id: &str, credentials: &Value) -> ApiResult<String> {
    let Some(re) = placeholder() else {
        return Ok(base.to_string());
    };
    let mut missing = None;
    let filled = re.replace_all(base, |c: &Captures| {
        match credentials.get(&c[1]).and_then(Value::as_str) {
            Some(v) if !v.is_empty() => v.to_string(),
            _ => {
                missing.get_or_insert_with(|| c[1].to_string());
                String::new()
            }
        }
    });
    if let Some(name) = missing {
        return Err(ApiError::bad_request(format!(
            "account {account_id} has no custom field {name}, which app {slug}'s base_proxy_target_url needs"
        )));
    }
    if filled.contains("{{") {
        return Err(ApiError::bad_request(format!(
            "app {slug}'s base_proxy_target_url has a placeholder that cannot be filled: {base}"
        )));
    }
    Ok(filled.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn zendesk() -> AppConnect {
        AppConnect {
            proxy_enabled: true,
            allowed_domains: Some(vec!["zendesk.com".into()]),
            base_proxy_target_url: Some("https://{{custom_fields.subdomain}}.zendesk.com".into()),
        }
    }

    #[test]
    fn decodes_the_three_encodings_and_nothing_else() {
        // Standard base64 of this has both `/` and `+`, and padding.
        let url = "https://slack.com/api/chat.postMessage?x=~~~";
        assert!(STANDARD.encode(url).contains(['+', '/']));
        for encoded in [
            URL_SAFE_NO_PAD.encode(url),
            URL_SAFE.encode(url),
            STANDARD.encode(url),
        ] {
            assert_eq!(decode_url64(&encoded).unwrap(), url, "{encoded}");
        }
        // Mixed alphabets, broken padding, non-UTF-8.
        assert!(decode_url64("ab-+").is_err());
        assert!(decode_url64("aGk=x").is_err());
        assert!(decode_url64(&URL_SAFE_NO_PAD.encode([0xff, 0xfe])).is_err());
    }

    #[test]
    fn domains_match_exactly_or_as_a_parent() {
        let d = vec!["zendesk.com".to_string()];
        assert!(host_allowed("zendesk.com", &d));
        assert!(host_allowed("Acme.Zendesk.com", &d));
        assert!(!host_allowed("evilzendesk.com", &d));
        assert!(!host_allowed("zendesk.com.evil.io", &d));
        assert!(!host_allowed("anything", &[]));
    }

    #[test]
    fn relative_paths_fill_the_base_from_the_account() {
        let creds = json!({"subdomain": "d3v-acme"});
        let t = resolve(
            "zendesk",
            &zendesk(),
            "apn_1",
            &creds,
            "/api/v2/tickets.json?page=2",
        )
        .unwrap();
        assert_eq!(
            t.url,
            "https://d3v-acme.zendesk.com/api/v2/tickets.json?page=2"
        );
        assert_eq!(t.authority, "d3v-acme.zendesk.com");
        assert_eq!(t.path_and_query, "/api/v2/tickets.json?page=2");
        let e = resolve("zendesk", &zendesk(), "apn_1", &json!({}), "/x").unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert!(e.error.contains("subdomain"), "{}", e.error);
        let e = resolve(
            "zendesk",
            &zendesk(),
            "apn_1",
            &creds,
            "http://a.zendesk.com/",
        )
        .unwrap_err();
        assert_eq!(e.error, "only https URLs can be proxied");
        let e = resolve(
            "zendesk",
            &zendesk(),
            "apn_1",
            &creds,
            "https://evilzendesk.com/",
        )
        .unwrap_err();
        assert_eq!(e.status, StatusCode::FORBIDDEN);
    }
}
