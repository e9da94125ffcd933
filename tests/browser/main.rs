//! The pages in a real browser: Debian's Chromium, headless, driven through
//! chromium-driver by clicking and typing as a person would, with the
//! vendored htmx running. Each test starts its own server (real HTTP on
//! loopback, a fresh database: SQLite, or PostgreSQL with TEST_DATABASE_URL)
//! and its own browser.
//!
//! Not part of the plain `cargo test`: run it with
//! `cargo test --features browser-tests --test browser -- --test-threads=1`
//! (needs /usr/bin/chromium and /usr/bin/chromedriver; `CHROME` and
//! `CHROMEDRIVER` override the paths). Screenshots go to `SCREENSHOTS`
//! (default `target/screenshots`); `SCREENSHOTS=docs/screenshots` refreshes
//! the README's pictures.

#[path = "../api/helpers.rs"]
mod helpers;
mod webdriver;

use std::path::PathBuf;

use helpers::*;
use webdriver::{Browser, Driver};

fn shot(name: &str) -> PathBuf {
    let dir = std::env::var("SCREENSHOTS").unwrap_or_else(|_| "target/screenshots".into());
    PathBuf::from(dir).join(format!("{name}.png"))
}

/// A one-page PDF on disk, for a file input.
fn pdf_file(dir: &std::path::Path, name: &str) -> String {
    let path = dir.join(format!("{name}.pdf"));
    std::fs::write(&path, format!("%PDF-1.4\n% {name}\n%%EOF\n")).unwrap();
    path.display().to_string()
}

/// Signs in through the login form and waits for the role's home.
async fn sign_in(b: &Browser, app: &TestApp, user: &str, home: &str) {
    b.goto(&app.url("/login")).await;
    let name = b.find("#username").await;
    b.type_into(&name, user).await;
    b.type_into(&b.find("#password").await, PASSWORD).await;
    b.click(&b.find_with_text("form[action='/login'] button", "登录").await).await;
    b.wait_path(home).await;
}

async fn sign_out(b: &Browser) {
    b.click(&b.find_with_text("header button", "退出").await).await;
    b.wait_path("/login").await;
}

/// Opens a case from a list by its number.
async fn open_case(b: &Browser, case_no: &str) {
    b.click(&b.find_with_text("tbody a", case_no).await).await;
    b.wait_path("/cases/").await;
    b.wait_text("办理记录").await;
}

/// Takes an action on the case page: opens its panel if closed, picks the
/// outcome, writes the comment and submits; waits for the confirmation.
async fn act(b: &Browser, action: &str, outcome: Option<&str>, comment: &str) {
    let form = format!("form[data-action={action}]");
    let button = b.find(&format!("{form} button[type=submit]")).await;
    if !b.is_displayed(&button).await {
        let summaries = format!("#actions details:has({form}) > summary");
        b.click(&b.find(&summaries).await).await;
    }
    if let Some(o) = outcome {
        b.click(&b.find(&format!("{form} select[name=outcome] option[value={o}]")).await).await;
    }
    b.type_into(&b.find(&format!("{form} textarea[name=comment]")).await, comment).await;
    b.click(&button).await;
    b.wait_text("已办理").await;
}

/// A case's number, as the JSON API gives it.
async fn case_no(app: &TestApp, id: i64) -> String {
    let office = app.login("office").await;
    app.case(&office, id).await["case_no"].as_str().unwrap().to_string()
}

