//! The API's contract as an OpenAPI 3.0 document, built from [`ROUTES`],
//! the same table the tests check the router against. `wemixvisor
//! __generate` writes it to `docs/openapi.json` (`cargo xtask gen`), and a
//! test fails when the checked-in copy drifts.

use serde_json::{json, Map, Value};

/// Who may call a route over TCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token (`/healthz`).
    Open,
    /// The bearer token (or `api.metrics_public` for `/metrics`).
    Token,
}

/// What a route answers with on success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// `{"message": "..."}`.
    Message,
    /// A JSON document (`schema` names it).
    Json(&'static str),
    /// Plain text.
    Text,
    /// Server-sent events.
    Events,
}

/// One route of the API.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    /// `get`, `post` or `put`.
    pub method: &'static str,
    /// OpenAPI path (`{id}` parameters).
    pub path: &'static str,
    /// One line.
    pub summary: &'static str,
    /// Token or not.
    pub access: Access,
    /// Request body schema name, when the route takes one.
    pub body: Option<&'static str>,
    /// Success answer.
    pub answer: Answer,
    /// Error statuses besides 401.
    pub errors: &'static [u16],
}

const fn route(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    body: Option<&'static str>,
    answer: Answer,
    errors: &'static [u16],
) -> RouteSpec {
    RouteSpec {
        method,
        path,
        summary,
        access: Access::Token,
        body,
        answer,
        errors,
    }
}

/// Every route the server serves.
pub static ROUTES: &[RouteSpec] = &[
    RouteSpec {
        method: "get",
        path: "/healthz",
        summary: "200 while the node runs, 503 otherwise (no token needed)",
        access: Access::Open,
        body: None,
        answer: Answer::Text,
        errors: &[503],
    },
    route(
        "get",
        "/metrics",
        "Prometheus metrics (text format 0.0.4)",
        None,
        Answer::Text,
        &[],
    ),
    route(
        "get",
        "/api/v1/status",
        "The status report (docs/status.md)",
        None,
        Answer::Json("Status"),
        &[],
    ),
    route(
        "post",
        "/api/v1/start",
        "Start the node when it is stopped",
        None,
        Answer::Message,
        &[409, 503],
    ),
    route(
        "post",
        "/api/v1/stop",
        "Stop the node gracefully, then the supervisor",
        Some("Force"),
        Answer::Message,
        &[400, 409, 503],
    ),
    route(
        "post",
        "/api/v1/restart",
        "Restart the node from the current configuration files",
        Some("Force"),
        Answer::Message,
        &[400, 409, 503],
    ),
    route(
        "get",
        "/api/v1/config",
        "The effective configuration with each value's origin",
        None,
        Answer::Json("Object"),
        &[409],
    ),
    route(
        "put",
        "/api/v1/config",
        "Set one key (validated, comments kept), then reload",
        Some("ConfigSet"),
        Answer::Message,
        &[400, 409, 503],
    ),
    route(
        "post",
        "/api/v1/config/reload",
        "Re-read wemixvisor.toml and node-options.toml",
        None,
        Answer::Message,
        &[409, 503],
    ),
    route(
        "get",
        "/api/v1/upgrades",
        "The upgrade queue, the current binary and the last upgrade",
        None,
        Answer::Json("Object"),
        &[409],
    ),
    route(
        "post",
        "/api/v1/upgrades",
        "Queue one plan, or a batch (a list; all or nothing)",
        Some("PlanOrBatch"),
        Answer::Message,
        &[400, 409, 503],
    ),
    route(
        "get",
        "/api/v1/upgrades/current",
        "The binary `current` points at and the last upgrade",
        None,
        Answer::Json("Object"),
        &[409],
    ),
    route(
        "post",
        "/api/v1/upgrades/rollback",
        "Roll the last upgrade back",
        Some("Rollback"),
        Answer::Message,
        &[400, 409, 503],
    ),
    route(
        "post",
        "/api/v1/upgrades/{name}/cancel",
        "Cancel a plan that has not started",
        None,
        Answer::Message,
        &[400, 409, 503],
    ),
    route(
        "get",
        "/api/v1/backups",
        "The snapshots",
        None,
        Answer::Json("Object"),
        &[409],
    ),
    route(
        "post",
        "/api/v1/backups",
        "Take a manual snapshot",
        Some("Backup"),
        Answer::Message,
        &[400, 409, 503],
    ),
    route(
        "post",
        "/api/v1/backups/{id}/verify",
        "Re-hash a snapshot against its manifest",
        None,
        Answer::Message,
        &[400, 409],
    ),
    route(
        "post",
        "/api/v1/backups/{id}/restore",
        "Replace the chain data with a snapshot (refused while the node runs)",
        None,
        Answer::Message,
        &[400, 409],
    ),
    route(
        "get",
        "/api/v1/governance/proposals",
        "GovNCP proposals seen by the governance monitor",
        None,
        Answer::Json("Proposals"),
        &[],
    ),
    route(
        "get",
        "/api/v1/consensus",
        "The consensus report of the governance monitor",
        None,
        Answer::Json("Consensus"),
        &[],
    ),
    route(
        "get",
        "/api/v1/logs",
        "The node log's tail; with follow=true, then new lines as they come",
        None,
        Answer::Text,
        &[],
    ),
    route(
        "get",
        "/api/v1/events",
        "The supervisor's event stream (server-sent events)",
        None,
        Answer::Events,
        &[],
    ),
];

