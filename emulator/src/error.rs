//! The one error shape every non-2xx answer uses, as the real API does:
//! `{"error": string, "code"?: string, "details"?: object}` (SDK3 `ErrorResponse`)
//! with content-type application/json. `code` and `details` are optional there and
//! so are often left out here too; every 404 carries `code: "not_found"`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: String,
    pub code: Option<&'static str>,
    pub details: Option<Value>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: impl Into<String>) -> Self {
        Self {
            status,
            error: error.into(),
            code: None,
            details: None,
        }
    }

    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn bad_request(error: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error)
    }

    /// Always with `code: "not_found"`; the text names what was not found
    /// (project, app, component, account, route).
    pub fn not_found(error: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, error).with_code("not_found")
    }

    pub fn unauthorized(error: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.error });
        if let Some(code) = self.code {
            body["code"] = json!(code);
        }
        if let Some(details) = self.details {
            body["details"] = details;
        }
        json_response(self.status, &body)
    }
}

/// Every body goes out through here so the content type is always exactly
/// `application/json`, including fault bodies built from arbitrary values.
pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut resp = (status, bytes).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

pub fn ok_json(body: impl Serialize) -> Response {
    json_response(StatusCode::OK, &body)
}

/// `{"data": …}` around a catalog entry's text, written once at start-up: the same bytes as its
/// value, without a copy of the tree per request.
pub fn ok_data(data: &RawValue) -> Response {
    #[derive(Serialize)]
    struct Data<'a> {
        data: &'a RawValue,
    }
    ok_json(Data { data })
}

/// Text used for a status when a fault rule gives no body, mirroring the
/// real API's `{"error":"Throttled"}` for 429.
pub fn reason_for(status: StatusCode) -> String {
    if status == StatusCode::TOO_MANY_REQUESTS {
        return "Throttled".to_string();
    }
    status
        .canonical_reason()
        .map(str::to_string)
        .unwrap_or_else(|| format!("HTTP {}", status.as_u16()))
}

pub type ApiResult<T> = Result<T, ApiError>;
