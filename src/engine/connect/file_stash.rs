//! File Stash: where an action run with `stash_id` leaves the files it wrote to `/tmp`. A run
//! answers presigned URLs valid for 30 minutes; after that, a file is fetched again by its S3
//! key (`GET /v1/connect/{project}/file_stash/download?s3_key=…`), for the 24 hours the stash
//! keeps it.

use std::sync::atomic::AtomicBool;

use base64::Engine as _;
use http::Method;
use serde::Serialize;
use serde_json::Value;

use super::Connect;
use crate::engine::args::Args;
use crate::engine::config::EndpointClass;
use crate::engine::error::{Error, ErrorReport, Result};
use crate::engine::json::to_json;
use crate::engine::transport::api::Bearer;
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

/// A downloaded file; `data` is base64 here and a `Buffer` in JS.
#[derive(Serialize)]
struct Downloaded<'a> {
    s3_key: &'a str,
    content_type: Option<&'a str>,
    size: usize,
    data: String,
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
            let raw =
                self.api
                    .send_raw(
                        EndpointClass::Read,
                        &Bearer::Client,
                        Replay::Safe,
                        &sent,
                        limit,
                        build,
                    )
                    .await
                    .map_err(|e| {
                        self.explain_not_found(e, || format!(
                        "there is no stashed file {key:?}; stashed files are kept for 24 hours"
                    ))
                    })?
                    .value;
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
                size: raw.body.len(),
                data: base64::engine::general_purpose::STANDARD.encode(&raw.body),
            }))
        };
        fetched.await.map_err(|e| ErrorReport::plain(&e))
    }
}
