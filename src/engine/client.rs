//! The facade the binding calls: one `Client` per `PipedreamClient`, and nothing else of the
//! engine is called from JS. Each method hands the call to `director` (tool answers and the
//! node) or `connect` (plain API calls).

use std::future::Future;
use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::config::Config;
use super::connect::Connect;
use super::connect::accounts::{AccountArgs, AppArg, ListAccountsArgs, UserArg};
use super::connect::file_stash::StashKeyArg;
use super::connect::tokens::{CreateTokenArgs, ValidateTokenArgs};
use super::connect::triggers::{ListTriggersArgs, TriggerArgs};
use super::connect::users::ListUsersArgs;
use super::director::Director;
use super::director::node::execute::{BatchItem, ExecuteArgs};
use super::director::tools::{Op, Prepared, Request};
use super::error::{Error, ErrorReport, Result};
use super::events::Sink;
use super::json::to_json;
use super::stats::Stats;
use super::transport::deadline;

pub struct Client {
    director: Arc<Director>,
    stats: Arc<Stats>,
}

impl Client {
    pub fn new(config: Config, events: Sink) -> Result<Self> {
        let stats = Arc::new(Stats::default());
        let connect = Connect::new(config, events.clone(), stats.clone())?;
        Ok(Self {
            director: Arc::new(Director::new(connect, events, stats.clone())),
            stats,
        })
    }

    /// A discovery call's arguments checked, and its answer when it needs no I/O.
    pub fn prepare(&self, op: Op, args: &Value) -> Prepared {
        self.director.prepare(op, args)
    }

    /// A fresh cache hit for arguments given as JSON text, or `None`.
    pub fn cached_answer(&self, op: Op, args_json: &str) -> Option<Arc<str>> {
        self.director.cached_answer(op, args_json)
    }

    /// A prepared discovery call's answer (see `Director::run`).
    pub async fn run(
        &self,
        request: Request,
        cancel: Option<&CancellationToken>,
    ) -> std::result::Result<String, Error> {
        self.director.run(request, cancel).await
    }

