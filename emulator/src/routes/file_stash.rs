//! Getting File Stash files back: `GET /v1/connect/{project}/file_stash/download`
//! (bearer and environment, as every API route) and the presigned `get_url`s,
//! served at `GET /__emulator/s3/{s3Key}`: those stand in for S3, so they take
//! no bearer (the signature in the query is the credential) and answer S3's
//! XML errors, not the API's JSON.

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;

use super::{Verbatim, check_project};
use crate::error::{ApiError, ApiResult};
use crate::query::Query;
use crate::stash::{Download, refusal_xml};
use crate::state::SharedState;

/// 200 `application/octet-stream` with the file's bytes (the SDK reads the body
/// as binary; the real content type is UNCONFIRMED), or, after
/// `POST /__emulator/file-stash/downloads {"redirect": true}`, 302 to a new
/// presigned URL (the OpenAPI's "redirected to presigned URL"; which of the two
/// the real API gives when is UNCONFIRMED). 400 without `s3_key`, 404 `file not
/// found` for a key no run produced or a file older than 24 h.
pub async fn download(
    State(st): State<SharedState>,
    Path(project): Path<String>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    check_project(&st, &project)?;
    let q = Query::parse(raw.as_deref())?;
    let key = q
        .non_empty("s3_key")
        .ok_or_else(|| ApiError::bad_request("s3_key is required"))?;
    let download = st
        .stash
        .download(&st.base_url, key)
        .ok_or_else(|| ApiError::not_found("file not found"))?;
    Ok(match download {
        Download::Bytes(file) => bytes_response(
            StatusCode::OK,
            file.bytes,
            HeaderValue::from_static("application/octet-stream"),
        ),
        Download::Redirect(url) => {
            let mut resp = bytes_response(
                StatusCode::FOUND,
                Bytes::new(),
                HeaderValue::from_static("text/plain"),
            );
            if let Ok(location) = HeaderValue::from_str(&url) {
                resp.headers_mut().insert(header::LOCATION, location);
            }
            resp
        }
    })
}

/// A `get_url`: the bytes with their content type, or S3's refusal.
pub async fn presigned_get(
    State(st): State<SharedState>,
    Path(key): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let query: Vec<(String, String)> = raw
        .as_deref()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let mut resp = match st.stash.presigned_get(&key, &query) {
        Ok(file) => bytes_response(
            StatusCode::OK,
            file.bytes,
            HeaderValue::from_str(&file.content_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream")),
        ),
        Err(refusal) => {
            let (status, xml) = refusal_xml(&refusal);
            bytes_response(
                StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN),
                Bytes::from(xml),
                HeaderValue::from_static("application/xml"),
            )
        }
    };
    resp.extensions_mut().insert(Verbatim);
    resp
}

fn bytes_response(status: StatusCode, bytes: Bytes, content_type: HeaderValue) -> Response {
    let mut resp = Response::new(Body::from(bytes));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    resp
}
