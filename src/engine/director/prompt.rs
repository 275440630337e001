//! What Director's planner needs besides the tools: the prompt section that teaches the LLM to
//! use them, and the JSON Schema of the workflow nodes it may write: a `pipedream_connect` node
//! (the integration plan's, extended with `version`, the account fields, `proxy` and `stash`)
//! and a `pipedream_trigger` node.

use serde_json::{Value, json};

/// The plan's "API Automation Capabilities" section, rewritten for the real tools.
pub const PROMPT: &str = r#"**API Automation Capabilities**

You can automate about 3,000 apps (Gmail, Slack, Airtable, Google Sheets, GitHub, HubSpot, Stripe, ...) through Pipedream Connect API actions, alongside browser automation.

1. **Discover first, in small steps** (never guess component ids or parameters):
   - `pipedream_search_services({ query })` finds apps by name or purpose ("gmail", "crm", "send sms"). Use the `app_slug` it returns.
   - `pipedream_get_components({ app_slug, query })` lists that app's actions with compact parameter lists. Put words of the task in `query` ("create issue", "search emails") to rank the best matches first.
   - `pipedream_get_component({ component_id })` returns the full `input_schema` (JSON Schema) of the action's `params`: types, which are required, allowed values, defaults. Read it before writing a node.
   - A parameter marked `x-remote-options` takes values that depend on the user's account (Slack channels, Google Sheets, Airtable bases): call `pipedream_configure_prop({ component_id, prop_name })` and use an option's `value`. Page with `next_page`.
   - A parameter marked `x-reload-props` adds more parameters once set; the node still runs with just the parameters you know, and the engine reloads the rest.

2. **Execute with `pipedream_connect` nodes**:
   - `config.component_id` from discovery, `config.params` exactly as `input_schema` describes. Unknown, missing or mistyped params are refused before anything runs, with one problem per param: fix them and try again.
   - `store` maps result paths to variables: `{ "emails": "foundEmails", "messages.0.id": "firstId", "$summary": "summaryText" }`; read them later as `{{node_alias.foundEmails}}`.
   - `create_records: "email"` turns a result list into records (`email_001`, ...) for `iterate` nodes; inside an iteration, `{{current.fields.x}}` reads the current record and `store_to_record: true` writes the result onto it.

3. **Event-driven workflows**: to start a workflow when something happens in the user's app ("when a new email matches X", "when a row is added"), begin it with a `pipedream_trigger` node: `config.component_id` is a trigger from `pipedream_get_components({ app_slug, type: "trigger" })`, `config.params` as its `input_schema` says. Each event starts the workflow once, with the event as its input record.

4. **No action for it? Use the app's own API.** When the app is in Pipedream but none of its actions does the task, `pipedream_proxy_request({ app_slug, method, url })` calls any endpoint of the app's API with the user's connected account (`url` relative to the app's API base, like `/api/users.list`, or a full https URL on the app's own domain; never add an authorization header). Use GET to look things up while planning. In the workflow, a `pipedream_connect` node with `config.proxy: { app, method, url, body }` in place of `component_id` makes the call; the API's JSON answer is its result, for `store` and `create_records` as with actions.

5. **Choose API over browser** when an action (or the app's API through the proxy) covers the task: API calls are faster and do not break on UI changes. Choose the browser for custom or internal UIs, visual checks, and apps Pipedream does not have.

6. **Accounts**: actions run with the user's connected account for the app. If there is none, the run fails with PIPEDREAM_ACCOUNT_MISSING and a Connect Link: show the link to the user and wait. If there are several, it fails with PIPEDREAM_ACCOUNT_AMBIGUOUS listing them: ask the user which one and set `auth_config.account_id`. Never pick an account yourself.

7. **Errors** carry a `code` and a `message` that says what to do. A failure with `maybe_executed: true` may have run the action: do not run it again without checking with the user.
"#;

/// The workflow nodes Director's planner may write with these tools: a `pipedream_connect`
/// step, and a `pipedream_trigger` that starts the workflow when an event happens.
pub fn node_schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "oneOf": [connect_node(), trigger_node()],
    })
}

/// A `pipedream_trigger` node: the workflow starts on each event of a Pipedream trigger
/// deployed for the user (Director deploys it with `deployTrigger` and its webhook URL).
fn trigger_node() -> Value {
    json!({
        "type": "object",
        "description": "Starts the workflow each time the trigger emits an event; the event becomes the workflow's input record",
        "properties": {
            "type": { "const": "pipedream_trigger" },
            "config": {
                "type": "object",
                "properties": {
                    "component_id": {
                        "type": "string",
                        "pattern": "^[a-z0-9][a-z0-9_-]*$",
                        "description": "A trigger from pipedream_get_components with type \"trigger\" (e.g. \"gmail-new-email-received\")"
                    },
                    "version": { "type": "string" },
                    "params": {
                        "type": "object",
                        "description": "The trigger's parameters, as pipedream_get_component's input_schema describes",
                        "additionalProperties": true
                    },
                    "auth_config": {
                        "type": "object",
                        "properties": {
                            "external_user_id": { "type": "string" },
                            "account_id": { "type": "string", "pattern": "^apn_[a-zA-Z0-9]+$" }
                        },
                        "additionalProperties": false
                    },
                    "emit_on_deploy": {
                        "type": "boolean",
                        "description": "false: do not start the workflow for the recent events some triggers emit when deployed"
                    }
                },
                "required": ["component_id"],
                "additionalProperties": false
            },
            "description": { "type": "string" },
            "alias": { "type": "string", "pattern": "^[a-z][a-z0-9_]*$" }
        },
        "required": ["type", "config", "alias"],
        "additionalProperties": false
    })
}

