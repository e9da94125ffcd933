//! Completes the OpenAPI document with the error answers every operation can
//! give, derived from what the operation declares (its security, its body,
//! its parameters) and from how the server answers errors: every error body
//! is an `ErrorBody` served as `application/problem+json`.

use utoipa::openapi::path::Operation;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};

/// The media type of every error body (`crate::error`).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The error statuses an operation can answer, with their meaning. `writes`:
/// the operation changes something (any method but GET), so it can meet a
/// conflict (a stale version, a taken code, an action the state no longer
/// allows).
fn error_statuses(op: &Operation, path: &str, writes: bool) -> Vec<(&'static str, &'static str)> {
    let mut out = vec![
        ("400", "请求格式错误（查询参数、路径参数或请求体无法解析）"),
        ("404", "资源不存在，或不在调用者的可见范围内"),
        ("500", "服务器内部错误（响应只含请求编号，详情见日志）"),
    ];
    if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
        out.push(("401", "未登录、令牌无效或已过期"));
        out.push(("403", "当前角色无权执行此操作"));
    }
    let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty()) || path.contains('{');
    if op.request_body.is_some() {
        out.push(("413", "请求体超过大小限制"));
        out.push(("415", "请求体的内容类型不受支持"));
    }
    if op.request_body.is_some() || has_params {
        out.push(("422", "输入未通过校验（字段错误列于 fields）"));
    }
    if writes {
        out.push(("409", "与当前状态冲突（版本已变、编码已占用、当前状态不允许该操作等）"));
    }
    out
}

/// Adds the missing error answers to every operation and serves every error
/// answer (declared by a route or added here) as `application/problem+json`.
pub fn complete(api: &mut OpenApi) {
    let error_body = || ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
    for (path, item) in api.paths.paths.iter_mut() {
        let ops = [
            (&mut item.get, false),
            (&mut item.put, true),
            (&mut item.post, true),
            (&mut item.delete, true),
            (&mut item.patch, true),
        ];
        for (op, writes) in ops {
            let Some(op) = op.as_mut() else { continue };
            for (code, response) in op.responses.responses.iter_mut() {
                if !(code.starts_with('4') || code.starts_with('5')) {
                    continue;
                }
                if let RefOr::T(r) = response {
                    let json = r.content.shift_remove("application/json");
                    if let Some(content) = json {
                        r.content.insert(PROBLEM_JSON.to_string(), content);
                    } else if r.content.is_empty() {
                        r.content.insert(PROBLEM_JSON.to_string(), RefOr::T(error_body()));
                    }
                }
            }
            for (code, description) in error_statuses(op, path, writes) {
                op.responses.responses.entry(code.to_string()).or_insert_with(|| {
                    RefOr::T(
                        ResponseBuilder::new().description(description).content(PROBLEM_JSON, error_body()).build(),
                    )
                });
            }
        }
    }
}
