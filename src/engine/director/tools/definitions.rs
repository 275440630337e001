//! The discovery tools as an LLM sees them: tool definitions in the integration plan's format
//! (OpenAI function tools, `type: 'function'`, `strict: true`), or Anthropic's or MCP's, and
//! the mapping from a tool call's name to the operation that answers it.

use serde_json::{Value, json};

use crate::engine::director::tools::Op;
use crate::engine::error::{Error, cut};

/// Tool names, in the order they are offered.
pub const TOOLS: [(&str, Op); 5] = [
    ("pipedream_search_services", Op::SearchServices),
    ("pipedream_get_components", Op::GetComponents),
    ("pipedream_get_component", Op::GetComponent),
    ("pipedream_configure_prop", Op::ConfigureProp),
    ("pipedream_proxy_request", Op::ProxyRequest),
];

pub fn op_for_tool(name: &str) -> Option<Op> {
    TOOLS.iter().find(|(n, _)| *n == name).map(|(_, op)| *op)
}

/// The answer to a call of a tool we do not have: a result, not a throw, so the tool loop
/// can show it to the model.
pub fn unknown_tool(name: &str) -> String {
    let known: Vec<&str> = TOOLS.iter().map(|(n, _)| *n).collect();
    let error = Error::InvalidArgs(format!(
        "Unknown tool {:?}. The Pipedream tools are: {}.",
        cut(name, 100),
        known.join(", ")
    ));
    json!({
        "error": "PIPEDREAM_UNKNOWN_TOOL",
        "message": error.to_string(),
    })
    .to_string()
}

/// Strict mode: every property is listed in `required`; optional ones accept null.
fn function(name: &str, description: &str, properties: Value) -> Value {
    let required: Vec<&String> = properties
        .as_object()
        .map(|p| p.keys().collect())
        .unwrap_or_default();
    json!({
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": false,
            },
            "strict": true,
        }
    })
}

/// Whose tool format: OpenAI's function tools (the plan's), Anthropic's tools, or MCP's
/// `tools/list` entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    OpenAi,
    Anthropic,
    Mcp,
}

impl Format {
    pub fn named(name: &str) -> Option<Self> {
        match name {
            "openai" => Some(Self::OpenAi),
            "anthropic" => Some(Self::Anthropic),
            "mcp" => Some(Self::Mcp),
            _ => None,
        }
    }
}

/// The tools in `format`. The JSON Schema of each tool's input is the same; only the envelope
/// differs. Every discovery tool only reads, which MCP's annotations can say; the proxy tool
/// can write to the user's account.
pub fn definitions_in(format: Format) -> Value {
    let openai = definitions();
    let tools = openai.as_array().into_iter().flatten().map(|t| {
        let f = &t["function"];
        match format {
            Format::OpenAi => t.clone(),
            Format::Anthropic => json!({
                "name": f["name"],
                "description": f["description"],
                "input_schema": f["parameters"],
            }),
            Format::Mcp => json!({
                "name": f["name"],
                "description": f["description"],
                "inputSchema": f["parameters"],
                "annotations": match f["name"].as_str() {
                    Some("pipedream_proxy_request") => json!({ "readOnlyHint": false, "destructiveHint": true, "openWorldHint": true }),
                    _ => json!({ "readOnlyHint": true, "openWorldHint": true }),
                },
            }),
        }
    });
    Value::Array(tools.collect())
}

