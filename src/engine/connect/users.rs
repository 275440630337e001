//! External users: the Director users who have connected accounts. Listing them, and removing
//! one (with all their accounts) when they leave.

use serde_json::Value;

use super::{Connect, segment};
use crate::engine::args::Args;
use crate::engine::config::EndpointClass;
use crate::engine::error::{ErrorReport, Result};
use crate::engine::json::to_json;
use crate::engine::transport::api::Bearer;
use crate::engine::transport::pagination::{Page, collect_whole};

/// Most users `listUsers` gathers; more is an error, not a cut list.
const MAX_LISTED: usize = 100_000;

/// A user as the SDK reads it (`ExternalUser`): its id and external id are required text; the
/// rest (`created_at`, `updated_at`) as sent.
#[derive(serde::Deserialize, serde::Serialize)]
struct ExternalUser {
    id: String,
    external_id: String,
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

/// `listUsers` arguments.
#[derive(Debug, Clone, Default)]
pub struct ListUsersArgs {
    /// Only users whose external id holds this text.
    pub q: Option<String>,
}

impl ListUsersArgs {
    pub fn parse(v: &Value) -> Result<Self> {
        if v.is_null() {
            return Ok(Self::default());
        }
        let a = Args::new(v, "listUsers expects { q?: string }")?;
        Ok(Self {
            q: a.string("q", 250)?,
        })
    }
}

impl Connect {
    /// The project's external users, all pages, as the API describes them.
    pub async fn list_users(&self, args: &ListUsersArgs) -> Result<String, ErrorReport> {
        let listed = async {
            self.enabled()?;
            let path = self.project_path("users")?;
            let mut query = vec![("limit", "100".to_owned())];
            if let Some(q) = &args.q {
                query.push(("q", q.clone()));
            }
            let narrow = || {
                format!(
                    "more than {MAX_LISTED} external users match, and listUsers lists them all or none: pass q (part of their external ids) to list fewer"
                )
            };
            let users = collect_whole(MAX_LISTED, narrow, |after, _| {
                let mut query = query.clone();
                query.extend(after.map(|a| ("after", a)));
                let path = path.clone();
                async move {
                    self.api
                        .get::<Page<ExternalUser>>(
                            EndpointClass::Accounts,
                            &path,
                            &query,
                            &Bearer::Client,
                        )
                        .await
                }
            })
            .await?;
            Ok(to_json(&users))
        };
        listed.await.map_err(|e| ErrorReport::plain(&e))
    }

    /// Removes an external user and every account they connected (offboarding). Removing one
    /// already gone is not an error.
    pub async fn delete_user(&self, external_user_id: &str) -> Result<String, ErrorReport> {
        let deleted = async {
            self.enabled()?;
            let path = self.project_path(&format!("users/{}", segment(external_user_id)))?;
            self.gone_is_fine(
                self.api
                    .delete(EndpointClass::Accounts, &path, &[], &Bearer::Client)
                    .await,
            )?;
            self.forget_account_choices(external_user_id);
            Ok("null".to_owned())
        };
        deleted.await.map_err(|e| ErrorReport::plain(&e))
    }
}
