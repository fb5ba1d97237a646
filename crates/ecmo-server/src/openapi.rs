//! The OpenAPI 3 document, built from the route table in `api.rs` so that a
//! route cannot be served without being documented (a test checks the router
//! against the table).

use crate::api::{API_ROUTES, Access};
use serde_json::{Map, Value, json};

fn error_response(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

pub fn document() -> Value {
    let mut paths = Map::new();
    for r in API_ROUTES {
        let mut params: Vec<Value> = r
            .query
            .iter()
            .map(|(name, d)| json!({ "name": name, "in": "query", "required": false, "description": d, "schema": { "type": "string" } }))
            .collect();
        for seg in r.path.split('/').filter(|s| s.starts_with('{')) {
            let name = seg.trim_matches(|c| c == '{' || c == '}');
            params.push(json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }));
        }
        let roles = match r.access {
            Access::Public => "Anyone, without a session.".to_string(),
            Access::AnyUser => "Any logged-in account.".to_string(),
            Access::Only(roles) => {
                format!("Role: {}.", roles.iter().map(|r| r.code()).collect::<Vec<_>>().join(", "))
            }
        };
        let mut responses = Map::new();
        responses.insert("200".into(), json!({ "description": "OK", "content": { "application/json": {} } }));
        responses.insert("400".into(), error_response("Invalid parameter"));
        if r.access != Access::Public {
            responses.insert("401".into(), error_response("Not logged in"));
        }
        if matches!(r.access, Access::Only(_)) {
            responses.insert("403".into(), error_response("The account's role may not use this route"));
        }
        if r.path.contains('{') {
            responses.insert("404".into(), error_response("No such item"));
        }
        if r.method == "post" {
            responses.insert("422".into(), error_response("Refused by validation; `errors` lists every field"));
        }
        let mut op = json!({
            "summary": r.summary,
            "description": roles,
            "parameters": params,
            "responses": responses,
        });
        if r.access != Access::Public {
            op["security"] = json!([{ "session": [] }]);
        }
        if r.method == "post" {
            op["requestBody"] = json!({ "content": { "application/json": { "schema": { "type": "object" } } } });
        }
        let entry = paths.entry(r.path.to_string()).or_insert_with(|| json!({}));
        entry[r.method] = op;
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "ecmo-cds",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Bedside dashboard, research view and administration of ecmo-cds. Lists are paginated (`page`, `per_page`; the answer has `items`, `page`, `per_page`, `total`, `pages`). See docs/api.md."
        },
        "paths": paths,
        "components": {
            "securitySchemes": { "session": { "type": "apiKey", "in": "cookie", "name": crate::auth::COOKIE } },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["reason", "errors"],
                    "properties": {
                        "field": { "type": "string", "nullable": true, "description": "the input field at fault" },
                        "value": { "type": "string", "nullable": true, "description": "the value given" },
                        "reason": { "type": "string" },
                        "errors": { "type": "array", "items": { "type": "object", "properties": {
                            "field": { "type": "string", "nullable": true },
                            "value": { "type": "string", "nullable": true },
                            "reason": { "type": "string" } } } }
                    }
                }
            }
        }
    })
}
