//! Formal documents (文书): issued by the deciding transition in its
//! transaction, numbered without gaps, stored and never regenerated, handed
//! to the case's parties only, mailed to the applicant, and verifiable by
//! the public. The PDF's text is extracted with poppler's `pdftotext`, as a
//! reader's tools would; page 1 of each kind is rendered to PNG under
//! `target/documents/` for review.

use std::path::PathBuf;
use std::process::Command;

use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};

use crate::helpers::*;
use entity::outbox;

fn poppler(tool: &str, args: &[&str]) -> std::process::Output {
    Command::new(tool).args(args).output().unwrap_or_else(|e| {
        panic!("cannot run `{tool}` ({e}): install poppler-utils (apt-get install -y poppler-utils)")
    })
}

/// The text of a PDF as `pdftotext` extracts it, whitespace removed.
fn pdf_text(bytes: &[u8]) -> String {
    let dir = std::env::temp_dir().join(format!("docs-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let pdf = dir.join("doc.pdf");
    std::fs::write(&pdf, bytes).unwrap();
    let out = poppler("pdftotext", &["-enc", "UTF-8", pdf.to_str().unwrap(), "-"]);
    assert!(out.status.success(), "pdftotext failed: {}", String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::remove_dir_all(&dir);
    String::from_utf8(out.stdout).unwrap().chars().filter(|c| !c.is_whitespace()).collect()
}

/// Renders page 1 to `target/documents/<name>.png` (for review) and checks a PNG came out.
fn render_page_one(bytes: &[u8], name: &str) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("documents");
    std::fs::create_dir_all(&dir).unwrap();
    let pdf = dir.join(format!("{name}.pdf"));
    std::fs::write(&pdf, bytes).unwrap();
    let prefix = dir.join(name);
    let out = poppler(
        "pdftoppm",
        &["-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", pdf.to_str().unwrap(), prefix.to_str().unwrap()],
    );
    assert!(out.status.success(), "pdftoppm failed: {}", String::from_utf8_lossy(&out.stderr));
    let png = std::fs::read(prefix.with_extension("png")).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{name}: {} bytes", png.len());
}

async fn download(app: &TestApp, token: &str, case_id: i64, doc: &Value) -> reqwest::Response {
    let url = app.url(&format!("/api/v1/cases/{case_id}/documents/{}", doc["id"]));
    app.client.get(url).bearer_auth(token).send().await.unwrap()
}

async fn pdf_of(app: &TestApp, token: &str, case_id: i64, doc: &Value) -> Vec<u8> {
    let res = download(app, token, case_id, doc).await;
    assert_eq!(res.status(), 200, "{doc}");
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let bytes = res.bytes().await.unwrap().to_vec();
    assert!(bytes.starts_with(b"%PDF-"), "{doc}");
    bytes
}

fn year() -> i32 {
    chrono::Datelike::year(&chrono::Utc::now().with_timezone(&credit_repair::clock::shanghai()))
}

fn the_event<'a>(case: &'a Value, action: &str) -> &'a Value {
    case["history"].as_array().unwrap().iter().rev().find(|e| e["action"] == action).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_repair_gets_its_decision_letter_mailed_and_verifiable() {
    let app = spawn().await;
    let r = app.accepted_repair("ent_a", demo::REPAIRABLE).await;
    let case = app.act(&r.officer, r.id, "approve", json!({"comment": "罚款已缴清，整改到位"})).await.ok();
    let docs = case["documents"].as_array().unwrap().clone();
    assert_eq!(docs.len(), 1, "{case}");
    let doc = &docs[0];
    let number = format!("济高信修〔{}〕第0001号", year());
    assert_eq!(doc["number"], number.as_str(), "{doc}");
    assert_eq!(doc["title"], "准予信用修复决定书");
    // The number and hash are in the step's event (hash-chained).
    let ev = the_event(&case, "approve");
    assert_eq!(ev["inputs"]["document"]["number"], number.as_str(), "{ev}");
    assert_eq!(ev["inputs"]["document"]["sha256"], doc["sha256"], "{ev}");

    // The applicant downloads it; its text holds the name, USCC, number and decision.
    let bytes = pdf_of(&app, &r.applicant, r.id, doc).await;
    assert_eq!(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)), doc["sha256"].as_str().unwrap());
    let text = pdf_text(&bytes);
    for needle in [
        "准予信用修复决定书",
        number.as_str(),
        "泉城示例建材有限公司",
        demo::ENT_A,
        demo::REPAIRABLE,
        "决定准予信用修复",
        "区生态环境分局",
        "罚款已缴清，整改到位",
        "《信用修复管理办法》",
        doc["verify_code"].as_str().unwrap(),
        case["case_no"].as_str().unwrap(),
    ] {
        assert!(text.contains(needle), "`{needle}` missing from: {text}");
    }
    render_page_one(&bytes, "repair_approved");
    // The department in scope may read it; another applicant, another department and the public may not.
    pdf_of(&app, &r.officer, r.id, doc).await;
    for user in ["ent_b", "yjgl"] {
        let token = app.login(user).await;
        assert_eq!(download(&app, &token, r.id, doc).await.status(), 404, "{user}");
    }
    let anon = app.client.get(app.url(&format!("/api/v1/cases/{}/documents/{}", r.id, doc["id"]))).send().await;
    assert_eq!(anon.unwrap().status(), 401);
    let listed = app.get(&format!("/api/v1/cases/{}/documents", r.id), &r.applicant).await.ok();
    assert_eq!(listed.as_array().unwrap().len(), 1);

    // The decision mail to the applicant carries it; the credit office's copy does not.
    let mails = outbox::Entity::find()
        .filter(outbox::Column::CaseId.eq(r.id))
        .filter(outbox::Column::Template.eq("case_decided"))
        .order_by_asc(outbox::Column::Id)
        .all(&app.state.db)
        .await
        .unwrap();
    let to_applicant = mails.iter().find(|m| m.recipients.contains("ent_a@")).expect("applicant's copy");
    let files: Value = serde_json::from_str(&to_applicant.attachments).unwrap();
    assert_eq!(files[0]["sha256"], doc["sha256"], "{files}");
    assert!(files[0]["name"].as_str().unwrap().contains(&number), "{files}");
    assert!(to_applicant.body_text.contains(&number), "{}", to_applicant.body_text);
    let to_office = mails.iter().find(|m| m.recipients.contains("office@")).expect("office's copy");
    assert_eq!(to_office.attachments, "[]");

    // The public checks it with the number and the code printed on it.
    let q = format!(
        "/api/v1/public/documents/verify?number={}&code={}",
        urlencode(&number),
        doc["verify_code"].as_str().unwrap().to_lowercase()
    );
    let v = app.request(Method::GET, &q, None, None).await.ok();
    assert_eq!(v["genuine"], true, "{v}");
    assert_eq!(v["title"], "准予信用修复决定书");
    assert_eq!(v["addressee"], "泉城示例建材有限公司");
    assert_eq!(v["sha256"], doc["sha256"]);
    let forged = format!("/api/v1/public/documents/verify?number={}&code=DEADBEEF", urlencode(&number));
    app.request(Method::GET, &forged, None, None).await.expect(404, "not_found");
    let page = app.client.get(app.url(&format!("/verify?number={}&code=DEADBEEF", urlencode(&number)))).send().await;
    assert_eq!(page.unwrap().status(), 404);
    let page = app.client.get(app.url(&q.replace("/api/v1/public/documents/verify", "/verify"))).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("该文书真实有效"));

    // The file itself: the original passes, a tampered copy fails.
    let post = |body: Vec<u8>| {
        app.client
            .post(app.url("/api/v1/public/documents/verify"))
            .header("content-type", "application/pdf")
            .body(body)
            .send()
    };
    let ok = post(bytes.clone()).await.unwrap();
    assert_eq!(ok.status(), 200);
    let v: Value = ok.json().await.unwrap();
    assert_eq!(v["number"], number.as_str(), "{v}");
    let mut tampered = bytes.clone();
    let mid = tampered.len() / 2;
    tampered[mid] ^= 0x01;
    assert_eq!(post(tampered).await.unwrap().status(), 404, "a changed file is not the issued document");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_deciding_step_issues_its_letter_with_a_fresh_number() {
    let app = spawn().await;
    let y = year();
    // Denied repair: the reasons and the remedies, in the repair family after no approval.
    let r = app.accepted_repair("ent_a", demo::REPAIRABLE).await;
    let denied = app.act(&r.officer, r.id, "deny", json!({"comment": "罚款尚未缴清"})).await.ok();
    let doc = denied["documents"][0].clone();
    assert_eq!(doc["number"], format!("济高信修〔{y}〕第0001号"));
    let text = pdf_text(&pdf_of(&app, &r.applicant, r.id, &doc).await);
    for needle in ["不予信用修复决定书", "决定不予信用修复", "罚款尚未缴清", "重新提出信用修复申请", "提出异议申请"]
    {
        assert!(text.contains(needle), "`{needle}` missing: {text}");
    }
    render_page_one(&pdf_of(&app, &r.applicant, r.id, &doc).await, "repair_denied");

    // Supplement request: the one-time list; then not accepted.
    let ent_c = app.login("ent_c").await;
    let office = app.login("office").await;
    let list_entry = app.record_id(demo::LIST_ENTRY).await;
    let o = id_of(&app.file(&ent_c, "objection", list_entry).await);
    let items = json!(["营业执照副本复印件", "监测数据复核报告"]);
    let case =
        app.act(&office, o, "request_supplement", json!({"comment": "材料不全", "missing_items": items})).await.ok();
    let notice = case["documents"][0].clone();
    assert_eq!(notice["number"], format!("济高信补〔{y}〕第0001号"));
    let text = pdf_text(&pdf_of(&app, &ent_c, o, &notice).await);
    for needle in ["补正通知书", "一次性告知", "1.营业执照副本复印件", "2.监测数据复核报告", "视为撤回申请"]
    {
        assert!(text.contains(needle), "`{needle}` missing: {text}");
    }
    render_page_one(&pdf_of(&app, &ent_c, o, &notice).await, "supplement_notice");
    app.act(&ent_c, o, "supplement", json!({})).await.ok();
    let case = app.act(&office, o, "reject", json!({"comment": "异议理由与所附证据不符"})).await.ok();
    let refusal = case["documents"][1].clone();
    assert_eq!(refusal["number"], format!("济高信受〔{y}〕第0001号"));
    let text = pdf_text(&pdf_of(&app, &ent_c, o, &refusal).await);
    assert!(
        text.contains("不予受理通知书") && text.contains("决定不予受理") && text.contains("异议理由与所附证据不符"),
        "{text}"
    );
    render_page_one(&pdf_of(&app, &ent_c, o, &refusal).await, "not_accepted");

    // An objection decided with a correction: what changed, before and after.
    let o2 = id_of(&app.file(&ent_c, "objection", list_entry).await);
    app.act(&office, o2, "accept", json!({})).await.ok();
    let sthj = app.login("sthj").await;
    let body = json!({"outcome": "corrected", "comment": "文号录入有误", "correction": {"document_no": "济高环罚〔2025〕41号"}});
    let case = app.act(&sthj, o2, "verify", body).await.ok();
    let result = case["documents"][0].clone();
    assert_eq!(result["number"], format!("济高信异〔{y}〕第0001号"));
    let text = pdf_text(&pdf_of(&app, &ent_c, o2, &result).await);
    for needle in [
        "异议处理结果告知书",
        "处理结果为：更正",
        "决定书文号由",
        "济高环罚〔2025〕40号",
        "济高环罚〔2025〕41号",
        "信息内容有误",
    ] {
        assert!(text.contains(needle), "`{needle}` missing: {text}");
    }
    render_page_one(&pdf_of(&app, &ent_c, o2, &result).await, "objection_result");

    // A repair approved and then revoked: the revocation cites the approval's number.
    // (The correction above changed the list entry's document number.)
    let r2 = app.accepted_repair("ent_c", "济高环罚〔2025〕41号").await;
    let approved = app.act(&r2.officer, r2.id, "approve", json!({})).await.ok();
    let approval = approved["documents"][0]["number"].as_str().unwrap().to_string();
    assert_eq!(approval, format!("济高信修〔{y}〕第0002号"), "one family for approvals and denials");
    let revoked = app.act(&r2.office, r2.id, "revoke", json!({"comment": "履约证明系伪造"})).await.ok();
    let revocation = revoked["documents"][1].clone();
    assert_eq!(revocation["number"], format!("济高信撤〔{y}〕第0001号"));
    let text = pdf_text(&pdf_of(&app, &r2.applicant, r2.id, &revocation).await);
    for needle in ["撤销信用修复决定书", approval.as_str(), "履约证明系伪造", "恢复公示该信息"] {
        assert!(text.contains(needle), "`{needle}` missing: {text}");
    }
    render_page_one(&pdf_of(&app, &r2.applicant, r2.id, &revocation).await, "repair_revoked");

    // Stored once, never regenerated: the bytes served later are the ones issued.
    let again = pdf_of(&app, &r.applicant, r.id, &doc).await;
    assert_eq!(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&again)), doc["sha256"].as_str().unwrap());
    app.assert_records_consistent("after the documents walk").await;
}

