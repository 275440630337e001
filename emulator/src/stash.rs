//! File Stash: the files a run with a `stash_id` syncs from the action's /tmp,
//! and the two ways back to them — the presigned S3 `get_url` in
//! `exports.$filestash_uploads` (30 minutes) and
//! `GET …/file_stash/download?s3_key=` (while the file lives: 24 hours).
//! Stashes, files and presigned URLs all live here, cleared by reset; times
//! come from `clock`, and `POST /__emulator/file-stash/age` makes them older.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Bytes;
use serde_json::{Value, json};

use crate::clock;
use crate::error::{ApiError, ApiResult};
use crate::ids;
use crate::state::lock;

/// "Files in the File Stash are automatically deleted after 24 hours", and a
/// stash id can be passed again for as long.
pub const TTL_MS: u64 = 24 * 3600 * 1000;
/// "The presigned URLs remain valid for 30 minutes from the time they are generated."
pub const URL_EXPIRES_SECS: u64 = 1800;

/// What the run body's `stash_id` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StashRequest {
    /// Absent, `null` or `false`: /tmp is not synced.
    None,
    /// `""`, `"NEW"` or `true` (the docs' three ways to ask for a new stash).
    New,
    /// Any other string: a stash made earlier, reused.
    Existing(String),
}

impl StashRequest {
    pub fn parse(v: Option<&Value>) -> ApiResult<Self> {
        Ok(match v {
            None | Some(Value::Null) | Some(Value::Bool(false)) => Self::None,
            Some(Value::Bool(true)) => Self::New,
            Some(Value::String(s)) if s.is_empty() || s == "NEW" => Self::New,
            Some(Value::String(s)) => Self::Existing(s.clone()),
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "stash_id must be a string or a boolean, not {other}"
                )));
            }
        })
    }
}

/// A file as the stash holds it.
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub stash_id: String,
    pub local_path: String,
    pub bytes: Bytes,
    pub content_type: String,
    pub created_ms: u64,
}

/// What a download answers.
pub enum Download {
    Bytes(StoredFile),
    Redirect(String),
}

/// A `get_url` handed out: the query it was issued with, for the key it names.
#[derive(Debug, Clone)]
struct Presigned {
    key: String,
    issued_ms: u64,
    params: Vec<(String, String)>,
}

/// Why a presigned GET is refused, as S3 says it (403 with an XML body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No `X-Amz-Signature` at all: an anonymous GET of a private object.
    AccessDenied,
    /// A signature, or a signed parameter, other than one issued for this key.
    SignatureDoesNotMatch,
    /// Issued more than `X-Amz-Expires` seconds ago: when it expired.
    Expired { expired_ms: u64 },
    /// A valid URL whose object is gone (404 on S3).
    NoSuchKey(String),
}

#[derive(Default)]
struct Inner {
    /// Whether `…/file_stash/download` answers 302 to a presigned URL instead of the bytes:
    /// the OpenAPI documents both, and which the real API gives when is UNCONFIRMED.
    redirect_downloads: bool,
    /// stash id -> created ms.
    stashes: HashMap<String, u64>,
    /// s3Key -> file.
    files: HashMap<String, StoredFile>,
    /// X-Amz-Signature -> what it was issued for.
    urls: HashMap<String, Presigned>,
}

impl Inner {
    /// Drops whatever has expired, so a long benchmark does not pile them up.
    fn prune(&mut self, now: u64) {
        self.stashes
            .retain(|_, created| now < created.saturating_add(TTL_MS));
        self.files
            .retain(|_, f| now < f.created_ms.saturating_add(TTL_MS));
        self.urls
            .retain(|_, u| now < u.issued_ms.saturating_add(URL_EXPIRES_SECS * 1000));
    }

    /// A new presigned GET URL for `key`, valid for 30 minutes from `now`.
    fn presign(&mut self, base_url: &str, key: &str, now: u64) -> String {
        let signature = ids::hex(32);
        let params = presign_params(now, &signature);
        let query = serde_urlencoded::to_string(&params).unwrap_or_default();
        self.urls.insert(
            signature,
            Presigned {
                key: key.to_owned(),
                issued_ms: now,
                params,
            },
        );
        format!("{base_url}/__emulator/s3/{key}?{query}")
    }
}

#[derive(Default)]
pub struct StashStore {
    inner: Mutex<Inner>,
}

