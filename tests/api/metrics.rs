//! `GET /metrics`: the Prometheus text, from loopback or with the token.

use crate::helpers::*;

async fn scrape(app: &TestApp, token: Option<&str>) -> (u16, String) {
    let mut req = app.client.get(app.url("/metrics"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// The value of a sample line (`name{labels} value`), if present.
fn sample(text: &str, name_and_labels: &str) -> Option<f64> {
    text.lines().find(|l| l.starts_with(name_and_labels)).and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_report_requests_transitions_cases_and_the_outbox() {
    let app = spawn().await;
    let r = app.accepted_repair("ent_a", demo::REPAIRABLE).await;
    app.get(&format!("/api/v1/cases/{}", r.id), &r.office).await.ok();
    let (status, text) = scrape(&app, None).await;
    assert_eq!(status, 200, "loopback may read: {text}");
    // Requests by route pattern (not the raw path) and status.
    let route = r#"credit_http_requests_total{method="GET",route="/api/v1/cases/{id}",status="200"}"#;
    assert!(sample(&text, route).is_some_and(|n| n >= 1.0), "{text}");
    assert!(text.contains("credit_http_request_duration_seconds_bucket"), "latency histogram");
    // Transitions by workflow and action.
    let accepted = r#"credit_case_transitions_total{action="accept",workflow="repair"}"#;
    assert!(sample(&text, accepted).is_some_and(|n| n >= 1.0), "{text}");
    // Open cases by holder; the outbox backlog by kind with its oldest age.
    let open = r#"credit_open_cases{department="区生态环境分局",kind="repair"}"#;
    assert_eq!(sample(&text, open), Some(1.0), "{text}");
    assert!(sample(&text, r#"credit_outbox_pending{kind="mail"}"#).is_some_and(|n| n >= 1.0), "{text}");
    assert!(text.contains("credit_outbox_oldest_pending_age_seconds{kind=\"mail\"}"), "{text}");
    assert!(text.contains("credit_db_pool_connections{state=\"open\"}"), "{text}");
    // A tick is timed and counted.
    let mailer = credit_repair::mailer::Mailer::from_settings(&app.state.settings).unwrap();
    credit_repair::jobs::tick(&app.state, &mailer, "test").await.unwrap();
    let (_, text) = scrape(&app, None).await;
    assert!(sample(&text, r#"credit_scheduler_tick_duration_seconds_count{outcome="ok"}"#).is_some_and(|n| n >= 1.0));
    assert!(sample(&text, r#"credit_scheduler_items_total{job="delivered"}"#).is_some_and(|n| n >= 1.0), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_token_configured_metrics_need_it() {
    let tweak: Tweak = Box::new(|s| s.metrics_token = Some(credit_repair::config::Secret::new("scrape-me")));
    let app = spawn_with(Options { tweak: Some(tweak), ..Options::default() }).await;
    let (status, body) = scrape(&app, None).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("metrics_token_required"), "{body}");
    assert_eq!(scrape(&app, Some("wrong")).await.0, 401);
    let (status, text) = scrape(&app, Some("scrape-me")).await;
    assert_eq!(status, 200);
    assert!(text.contains("credit_http_requests_total"), "{text}");
}