/// Searches the public page and returns its text.
async fn public_search(b: &Browser, app: &TestApp, query: &str) -> String {
    b.goto(&app.url("/")).await;
    let q = b.find("input[name=q]").await;
    b.type_into(&q, query).await;
    b.click(&b.find_with_text("form button", "查询").await).await;
    b.wait_path("/?").await;
    b.wait_text("共找到").await;
    b.body_text().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repair_is_filed_accepted_and_approved_by_clicking() {
    let app = spawn().await;
    let driver = Driver::start().await;
    let b = Browser::open(&driver).await;
    let files = TempDir(std::env::temp_dir().join(format!("browser-files-{}", uuid::Uuid::new_v4().simple())));
    std::fs::create_dir_all(&files.0).unwrap();
    let uscc = "91350100M000100Y43";

    // The public sees the penalty and the guide; nothing to log in for.
    let before = public_search(&b, &app, uscc).await;
    assert!(before.contains("超标排放大气污染物"), "{before}");
    b.screenshot(&shot("public-search")).await;

    // The enterprise files a repair with both materials from its records.
    sign_in(&b, &app, "ent_a", "/my/records").await;
    b.wait_text("可申请信用修复").await;
    b.screenshot(&shot("applicant-home")).await;
    let record = app.record_id(demo::REPAIRABLE).await;
    b.click(&b.find(&format!("#record-{record} a[href$='kind=repair']")).await).await;
    b.wait_path(&format!("/records/{record}/apply")).await;
    b.type_into(&b.find("#reason").await, "罚款已于本月缴清，污染治理设施已整改到位并通过复查。").await;
    b.type_into(&b.find("#file-fulfilment_proof").await, &pdf_file(&files.0, "fulfilment")).await;
    b.type_into(&b.find("#file-commitment_letter").await, &pdf_file(&files.0, "commitment")).await;
    b.click(&b.find_with_text("button", "提交申请").await).await;
    let path = b.wait_path("/cases/").await;
    b.wait_text("待形式审查").await;
    b.wait_text("信用承诺书").await;
    let id: i64 = path.trim_start_matches("/cases/").split(['?', '/']).next().unwrap().parse().unwrap();
    let case_no = case_no(&app, id).await;
    sign_out(&b).await;

    // The credit office accepts it from its intake queue.
    sign_in(&b, &app, "office", "/office/dashboard").await;
    b.screenshot(&shot("office-home")).await;
    b.click(&b.find_with_text("header nav a", "受理").await).await;
    b.wait_path("/cases?view=intake").await;
    open_case(&b, &case_no).await;
    act(&b, "accept", None, "材料齐全，予以受理").await;
    b.wait_text("待部门审核").await;
    sign_out(&b).await;

    // The producing department approves it from its to-do list.
    sign_in(&b, &app, "sthj", "/cases?view=todo").await;
    b.wait_text(&case_no).await;
    b.screenshot(&shot("officer-home")).await;
    open_case(&b, &case_no).await;
    b.screenshot(&shot("officer-case")).await;
    act(&b, "approve", None, "经核实已履行义务，准予修复").await;
    b.wait_text("修复完成").await;
    sign_out(&b).await;

    // The applicant sees the decision; the public no longer sees the record.
    sign_in(&b, &app, "ent_a", "/my/records").await;
    b.wait_text("已终止公示").await;
    b.goto(&app.url(&format!("/cases/{id}"))).await;
    b.wait_text("修复完成").await;
    b.wait_text("经核实已履行义务，准予修复").await;
    b.screenshot(&shot("applicant-case")).await;
    sign_out(&b).await;
    let after = public_search(&b, &app, uscc).await;
    assert!(!after.contains("超标排放大气污染物"), "{after}");
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_objection_is_marked_publicly_then_verified_by_clicking() {
    let app = spawn().await;
    let driver = Driver::start().await;
    let b = Browser::open(&driver).await;

    sign_in(&b, &app, "ent_a", "/my/records").await;
    let record = app.record_id(demo::TOO_EARLY).await;
    // Not repairable yet, and the page says from when.
    b.wait_text("方可申请信用修复").await;
    b.click(&b.find(&format!("#record-{record} a[href$='kind=objection']")).await).await;
    b.wait_path(&format!("/records/{record}/apply")).await;
    // The grounds are chosen from a list; evidence is required.
    b.click(&b.find("#grounds option[value=wrong_content]").await).await;
    b.type_into(&b.find("#reason").await, "处罚决定认定的培训记录缺失有误，我司培训台账齐全。").await;
    let files = TempDir(std::env::temp_dir().join(format!("browser-files-{}", uuid::Uuid::new_v4().simple())));
    std::fs::create_dir_all(&files.0).unwrap();
    b.type_into(&b.find("#file-evidence").await, &pdf_file(&files.0, "evidence")).await;
    b.click(&b.find_with_text("button", "提交申请").await).await;
    let path = b.wait_path("/cases/").await;
    let id: i64 = path.trim_start_matches("/cases/").split(['?', '/']).next().unwrap().parse().unwrap();
    let case_no = case_no(&app, id).await;
    sign_out(&b).await;

    // Accepted: the public page marks the record 异议处理中.
    sign_in(&b, &app, "office", "/office/dashboard").await;
    b.goto(&app.url("/cases?view=intake")).await;
    open_case(&b, &case_no).await;
    act(&b, "accept", None, "予以受理").await;
    sign_out(&b).await;
    public_search(&b, &app, "泉城示例建材").await;
    let marks = b.texts("td span.tag").await;
    assert_eq!(marks.iter().filter(|t| *t == "异议处理中").count(), 1, "{marks:?}");

    // The department keeps the record and says why; the mark goes away.
    sign_in(&b, &app, "yjgl", "/cases?view=todo").await;
    open_case(&b, &case_no).await;
    b.screenshot(&shot("officer-objection")).await;
    act(&b, "verify", Some("maintained"), "经核查培训记录确有缺失，维持原信息").await;
    b.wait_text("已办结").await;
    sign_out(&b).await;
    let after = public_search(&b, &app, "泉城示例建材").await;
    assert!(after.contains("未按规定开展安全生产教育培训"), "{after}");
    let marks = b.texts("td span.tag").await;
    assert!(!marks.iter().any(|t| t == "异议处理中"), "{marks:?}");

    // The administrator's home and the workflow diagrams render in the browser.
    sign_in(&b, &app, "admin", "/admin/users").await;
    b.screenshot(&shot("admin-home")).await;
    b.goto(&app.url("/admin/workflows")).await;
    b.find("svg").await;
    b.screenshot(&shot("admin-workflows")).await;
    b.close().await;
}

/// Swagger UI under the server's security headers: its vendored bundle runs
/// (no inline script is needed), fetches the OpenAPI document and shows the
/// operations.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_documentation_runs_under_the_content_security_policy() {
    let app = spawn().await;
    let driver = Driver::start().await;
    let b = Browser::open(&driver).await;
    b.goto(&app.url("/api/docs/")).await;
    b.wait_text("信用修复与异议办理系统 API").await;
    b.wait_text("/api/v1/auth/login").await;
    b.screenshot(&shot("api-docs")).await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_department_checks_then_imports_a_file_by_clicking() {
    let app = spawn().await;
    let driver = Driver::start().await;
    let b = Browser::open(&driver).await;
    let files = TempDir(std::env::temp_dir().join(format!("browser-import-{}", uuid::Uuid::new_v4().simple())));
    std::fs::create_dir_all(&files.0).unwrap();
    let header = "统一社会信用代码,主体名称,信息类型,信息名称,失信程度,决定书文号,决定日期\n";
    let good =
        "91350100M000100Y43,泉城示例建材有限公司,行政处罚,夜间施工噪声超标,一般,济环罚〔2026〕601号,2026-09-10\n";
    let bad = "91350100M000100Y44,泉城示例建材有限公司,行政处罚,未验收即投产,一般,济环罚〔2026〕602号,2099-01-01\n";
    let with_bad = files.0.join("环境处罚.csv");
    std::fs::write(&with_bad, format!("{header}{good}{bad}")).unwrap();
    let fixed = files.0.join("环境处罚-改.csv");
    std::fs::write(&fixed, format!("{header}{good}")).unwrap();

    sign_in(&b, &app, "sthj", "/cases").await;
    b.click(&b.find_with_text("nav a", "批量导入").await).await;
    b.wait_path("/imports").await;
    // Checked: the two problems of row 3 are listed.
    b.type_into(&b.find("#i-file").await, &with_bad.display().to_string()).await;
    b.click(&b.find_with_text("#import-form button", "上传").await).await;
    b.wait_text("校验结果").await;
    let rows = b.texts("#import-errors tbody tr").await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|r| r.contains('3')), "{rows:?}");
    assert!(
        rows.iter().any(|r| r.contains("统一社会信用代码")) && rows.iter().any(|r| r.contains("决定日期")),
        "{rows:?}"
    );
    b.screenshot(&shot("officer-import-check")).await;
    // The corrected file, imported.
    b.type_into(&b.find("#i-file").await, &fixed.display().to_string()).await;
    b.click(&b.find("#import-form input[name=mode][value=apply]").await).await;
    b.click(&b.find_with_text("#import-form button", "上传").await).await;
    b.wait_text("导入完成").await;
    assert_eq!(b.text(&b.find("#created").await).await.trim(), "1");
    b.screenshot(&shot("officer-import")).await;
    let sthj = app.login("sthj").await;
    let list = app.get("/api/v1/records?per_page=100", &sthj).await.ok();
    assert!(list["items"].as_array().unwrap().iter().any(|r| r["document_no"] == "济环罚〔2026〕601号"));
    b.close().await;
}
