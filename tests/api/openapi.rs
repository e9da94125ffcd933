//! The OpenAPI document declares what the server can answer.

use reqwest::Method;
use serde_json::Value;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_declares_its_error_answers_as_problem_json() {
    let app = spawn().await;
    let doc = app.request(Method::GET, "/api/openapi.json", None, None).await.ok();
    let paths = doc["paths"].as_object().expect("paths");
    // The routes added in this release are documented.
    for p in [
        "/api/v1/cases/export",
        "/api/v1/cases/{id}/documents",
        "/api/v1/cases/{id}/documents/{document_id}",
        "/api/v1/records/export",
        "/api/v1/reports/statistics",
        "/api/v1/public/documents/verify",
        "/api/v1/me/messages",
        "/api/v1/me/preferences",
        "/api/v1/admin/calendar/{year}/revert",
        "/api/v1/admin/calendar/events",
    ] {
        assert!(paths.contains_key(p), "{p} is not in the document");
    }
    let mut checked = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            checked += 1;
            let responses = op["responses"].as_object().unwrap();
            let has = |code: &str| responses.contains_key(code);
            let what = format!("{method} {path}");
            for code in ["400", "404", "500"] {
                assert!(has(code), "{what} does not declare {code}");
            }
            if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
                assert!(has("401") && has("403"), "{what}: a secured operation declares 401 and 403");
            }
            if !op["requestBody"].is_null() {
                for code in ["413", "415", "422"] {
                    assert!(has(code), "{what} takes a body but does not declare {code}");
                }
            }
            for (code, r) in responses {
                if code.starts_with('4') || code.starts_with('5') {
                    let content: &Value = &r["content"];
                    assert!(content.get("application/problem+json").is_some(), "{what} {code}: {content}");
                    assert!(content.get("application/json").is_none(), "{what} {code}: errors are problem+json");
                }
            }
        }
    }
    assert!(checked > 40, "{checked} operations");
}

/// Every route the API declares in `src/api/` (its `#[get(..)]`, `#[post(..)]`
/// attributes) is in the document, with its method.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_route_in_the_source_is_documented() {
    let app = spawn().await;
    let doc = app.request(Method::GET, "/api/openapi.json", None, None).await.ok();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
    let mut found = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines().map(str::trim) {
            for method in ["get", "post", "put", "patch", "delete"] {
                let Some(rest) = line.strip_prefix(&format!("#[{method}(\"")) else { continue };
                let Some(path) = rest.split('"').next().filter(|p| p.starts_with("/api/")) else { continue };
                found += 1;
                assert!(doc["paths"][path][method].is_object(), "{method} {path} is not in /api/openapi.json");
            }
        }
    }
    assert!(found > 40, "{found} routes found in the source");
}