impl StashStore {
    /// The stash a run uses: a new one (32 lowercase hex), or an existing one made
    /// by this emulator less than 24 h ago, else 404. Whether the real API also
    /// ties a stash to its external user or project is UNCONFIRMED; it is not
    /// checked here.
    pub fn open(&self, req: &StashRequest) -> ApiResult<Option<String>> {
        let now = clock::now_ms();
        let mut inner = lock(&self.inner);
        inner.prune(now);
        match req {
            StashRequest::None => Ok(None),
            StashRequest::New => {
                let id = ids::hex(16);
                inner.stashes.insert(id.clone(), now);
                Ok(Some(id))
            }
            StashRequest::Existing(id) if inner.stashes.contains_key(id) => Ok(Some(id.clone())),
            StashRequest::Existing(id) => Err(ApiError::not_found(format!("stash {id} not found"))),
        }
    }

    /// Stores a file a run wrote and returns its `$filestash_uploads` entry,
    /// in the documented mixed-case shape: `{localPath, s3Key, get_url}`.
    /// `s3Key` is `1day/<project>/<exu_…>/<stash id>/u/<path under /tmp>`.
    pub fn upload(&self, key_prefix: &str, base_url: &str, file: StoredFile) -> Value {
        let now = clock::now_ms();
        let under_tmp = file
            .local_path
            .strip_prefix("/tmp/")
            .unwrap_or(&file.local_path);
        let key = format!("{key_prefix}/{}/u/{under_tmp}", file.stash_id);
        let local_path = file.local_path.clone();
        let mut inner = lock(&self.inner);
        inner.prune(now);
        inner.files.insert(key.clone(), file);
        let get_url = inner.presign(base_url, &key, now);
        json!({
            "localPath": local_path,
            "s3Key": key,
            "get_url": get_url,
        })
    }

    /// A GET of a `get_url`: the file, or why S3 refuses it.
    pub fn presigned_get(
        &self,
        key: &str,
        query: &[(String, String)],
    ) -> Result<StoredFile, Refusal> {
        let now = clock::now_ms();
        let inner = lock(&self.inner);
        let param = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        let signature = param("X-Amz-Signature").ok_or(Refusal::AccessDenied)?;
        let url = inner
            .urls
            .get(signature.as_str())
            .filter(|u| u.key == key)
            .filter(|u| u.params.iter().all(|(k, v)| param(k) == Some(v)))
            .ok_or(Refusal::SignatureDoesNotMatch)?;
        let expired_ms = url.issued_ms + URL_EXPIRES_SECS * 1000;
        if now >= expired_ms {
            return Err(Refusal::Expired { expired_ms });
        }
        inner
            .files
            .get(key)
            .filter(|f| now < f.created_ms.saturating_add(TTL_MS))
            .cloned()
            .ok_or_else(|| Refusal::NoSuchKey(key.to_string()))
    }

    /// `GET …/file_stash/download?s3_key=`: the file while it lives, as its bytes or, when
    /// downloads redirect, as a new presigned URL for it.
    pub fn download(&self, base_url: &str, key: &str) -> Option<Download> {
        let now = clock::now_ms();
        let mut inner = lock(&self.inner);
        let file = inner
            .files
            .get(key)
            .filter(|f| now < f.created_ms.saturating_add(TTL_MS))
            .cloned()?;
        Some(match inner.redirect_downloads {
            true => Download::Redirect(inner.presign(base_url, key, now)),
            false => Download::Bytes(file),
        })
    }

    /// Makes downloads answer 302 to a presigned URL (`true`) or the bytes; reset: the bytes.
    pub fn redirect_downloads(&self, redirect: bool) {
        lock(&self.inner).redirect_downloads = redirect;
    }

    /// Every stash, file and presigned URL becomes `ms` older (tests of the
    /// 30-minute and 24-hour limits).
    pub fn age(&self, ms: u64) {
        let mut inner = lock(&self.inner);
        for created in inner.stashes.values_mut() {
            *created = created.saturating_sub(ms);
        }
        for f in inner.files.values_mut() {
            f.created_ms = f.created_ms.saturating_sub(ms);
        }
        for u in inner.urls.values_mut() {
            u.issued_ms = u.issued_ms.saturating_sub(ms);
        }
    }

