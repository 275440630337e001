//! Actions: the run request (`POST …/actions/run`), sent at most once.

use std::sync::atomic::AtomicBool;

use serde::Deserialize;
use serde_json::Value;

use super::{Connect, lenient};
use crate::engine::config::EndpointClass;
use crate::engine::error::Result;
use crate::engine::transport::api::{Bearer, Outcome};
use crate::engine::transport::retry::Replay;

/// What a run answers: the action's return value, its exports (`$summary` among them) and
/// observations, where an action's own error is reported. Read as `lenient` reads definitions:
/// this answer comes after the action ran, and an odd field must not turn a run that happened
/// into a failure.
#[derive(Deserialize)]
pub struct RunResponse {
    #[serde(default)]
    pub exports: Option<Value>,
    #[serde(default, deserialize_with = "lenient::list")]
    pub os: Option<Vec<Value>>,
    #[serde(default)]
    pub ret: Option<Value>,
    /// The File Stash the run synced its files to. The SDK reads `stash_id`; the docs' example
    /// shows `stashId`.
    #[serde(default, alias = "stashId", deserialize_with = "lenient::text")]
    pub stash_id: Option<String>,
}

impl Connect {
    /// Sends a run (`body` as the API documents it). It is re-sent only when it certainly did
    /// not run; `run_sent` says, while it is under way and after, whether it may have.
    pub async fn run(
        &self,
        body: &(impl serde::Serialize + ?Sized),
        bearer: &Bearer,
        run_sent: &AtomicBool,
    ) -> Result<Outcome<RunResponse>> {
        let path = self.project_path("actions/run")?;
        self.api
            .post_counted(
                EndpointClass::Execute,
                &path,
                body,
                bearer,
                Replay::RunOnce,
                run_sent,
            )
            .await
    }
}