fn schemas() -> Value {
    let message = json!({
        "type": "object",
        "required": ["message"],
        "properties": {"message": {"type": "string"}}
    });
    let error = json!({
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string"},
            "hint": {"type": ["string", "null"]}
        }
    });
    let plan = json!({
        "type": "object",
        "required": ["name", "height"],
        "additionalProperties": false,
        "properties": {
            "name": {"type": "string", "minLength": 1, "description": "upgrade name"},
            "height": {"type": "integer", "minimum": 0, "description": "activation height"},
            "info": {
                "type": ["object", "string"],
                "description": "upgrade-info's `info`: an object with `binaries`, or a URL string"
            },
            "replace": {"type": "boolean", "description": "replace a plan of that name that has not started"}
        }
    });
    json!({
        "Message": message,
        "Error": error,
        "Object": {"type": "object"},
        "Status": {
            "type": "object",
            "description": "the status report; its shape is in docs/status.md",
            "required": ["schema", "supervisor", "node", "chain", "health", "upgrade", "updated_at"],
            "properties": {
                "schema": {"type": "integer"},
                "supervisor": {"type": "object"},
                "node": {"type": "object"},
                "chain": {"type": "object"},
                "health": {"type": "array", "items": {"type": "object"}},
                "upgrade": {"type": "object"},
                "governance": {"type": "object"},
                "alerts": {"type": "array", "items": {"type": "object"}},
                "updated_at": {"type": "string"}
            }
        },
        "Proposals": {
            "type": "object",
            "required": ["available", "proposals"],
            "properties": {
                "available": {"type": "boolean"},
                "proposals": {"type": "array"}
            }
        },
        "Consensus": {
            "type": "object",
            "required": ["available", "consensus"],
            "properties": {
                "available": {"type": "boolean"},
                "consensus": {"type": ["object", "null"]}
            }
        },
        "Force": {
            "type": "object",
            "additionalProperties": false,
            "properties": {"force": {"type": "boolean", "description": "skip the quorum guard"}}
        },
        "ConfigSet": {
            "type": "object",
            "required": ["key", "value"],
            "additionalProperties": false,
            "properties": {
                "key": {"type": "string", "minLength": 1, "description": "dotted key, e.g. restart.max_restarts"},
                "value": {"type": "string", "description": "new value as `config set` takes it"}
            }
        },
        "Plan": plan,
        "PlanOrBatch": {
            "oneOf": [
                {"$ref": "#/components/schemas/Plan"},
                {"type": "array", "items": {"$ref": "#/components/schemas/Plan"}}
            ]
        },
        "Rollback": {
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "restore_data": {"type": "boolean", "description": "also restore the pre-upgrade snapshot"},
                "force": {"type": "boolean", "description": "skip the quorum guard"}
            }
        },
        "Backup": {
            "type": "object",
            "additionalProperties": false,
            "properties": {"name": {"type": ["string", "null"], "description": "appended to the snapshot id"}}
        }
    })
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn error_response(code: u16) -> (String, Value) {
    let what = match code {
        400 => "bad request (body, parameter or value)",
        401 => "missing or wrong bearer token (TCP)",
        409 => "refused or failed in the current state",
        503 => "the supervisor is not running any more, or the node is not running",
        _ => "error",
    };
    (
        code.to_string(),
        json!({
            "description": what,
            "content": {"application/json": {"schema": schema_ref("Error")}}
        }),
    )
}