    /// `{id, created_ms, files: [{s3_key, local_path, content_type, bytes, created_ms}]}`
    /// per live stash, oldest first.
    pub fn list(&self) -> Vec<Value> {
        let now = clock::now_ms();
        let mut inner = lock(&self.inner);
        inner.prune(now);
        let mut stashes: Vec<(&String, &u64)> = inner.stashes.iter().collect();
        stashes.sort_by_key(|(id, created)| (**created, (*id).clone()));
        stashes
            .into_iter()
            .map(|(id, created)| {
                let mut files: Vec<(&String, &StoredFile)> = inner
                    .files
                    .iter()
                    .filter(|(_, f)| &f.stash_id == id)
                    .collect();
                files.sort_by(|a, b| a.0.cmp(b.0));
                let files: Vec<Value> = files
                    .into_iter()
                    .map(|(key, f)| {
                        json!({
                            "s3_key": key,
                            "local_path": f.local_path,
                            "content_type": f.content_type,
                            "bytes": f.bytes.len(),
                            "created_ms": f.created_ms,
                        })
                    })
                    .collect();
                json!({ "id": id, "created_ms": created, "files": files })
            })
            .collect()
    }

    pub fn clear(&self) {
        *lock(&self.inner) = Inner::default();
    }
}

/// The query of a SigV4 presigned GET, in the order S3's presigner writes it
/// (the signature last). Only the signature is random; every parameter must
/// come back unchanged, as a real signature covers them all.
fn presign_params(now_ms: u64, signature: &str) -> Vec<(String, String)> {
    let stamp = amz_date(now_ms);
    let day = &stamp[..8];
    [
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256".to_string()),
        (
            "X-Amz-Credential",
            format!("ASIAPDEMULATOR000000/{day}/us-east-1/s3/aws4_request"),
        ),
        ("X-Amz-Date", stamp.clone()),
        ("X-Amz-Expires", URL_EXPIRES_SECS.to_string()),
        ("X-Amz-SignedHeaders", "host".to_string()),
        ("X-Amz-Signature", signature.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// `20261101T120000Z` (SigV4's basic ISO 8601).
fn amz_date(ms: u64) -> String {
    let iso = clock::iso8601_ms(ms);
    let mut out: String = iso[..19]
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect();
    out.push('Z');
    out
}

/// S3's status and error document for a refused presigned GET.
pub fn refusal_xml(refusal: &Refusal) -> (u16, String) {
    let status = match refusal {
        Refusal::NoSuchKey(_) => 404,
        _ => 403,
    };
    let (code, message, extra) = match refusal {
        Refusal::AccessDenied => ("AccessDenied", "Access Denied", String::new()),
        Refusal::SignatureDoesNotMatch => (
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. \
             Check your key and signing method.",
            String::new(),
        ),
        Refusal::Expired { expired_ms } => (
            "AccessDenied",
            "Request has expired",
            format!(
                "<X-Amz-Expires>{URL_EXPIRES_SECS}</X-Amz-Expires><Expires>{}</Expires><ServerTime>{}</ServerTime>",
                s3_time(*expired_ms),
                s3_time(clock::now_ms())
            ),
        ),
        Refusal::NoSuchKey(key) => (
            "NoSuchKey",
            "The specified key does not exist.",
            format!("<Key>{key}</Key>"),
        ),
    };
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message>{extra}<RequestId>{}</RequestId><HostId>{}</HostId></Error>",
        ids::hex(8).to_uppercase(),
        ids::alnum(56)
    );
    (status, xml)
}

/// `2026-11-01T12:30:00Z`, S3's timestamps in error documents.
fn s3_time(ms: u64) -> String {
    format!("{}Z", &clock::iso8601_ms(ms)[..19])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stash_id_values() {
        let p = |v: Value| StashRequest::parse(Some(&v));
        assert_eq!(StashRequest::parse(None).unwrap(), StashRequest::None);
        assert_eq!(p(Value::Null).unwrap(), StashRequest::None);
        assert_eq!(p(json!(false)).unwrap(), StashRequest::None);
        for new in [json!(true), json!(""), json!("NEW")] {
            assert_eq!(p(new).unwrap(), StashRequest::New);
        }
        assert_eq!(
            p(json!("new")).unwrap(),
            StashRequest::Existing("new".into())
        );
        for bad in [json!(1), json!([]), json!({})] {
            assert_eq!(p(bad).unwrap_err().status.as_u16(), 400);
        }
    }

    #[test]
    fn amz_dates() {
        assert_eq!(amz_date(951_782_400_123), "20000229T000000Z");
        assert_eq!(s3_time(1_735_689_599_000), "2024-12-31T23:59:59Z");
    }
}
