//! Actions: the run request (`POST …/actions/run`), sent at most once.

use std::sync::atomic::AtomicBool;

use http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::{Connect, lenient};
use crate::engine::config::EndpointClass;
use crate::engine::error::{Error, Result};
use crate::engine::secret::Secret;
use crate::engine::transport::api::{Answer, Bearer, Outcome};
use crate::engine::transport::http::RawResponse;
use crate::engine::transport::retry::Replay;

/// What a run answers: the action's return value, its exports (`$summary` among them) and
/// observations, where an action's own error is reported. Read as `lenient` reads definitions:
/// this answer comes after the action ran, and an odd field must not turn a run that happened
/// into a failure. The return value and exports are kept as written (`null` is none): a node
/// mostly hands them on as they are.
#[derive(Deserialize)]
pub struct RunResponse {
    #[serde(default)]
    pub exports: Option<Box<RawValue>>,
    #[serde(default, deserialize_with = "lenient::observations")]
    pub os: Option<Vec<Value>>,
    #[serde(default)]
    pub ret: Option<Box<RawValue>>,
    /// The File Stash the run synced its files to. The SDK reads `stash_id`; the docs' example
    /// shows `stashId`.
    #[serde(default, alias = "stashId", deserialize_with = "lenient::text")]
    pub stash_id: Option<String>,
}

/// A run's answer as only a finished run gives it. The API documents a 202 ("async operation
/// started") beside the 200: the action was started and its result is not in the answer, so
/// that is no result to hand on (all of `RunResponse` is optional, and it would read as a run
/// that returned nothing). It fails as an answer that says nothing of the outcome, and since
/// the run was sent, as `maybe_executed`.
struct Ran(RunResponse);

impl Answer for Ran {
    fn read(response: RawResponse, secrets: &[&Secret]) -> Result<Self> {
        if response.status == StatusCode::ACCEPTED {
            return Err(Error::BadResponse(
                "the API answered 202: it started the action without waiting for it, so its result is unknown and it may still be running.".into(),
            ));
        }
        response.json(secrets).map(Self)
    }
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
        let ran: Outcome<Ran> = self
            .api
            .post_counted(
                EndpointClass::Execute,
                &path,
                body,
                bearer,
                Replay::RunOnce,
                run_sent,
            )
            .await?;
        Ok(ran.map(|Ran(run)| run))
    }
}
