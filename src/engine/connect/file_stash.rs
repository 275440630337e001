//! File Stash: where an action run with `stash_id` leaves the files it wrote to `/tmp`. A run
//! answers presigned URLs valid for 30 minutes; after that, a file is fetched again by its S3
//! key (`GET /v1/connect/{project}/file_stash/download?s3_key=…`), for the 24 hours the stash
//! keeps it. The API's OpenAPI gives that download two answers: 200 with the bytes, or 302 to
//! a presigned URL. Nothing is sent past the base URL, so the second is answered as the link.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use http::Method;
use serde::Serialize;
use serde_json::Value;
use url::Url;

use super::Connect;
use crate::engine::args::Args;
use crate::engine::config::EndpointClass;
use crate::engine::error::{Error, ErrorReport, Result};
use crate::engine::json::to_json;
use crate::engine::secret::Secret;
use crate::engine::transport::api::{Answer, Bearer, Read};
use crate::engine::transport::http::RawResponse;
use crate::engine::transport::retry::Replay;

/// An S3 key as a run gave it (`s3_key` in a node's `files`).
#[derive(Debug, Clone)]
pub struct StashKeyArg(pub String);

impl StashKeyArg {
    pub fn parse(key: &Value) -> Result<Self> {
        let v = serde_json::json!({ "s3_key": key });
        let key = Args::new(
            &v,
            "downloadStashedFile expects the s3_key string of a stashed file",
        )?
        .required_string(
            "s3_key",
            1_024,
            "\"1day/proj_x/exu_x/<stash>/u/report.pdf\"",
        )?;
        if key.chars().any(char::is_control) {
            return Err(Error::InvalidArgs(
                "downloadStashedFile: `s3_key` holds control characters; pass the s3_key of a file from a run's files".into(),
            ));
        }
        Ok(Self(key))
    }
}

/// A downloaded file; `data` is base64 here and a `Buffer` in JS. When the API answered with
/// a presigned URL instead of the bytes, `url` holds it and the bytes are null.
#[derive(Serialize)]
struct Downloaded<'a> {
    s3_key: &'a str,
    content_type: Option<&'a str>,
    size: Option<usize>,
    data: Option<String>,
    url: Option<&'a str>,
    url_expires_at_ms: Option<u64>,
}

/// When a presigned File Stash URL handed out now stops working, in ms since the epoch: they
/// are "valid for 30 minutes from the time they are generated" (the File Stash docs).
pub fn presigned_expiry_ms() -> u64 {
    (SystemTime::now() + Duration::from_secs(30 * 60))
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// What the download answered: the bytes, or a redirect (to S3, as the OpenAPI documents).
enum Fetched {
    Bytes(RawResponse),
    Redirected(RawResponse),
}

impl Answer for Fetched {
    fn read(response: RawResponse, secrets: &[&Secret]) -> Result<Self> {
        match response.status {
            s if s.is_redirection() => Ok(Self::Redirected(response)),
            _ => RawResponse::read(response, secrets).map(Self::Bytes),
        }
    }
}

/// The presigned URL a download redirected to: an https one, or one at the base URL's own
/// origin (an emulator's). Anything else is no File Stash link, and is not handed on.
fn presigned_link(response: &RawResponse, base: &Url) -> Option<Url> {
    let location = response
        .headers
        .get(http::header::LOCATION)?
        .to_str()
        .ok()?;
    let url = base.join(location).ok()?;
    (url.scheme() == "https" || url.origin() == base.origin()).then_some(url)
}

impl Connect {
    /// `downloadStashedFile`: the file's bytes, whole (up to `maxResponseBytes`).
    pub async fn download_stashed_file(
        &self,
        key: &str,
    ) -> std::result::Result<String, ErrorReport> {
        let fetched = async {
            let path = self.project_path("file_stash/download")?;
            let limit = self.config.max_response_bytes;
            let build = || {
                self.api
                    .request(Method::GET, &path)
                    .query(&[("s3_key", key)])
                    .header(http::header::ACCEPT, "*/*")
            };
            let sent = AtomicBool::new(false);
            let fetched = self
                .api
                .send_raw(
                    EndpointClass::Read,
                    &Bearer::Client,
                    Replay::Safe,
                    &sent,
                    Read::Raw { keep: limit },
                    build,
                )
                .await
                .map_err(|e| {
                    self.explain_not_found(e, || {
                        format!(
                            "there is no stashed file {key:?}; stashed files are kept for 24 hours"
                        )
                    })
                })?
                .value;
            let raw = match fetched {
                Fetched::Bytes(raw) => raw,
                Fetched::Redirected(raw) => {
                    let url = presigned_link(&raw, &self.config.base_url)
                        .ok_or_else(|| raw.api_error(&[]))?;
                    // Handed on for the caller to fetch, so it must not carry this client's
                    // credentials to wherever it points.
                    let decoded = percent_encoding::percent_decode_str(url.as_str())
                        .decode_utf8_lossy()
                        .into_owned();
                    if self.api.holds_credentials(&decoded).await {
                        return Err(Error::BadResponse(
                            "the download redirected to a URL that carries this client's credentials; it is not handed on".into(),
                        ));
                    }
                    return Ok(to_json(&Downloaded {
                        s3_key: key,
                        content_type: None,
                        size: None,
                        data: None,
                        url: Some(url.as_str()),
                        url_expires_at_ms: Some(presigned_expiry_ms()),
                    }));
                }
            };
            if raw.truncated {
                return Err(Error::BadResponse(format!(
                    "the file is larger than maxResponseBytes ({limit} bytes); raise maxResponseBytes to download it"
                )));
            }
            let content_type = raw
                .headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok());
            Ok(to_json(&Downloaded {
                s3_key: key,
                content_type,
                size: Some(raw.body.len()),
                data: Some(base64::engine::general_purpose::STANDARD.encode(&raw.body)),
                url: None,
                url_expires_at_ms: None,
            }))
        };
        fetched.await.map_err(|e| ErrorReport::plain(&e))
    }
}