/// Concurrent decisions never share a number and leave no gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_decisions_get_distinct_consecutive_numbers() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let dept = app.department_id(&admin, "区生态环境分局").await;
    let subject = app.subject_id(&admin, demo::ENT_A).await;
    let office = app.login("office").await;
    let ent_a = app.login("ent_a").await;
    let sthj = app.login("sthj").await;
    let mut cases = Vec::new();
    for i in 0..8 {
        let body = json!({
            "subject_id": subject, "department_id": dept, "record_type": "administrative_penalty",
            "title": format!("并发测试{i}"), "document_no": format!("并发〔2026〕{i}号"), "severity": "general",
            "decision_date": "2026-04-20",
        });
        let rec = id_of(&app.post("/api/v1/admin/records", &admin, body).await.ok());
        let id = id_of(&app.file(&ent_a, "repair", rec).await);
        for kind in ["fulfilment_proof", "commitment_letter"] {
            assert_eq!(app.upload_pdf(&ent_a, id, kind).await.status.as_u16(), 201);
        }
        app.act(&office, id, "accept", json!({})).await.ok();
        cases.push(id);
    }
    let decisions = cases.iter().enumerate().map(|(i, id)| {
        let action = if i % 2 == 0 { "approve" } else { "deny" };
        app.act(&sthj, *id, action, json!({"comment": "同时办结"}))
    });
    let results = futures_join_all(decisions).await;
    let mut numbers: Vec<String> =
        results.into_iter().map(|r| r.ok()["documents"][0]["number"].as_str().unwrap().to_string()).collect();
    numbers.sort();
    let expected: Vec<String> = (1..=8).map(|n| format!("济高信修〔{}〕第{n:04}号", year())).collect();
    assert_eq!(numbers, expected);
}

async fn futures_join_all<F: std::future::Future>(futs: impl Iterator<Item = F>) -> Vec<F::Output> {
    // Poll them together: spawn-free, all in flight at once.
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futs.map(Box::pin).collect();
    let mut done: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if done[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => done[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    done.into_iter().map(|v| v.unwrap()).collect()
}