/// A `pipedream_connect` node: an action, or a request through the proxy.
fn connect_node() -> Value {
    json!({
        "type": "object",
        "properties": {
            "type": { "const": "pipedream_connect" },
            "config": {
                "type": "object",
                "properties": {
                    "component_id": {
                        "type": "string",
                        "pattern": "^[a-z0-9][a-z0-9_-]*$",
                        "description": "Pipedream component to execute (e.g. \"gmail-search-emails\", \"airtable_oauth-create-single-record\"), from pipedream_get_components"
                    },
                    "version": {
                        "type": "string",
                        "description": "A specific component version; omit for the latest"
                    },
                    "proxy": {
                        "type": "object",
                        "description": "In place of component_id, when no action does the task: a request to the app's own API with the user's connected account",
                        "properties": {
                            "app": { "type": "string", "description": "The app's slug, e.g. \"slack\"" },
                            "method": { "enum": ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] },
                            "url": { "type": "string", "description": "A path relative to the app's API base (\"/api/chat.postMessage\") or a full https URL on the app's domain" },
                            "headers": { "type": "object", "additionalProperties": { "type": "string" }, "description": "Extra headers; never authorization" },
                            "body": { "description": "A JSON value, or a string sent as it is" },
                            "max_bytes": { "type": "integer", "minimum": 1, "description": "Most bytes of the answer kept (default 1 MiB)" }
                        },
                        "required": ["app", "method", "url"],
                        "additionalProperties": false
                    },
                    "stash": {
                        "type": ["boolean", "string"],
                        "description": "For actions that write files (a dir prop with sync): true keeps the files in a new File Stash, a stash_id from an earlier run reuses it; the answer's files hold their download URLs"
                    },
                    "auth_config": {
                        "type": "object",
                        "description": "Which Pipedream token and connected account to use. Usually omitted: the engine uses the workflow's user and their only account for the app.",
                        "properties": {
                            "token": { "type": "string", "description": "A Pipedream access token for this node (supports variable references like {{pipedream_token}})" },
                            "external_user_id": { "type": "string", "description": "The Director user whose connected accounts are used" },
                            "account_id": { "type": "string", "pattern": "^apn_[a-zA-Z0-9]+$", "description": "A connected account to run with, when the user has several" },
                            "service_auth": {
                                "type": "object",
                                "description": "Service-specific authentication; { authProvisionId: 'apn_…' } selects an account",
                                "additionalProperties": true
                            }
                        },
                        "additionalProperties": true
                    },
                    "params": {
                        "type": "object",
                        "description": "The component's parameters, as pipedream_get_component's input_schema describes",
                        "additionalProperties": true
                    },
                    "store": {
                        "type": "object",
                        "description": "Map result paths to workflow variables. Example: {\"emails\": \"foundEmails\", \"count\": \"totalEmails\"}",
                        "additionalProperties": { "type": "string" }
                    },
                    "create_records": {
                        "oneOf": [
                            { "type": "string" },
                            {
                                "type": "object",
                                "properties": {
                                    "type": { "type": "string" },
                                    "from": { "type": "string" },
                                    "id_pattern": { "type": "string" }
                                },
                                "required": ["type"],
                                "additionalProperties": false
                            }
                        ],
                        "description": "Create records from the result (e.g. \"email\" creates email_001, email_002)"
                    },
                    "store_to_record": {
                        "type": "boolean",
                        "description": "Store the result on the current record instead of a global variable (iteration contexts only)"
                    },
                    "as": {
                        "type": "string",
                        "description": "Field name when using store_to_record (defaults to the node alias)"
                    }
                },
                "oneOf": [
                    { "required": ["component_id"], "not": { "required": ["proxy"] } },
                    { "required": ["proxy"], "not": { "required": ["component_id"] } }
                ],
                "additionalProperties": false
            },
            "description": {
                "type": "string",
                "description": "Human-readable description of what this API call does"
            },
            "alias": {
                "type": "string",
                "pattern": "^[a-z][a-z0-9_]*$",
                "description": "Unique node identifier in snake_case format"
            }
        },
        "required": ["type", "config", "alias"],
        "additionalProperties": false
    })
}