fn operation(r: &RouteSpec) -> Value {
    let mut responses = Map::new();
    let ok = match r.answer {
        Answer::Message => json!({
            "description": "done; one line",
            "content": {"application/json": {"schema": schema_ref("Message")}}
        }),
        Answer::Json(name) => json!({
            "description": "the document",
            "content": {"application/json": {"schema": schema_ref(name)}}
        }),
        Answer::Text => json!({
            "description": "text",
            "content": {"text/plain": {"schema": {"type": "string"}}}
        }),
        Answer::Events => json!({
            "description": "one event per message: `event` is its type, `id` its sequence number, `data` the JSON event",
            "content": {"text/event-stream": {"schema": {"type": "string"}}}
        }),
    };
    responses.insert("200".into(), ok);
    if r.path == "/healthz" {
        responses.insert(
            "503".into(),
            json!({
                "description": "the node is not running",
                "content": {"application/json": {"schema": schema_ref("Error")}}
            }),
        );
    } else {
        for code in r.errors.iter().copied().chain([401]) {
            let (k, v) = error_response(code);
            responses.insert(k, v);
        }
    }
    let mut op = json!({
        "summary": r.summary,
        "operationId": operation_id(r),
        "responses": responses,
    });
    if r.access == Access::Open {
        op["security"] = json!([]);
    }
    let mut params: Vec<Value> = Vec::new();
    for name in ["name", "id"] {
        if r.path.contains(&format!("{{{name}}}")) {
            params.push(json!({
                "name": name, "in": "path", "required": true, "schema": {"type": "string", "minLength": 1}
            }));
        }
    }
    if r.path == "/api/v1/logs" {
        params.push(json!({
            "name": "lines", "in": "query", "required": false,
            "description": "lines of tail (at most 10000)",
            "schema": {"type": "integer", "minimum": 0, "default": 100}
        }));
        params.push(json!({
            "name": "follow", "in": "query", "required": false,
            "description": "keep the stream open and send new lines",
            "schema": {"type": "boolean", "default": false}
        }));
    }
    if !params.is_empty() {
        op["parameters"] = Value::Array(params);
    }
    if let Some(body) = r.body {
        op["requestBody"] = json!({
            "required": false,
            "content": {"application/json": {"schema": schema_ref(body)}}
        });
    }
    op
}

fn operation_id(r: &RouteSpec) -> String {
    let path: String = r
        .path
        .trim_start_matches("/api/v1")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("{}{}", r.method, path.trim_end_matches('_'))
}

/// The OpenAPI 3.1 document of [`ROUTES`].
pub fn document() -> Value {
    let mut paths = Map::new();
    for r in ROUTES {
        let entry = paths
            .entry(r.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        entry[r.method] = operation(r);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "wemixvisor API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The API of a running wemixvisor supervisor: on state/wemixvisor.sock (0600, the local operator) always, and on TCP when api.enabled_tcp is set, with the bearer token from api.token_file on every route but /healthz (and /metrics when api.metrics_public). Errors are JSON {\"error\", \"hint\"}. See docs/api.md."
        },
        "servers": [{"url": "http://127.0.0.1:9090"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas()
        }
    })
}

/// [`document`] as the checked-in file holds it (pretty, newline-ended).
pub fn render() -> String {
    let mut s = serde_json::to_string_pretty(&document()).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_in_document_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == render(),
            "docs/openapi.json is stale; run `cargo xtask gen` and commit it"
        );
    }

    #[test]
    fn every_operation_has_a_unique_id_and_documents_401_where_the_token_applies() {
        let doc = document();
        let mut ids = std::collections::HashSet::new();
        for r in ROUTES {
            let op = &doc["paths"][r.path][r.method];
            assert!(ids.insert(op["operationId"].as_str().unwrap().to_owned()));
            assert_eq!(
                op["responses"].get("401").is_some(),
                r.access == Access::Token,
                "{} {}",
                r.method,
                r.path
            );
        }
    }
}