pub fn definitions() -> Value {
    json!([
        function(
            "pipedream_search_services",
            "Search the API services (apps) that Pipedream Connect can automate, by name or purpose. Use it before building API workflow nodes; then call pipedream_get_components with an app_slug from the results.",
            json!({
                "query": { "type": "string", "description": "Service name or purpose, e.g. \"gmail\", \"airtable\", \"crm\", \"send sms\"" },
                "limit": { "type": ["integer", "null"], "description": "Most services to return (1-100); null for 20" },
            }),
        ),
        function(
            "pipedream_get_components",
            "List the prebuilt actions (or triggers) of one service, with their parameters. Use a component_id from the answer in a pipedream_connect node.",
            json!({
                "app_slug": { "type": "string", "description": "Service identifier from pipedream_search_services, e.g. \"gmail\", \"slack\"" },
                "query": { "type": ["string", "null"], "description": "Words describing the operation, e.g. \"create issue\"; null lists all" },
                "type": { "type": ["string", "null"], "enum": ["action", "trigger", null], "description": "null for actions" },
                "limit": { "type": ["integer", "null"], "description": "Most components to return (1-100); null for 50" },
            }),
        ),
        function(
            "pipedream_get_component",
            "Get one component's full definition: input_schema (JSON Schema of its params), which params need remote options or a props reload, and read-only/destructive hints.",
            json!({
                "component_id": { "type": "string", "description": "From pipedream_get_components, e.g. \"gmail-send-email\"" },
                "version": { "type": ["string", "null"], "description": "A specific version; null for the latest" },
            }),
        ),
        function(
            "pipedream_configure_prop",
            "List the valid values of a parameter whose choices depend on the user's account (x-remote-options in input_schema), e.g. Slack channels or Google Sheets.",
            json!({
                "component_id": { "type": "string", "description": "The component, e.g. \"slack-send-message\"" },
                "prop_name": { "type": "string", "description": "The parameter to list values for, e.g. \"conversation\"" },
                "params": { "type": ["string", "null"], "description": "JSON object text of parameters already chosen, which some lists depend on; null if none" },
                "external_user_id": { "type": ["string", "null"], "description": "The user whose account lists the values; null for the default user" },
                "query": { "type": ["string", "null"], "description": "Text to filter the values by; null for all" },
                "page": { "type": ["integer", "null"], "description": "Page number from next_page of a previous answer; null for the first" },
            }),
        ),
        function(
            "pipedream_proxy_request",
            "Call any endpoint of a service's own API with the user's connected account, when no prebuilt action does what is needed. Prefer actions. Use GET to look things up; a POST, PUT, PATCH or DELETE changes the user's data, so only send one the user asked for. The answer is the API's status, headers and body (cut at 32 KB). When it says maybe_executed, the request may already have taken effect: check before sending it again.",
            json!({
                "app_slug": { "type": "string", "description": "Service identifier from pipedream_search_services, e.g. \"slack\"" },
                "method": { "type": "string", "enum": ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] },
                "url": { "type": "string", "description": "A path relative to the service's API base, e.g. \"/api/users.list?limit=10\", or a full https URL on the service's own domain" },
                "body": { "type": ["string", "null"], "description": "JSON text of the request body (or plain text); null for none" },
                "headers": { "type": ["string", "null"], "description": "JSON object text of extra headers, e.g. {\"accept\": \"application/json\"}; never authorization (the account's credentials are added for you); null for none" },
                "external_user_id": { "type": ["string", "null"], "description": "The user whose connected account is used; null for the default user" },
                "account_id": { "type": ["string", "null"], "description": "A connected account (apn_...) when the user has several; null otherwise" },
            }),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_carries_the_same_input_schemas() {
        let openai = definitions();
        for format in [Format::Anthropic, Format::Mcp] {
            let other = definitions_in(format);
            let key = if format == Format::Mcp {
                "inputSchema"
            } else {
                "input_schema"
            };
            for (o, t) in openai
                .as_array()
                .unwrap()
                .iter()
                .zip(other.as_array().unwrap())
            {
                assert_eq!(t["name"], o["function"]["name"]);
                assert_eq!(t[key], o["function"]["parameters"]);
                assert!(t.get("type").is_none() && t.get("function").is_none());
            }
        }
        assert_eq!(definitions_in(Format::OpenAi), openai);
        assert_eq!(Format::named("anthropic"), Some(Format::Anthropic));
        assert_eq!(Format::named("gemini"), None);
    }

    #[test]
    fn strict_definitions_list_every_property_as_required() {
        let defs = definitions();
        let defs = defs.as_array().unwrap();
        assert_eq!(defs.len(), TOOLS.len());
        for (def, (name, _)) in defs.iter().zip(TOOLS) {
            let f = &def["function"];
            assert_eq!(f["name"], *name);
            assert_eq!(f["strict"], true);
            let props: Vec<&String> = f["parameters"]["properties"]
                .as_object()
                .unwrap()
                .keys()
                .collect();
            let required: Vec<&str> = f["parameters"]["required"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            assert_eq!(props, required);
            assert_eq!(f["parameters"]["additionalProperties"], false);
        }
    }

    #[test]
    fn unknown_tools_are_answers() {
        assert_eq!(
            op_for_tool("pipedream_get_component"),
            Some(Op::GetComponent)
        );
        let v: Value = serde_json::from_str(&unknown_tool("pipedream_nope")).unwrap();
        assert_eq!(v["error"], "PIPEDREAM_UNKNOWN_TOOL");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("pipedream_search_services")
        );
    }
}