    /// A `pipedream_connect` node. Boxed and owning: see `Director::execute`.
    pub fn execute(
        &self,
        args: ExecuteArgs,
        cancel: CancellationToken,
    ) -> BoxFuture<'static, std::result::Result<String, ErrorReport>> {
        self.director.execute(args, cancel)
    }

    /// Many nodes, at most `concurrency` at once; each outcome to `settled` with its index.
    pub async fn execute_batch(
        &self,
        items: Vec<BatchItem>,
        concurrency: usize,
        cancel: CancellationToken,
        settled: impl FnMut(usize, std::result::Result<String, ErrorReport>),
    ) {
        self.director
            .execute_batch(items, concurrency, cancel, settled)
            .await
    }

    /// A management call under `deadlineMs`, its retries included, as discovery calls and
    /// executions are: no retry whose wait would end past it is taken, and a call still going
    /// then is `PIPEDREAM_TIMEOUT`.
    /// Not an `async fn`, for the reason `deadline::within` gives.
    fn bounded(
        &self,
        call: impl Future<Output = std::result::Result<String, ErrorReport>>,
    ) -> impl Future<Output = std::result::Result<String, ErrorReport>> {
        let limit = self.director.connect.config.deadline;
        let ends = tokio::time::Instant::now() + limit;
        tokio::time::timeout_at(ends, deadline::within(ends, call))
            .map(move |r| r.unwrap_or_else(|_| Err(ErrorReport::plain(&Error::Deadline(limit)))))
    }

    /// Drops the stored answer for an idempotency key.
    pub fn forget(&self, key: &str) {
        self.director.forget(key);
    }

    /// `listAccounts`.
    pub async fn list_accounts(
        &self,
        args: &ListAccountsArgs,
    ) -> std::result::Result<String, ErrorReport> {
        self.bounded(self.director.connect.list_accounts(args))
            .await
    }

    /// `getAccount`.
    pub async fn get_account(
        &self,
        args: &AccountArgs,
    ) -> std::result::Result<String, ErrorReport> {
        self.bounded(self.director.connect.get_account(args)).await
    }

    /// `deleteAccount`.
    pub async fn delete_account(
        &self,
        args: &AccountArgs,
    ) -> std::result::Result<String, ErrorReport> {
        self.bounded(self.director.connect.delete_account(&args.id))
            .await
    }

    /// `deleteAccountsForApp`.
    pub async fn delete_accounts_for_app(
        &self,
        app: &AppArg,
    ) -> std::result::Result<String, ErrorReport> {
        self.bounded(self.director.connect.delete_accounts_for_app(&app.0))
            .await
    }

    /// `listDeployedTriggers`.
    pub async fn list_deployed_triggers(
        &self,
        args: &ListTriggersArgs,
    ) -> std::result::Result<String, ErrorReport> {
        self.bounded(self.director.connect.list_deployed_triggers(args))
            .await
    }

    /// `getDeployedTrigger`.
    pub async fn get_deployed_trigger(
        &self,
        args: &TriggerArgs,
    ) -> std::result::Result<String, ErrorReport> {
        self.bounded(self.director.connect.get_deployed_trigger(args))
            .await
    }

    /// `updateDeployedTrigger`.
    pub async fn update_deployed_trigger(
        &self,
        args: &TriggerArgs,
    ) -> std::result::Result<String, ErrorReport> {
        self.bounded(self.director.connect.update_deployed_trigger(args))
            .await
    }

    /// `deleteDeployedTrigger`.
    pub async fn delete_deployed_trigger(
        &self,
        args: &TriggerArgs,
    ) -> std::result::Result<String, ErrorReport> {
        self.bounded(self.director.connect.delete_deployed_trigger(args))
            .await
    }

    /// `listTriggerEvents`.
    pub async fn list_trigger_events(
        &self,
        args: &TriggerArgs,
    ) -> std::result::Result<String, ErrorReport> {
        self.bounded(self.director.connect.list_trigger_events(args))
            .await
    }

    /// `listTriggerWebhooks` and `setTriggerWebhooks`.
    pub async fn trigger_webhooks(
        &self,
        args: &TriggerArgs,
    ) -> std::result::Result<String, ErrorReport> {
        self.bounded(self.director.connect.trigger_webhooks(args))
            .await
    }

    /// `regenerateTriggerSigningKey`.
    pub async fn regenerate_trigger_signing_key(
        &self,
        args: &TriggerArgs,
    ) -> std::result::Result<String, ErrorReport> {
        self.bounded(self.director.connect.regenerate_trigger_signing_key(args))
            .await
    }

    /// `downloadStashedFile`.
    pub async fn download_stashed_file(
        &self,
        key: &StashKeyArg,
    ) -> std::result::Result<String, ErrorReport> {
        self.bounded(self.director.connect.download_stashed_file(&key.0))
            .await
    }

    /// `listUsers`.
    pub async fn list_users(
        &self,
        args: &ListUsersArgs,
    ) -> std::result::Result<String, ErrorReport> {
        self.bounded(self.director.connect.list_users(args)).await
    }

    /// `deleteUser`.
    pub async fn delete_user(&self, user: &UserArg) -> std::result::Result<String, ErrorReport> {
        self.bounded(self.director.connect.delete_user(&user.0))
            .await
    }

    /// `createConnectToken`.
    pub async fn create_connect_token(
        &self,
        args: &CreateTokenArgs,
    ) -> std::result::Result<String, ErrorReport> {
        self.bounded(self.director.connect.create_connect_token(args))
            .await
    }

    /// `parseConnectionWebhook`.
    pub fn parse_connection_webhook(&self, body: &[u8]) -> Result<String> {
        self.director.connect.parse_connection_webhook(body)
    }

    /// `validateConnectToken`.
    pub async fn validate_connect_token(
        &self,
        args: &ValidateTokenArgs,
    ) -> std::result::Result<String, ErrorReport> {
        self.bounded(self.director.connect.validate_connect_token(args))
            .await
    }

    /// `getStats()`: this client's traffic so far, as JSON.
    pub fn stats_json(&self) -> String {
        to_json(&self.stats.snapshot(
            self.director.cache_counts(),
            self.director.connect.api.store_counts(),
        ))
    }

    /// `metrics()`: the same in the Prometheus text format.
    pub fn metrics(&self) -> String {
        self.stats.prometheus(
            self.director.cache_counts(),
            self.director.connect.api.store_counts(),
        )
    }

    /// Drops every cached discovery answer.
    pub fn clear_cache(&self) {
        self.director.clear_cache();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::director::tools::search::SearchServicesArgs;
    use serde_json::json;

    /// The futures the binding moves into the runtime stay small: unboxed they were 28 KB
    /// (discovery) and 31 KB (execute), and copying them took most of the JS thread's time per
    /// call. A bound, not an exact size, so compiler updates do not break it.
    #[test]
    fn futures_handed_to_the_runtime_stay_small() {
        let client =
            Client::new(Config::resolve(Default::default(), |_| None).unwrap(), None).unwrap();
        let search = SearchServicesArgs::parse(&json!({ "query": "x" })).unwrap();
        let run = client.run(Request::SearchServices(search), None);
        assert!(
            std::mem::size_of_val(&run) < 4096,
            "{}",
            std::mem::size_of_val(&run)
        );
        let args = ExecuteArgs::parse(&json!({ "component_id": "slack-send-message" }), &json!({}))
            .unwrap();
        // A box: what waits in the runtime per pending run is its contents, the arguments and
        // the run's state.
        let execute = client.execute(args, Default::default());
        let boxed = std::mem::size_of_val(&*execute);
        assert!(boxed < 2048, "{boxed}");
    }
}
