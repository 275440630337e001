//! One request to the API as it is built: method, URL, headers and body. A part that cannot
//! be encoded (a header value with a line break, a query that is not a flat map) is kept as
//! the request's error and refused when it is sent, before anything is written.

use bytes::Bytes;
use http::header::{AUTHORIZATION, HeaderName, HeaderValue};
use http::{HeaderMap, Method};
use serde::Serialize;

pub struct Request {
    pub(super) method: Method,
    /// The absolute URL, path already encoded.
    pub(super) uri: String,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
    /// Why the request cannot be sent. Never holds a header's value.
    pub(super) error: Option<String>,
}

impl Request {
    pub(super) fn new(method: Method, uri: String, headers: HeaderMap) -> Self {
        Self {
            method,
            uri,
            headers,
            body: Bytes::new(),
            error: None,
        }
    }

    /// Adds `query`'s pairs to the URL, form-encoded (a space is `+`).
    pub fn query<T: Serialize + ?Sized>(mut self, query: &T) -> Self {
        match serde_urlencoded::to_string(query) {
            Ok(pairs) if pairs.is_empty() => {}
            Ok(pairs) => {
                self.uri
                    .push(if self.uri.contains('?') { '&' } else { '?' });
                self.uri.push_str(&pairs);
            }
            Err(e) => self.fail(format!("the query could not be encoded: {e}")),
        }
        self
    }

    /// Sets `name` to `value`, replacing any value it had.
    pub fn header<K, V>(mut self, name: K, value: V) -> Self
    where
        HeaderName: TryFrom<K>,
        HeaderValue: TryFrom<V>,
    {
        let Ok(name) = HeaderName::try_from(name) else {
            self.fail("a header name is not a valid HTTP header name".to_owned());
            return self;
        };
        match HeaderValue::try_from(value) {
            Ok(value) => {
                self.headers.insert(name, value);
            }
            Err(_) => self.fail(format!(
                "the value of header {name} is not a valid HTTP header value"
            )),
        }
        self
    }

    /// `Authorization: Bearer <token>`, marked sensitive so that hyper's HTTP/2 encoder never
    /// indexes it.
    pub fn bearer_auth(mut self, token: &str) -> Self {
        match HeaderValue::try_from(format!("Bearer {token}")) {
            Ok(mut value) => {
                value.set_sensitive(true);
                self.headers.insert(AUTHORIZATION, value);
            }
            Err(_) => self.fail("the access token is not a valid HTTP header value".to_owned()),
        }
        self
    }

    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    fn fail(&mut self, why: String) {
        self.error.get_or_insert(why);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Request {
        Request::new(Method::GET, "http://h/v1/x".into(), HeaderMap::new())
    }

    #[test]
    fn query_pairs_are_form_encoded_and_appended() {
        let r = request().query(&[("q", "a b&c=d/é")]).query(&[("n", "1")]);
        assert_eq!(r.uri, "http://h/v1/x?q=a+b%26c%3Dd%2F%C3%A9&n=1");
        assert_eq!(request().query(&[] as &[(&str, &str)]).uri, "http://h/v1/x");
        let nested = serde_json::json!({ "a": { "b": 1 } });
        assert!(request().query(&nested).error.is_some());
    }

    #[test]
    fn a_bad_header_or_token_is_an_error_that_quotes_no_value() {
        let r = request().header("x-a", "one\r\ntwo");
        let why = r.error.unwrap();
        assert!(why.contains("x-a") && !why.contains("one"), "{why}");
        assert!(request().header("bad name", "v").error.is_some());
        let why = request().bearer_auth("tok\nsecret").error.unwrap();
        assert!(!why.contains("secret"), "{why}");
        let r = request().bearer_auth("t0k");
        let value = &r.headers[AUTHORIZATION];
        assert_eq!(value, "Bearer t0k");
        assert!(value.is_sensitive());
        // The first failure is the one reported.
        let r = request().header("x-a", "\n").header("bad name", "v");
        assert!(r.error.unwrap().contains("x-a"));
    }

    #[test]
    fn header_replaces() {
        let r = request().header("accept", "a").header("accept", "*/*");
        assert_eq!(r.headers.get_all("accept").iter().count(), 1);
        assert_eq!(r.headers["accept"], "*/*");
    }
}
