//! Administration over HTTP: the measure catalogue, departments, subjects
//! (natural persons included), records with their sanctions and list entries.

use serde_json::{Value, json};

use crate::helpers::*;

/// A valid GB 11643 resident ID for 17 digits (the check character computed
/// here, independently of the server).
fn resident_id(first17: &str) -> String {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17.chars().zip(W).map(|(c, w)| c.to_digit(10).unwrap() * w).sum();
    format!("{first17}{}", "10X98765432".chars().nth((sum % 11) as usize).unwrap())
}

/// Asserts a 422 naming `field` with `code`.
#[track_caller]
fn field_error(res: Resp, field: &str, code: &str) -> Value {
    let body = res.expect(422, "validation_failed");
    let fields = body["fields"].as_array().unwrap_or_else(|| panic!("fields missing: {body}"));
    assert!(fields.iter().any(|f| f["field"] == field && f["code"] == code), "expected {field}/{code}: {body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn measures_are_managed_and_a_used_one_cannot_be_deleted() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let m =
        json!({"name": "限制乘坐飞机", "legal_basis": "《测试依据》第一条", "implementing_department": "区交通运输局"});
    let created = app.post("/api/v1/admin/measures", &admin, m.clone()).await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    let id = id_of(&created.body);
    app.post("/api/v1/admin/measures", &admin, m).await.expect(409, "measure_name_taken");
    field_error(app.post("/api/v1/admin/measures", &admin, json!({"name": "无依据"})).await, "legal_basis", "required");

    let updated = app.patch(&format!("/api/v1/admin/measures/{id}"), &admin, json!({"name": "限制乘坐民航飞机"})).await;
    assert_eq!(updated.ok()["name"], "限制乘坐民航飞机");
    let list = app.get("/api/v1/admin/measures", &admin).await.ok();
    assert!(list.as_array().unwrap().iter().any(|x| x["id"] == id && x["name"] == "限制乘坐民航飞机"), "{list}");

    // Unused: deleted. In use (a demo sanction uses the first measure): refused.
    assert_eq!(app.delete(&format!("/api/v1/admin/measures/{id}"), &admin).await.status.as_u16(), 204);
    app.delete(&format!("/api/v1/admin/measures/{id}"), &admin).await.expect(404, "not_found");
    let first = id_of(&list[0]);
    app.delete(&format!("/api/v1/admin/measures/{first}"), &admin).await.expect(409, "measure_in_use");

    let office = app.login("office").await;
    app.get("/api/v1/admin/measures", &office).await.expect(403, "forbidden");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn departments_are_created_and_updated() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let body = json!({"code": "JTYS", "name": "区交通运输局", "email": "jtys@credit.local"});
    let created = app.post("/api/v1/admin/departments", &admin, body.clone()).await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    assert_eq!(created.body["kind"], "producing", "the default kind");
    let id = id_of(&created.body);
    app.post("/api/v1/admin/departments", &admin, body).await.expect(409, "department_code_taken");
    field_error(
        app.post("/api/v1/admin/departments", &admin, json!({"code": "X1", "name": "x", "kind": "ministry"})).await,
        "kind",
        "invalid_value",
    );

    let path = format!("/api/v1/admin/departments/{id}");
    let d = app.patch(&path, &admin, json!({"name": "区交通运输局（新）", "email": "new@credit.local"})).await.ok();
    assert_eq!(d["name"], "区交通运输局（新）");
    assert_eq!(d["email"], "new@credit.local");
    field_error(app.patch(&path, &admin, json!({"kind": "credit_office"})).await, "kind", "immutable");
    field_error(app.patch(&path, &admin, json!({"email": "not an address"})).await, "email", "invalid_email");
    assert_eq!(app.department_id(&admin, "区交通运输局（新）").await, id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subjects_are_renamed_but_code_and_kind_stay() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let id = app.subject_id(&admin, demo::ENT_A).await;
    let path = format!("/api/v1/admin/subjects/{id}");
    let s = app.patch(&path, &admin, json!({"name": "甲公司（更名）"})).await.ok();
    assert_eq!(s["name"], "甲公司（更名）");
    assert_eq!(s["code"], demo::ENT_A);
    let list = app.get("/api/v1/admin/subjects", &admin).await.ok();
    assert!(list.as_array().unwrap().iter().any(|x| x["id"] == id && x["name"] == "甲公司（更名）"), "{list}");
    field_error(app.patch(&path, &admin, json!({"code": demo::ENT_B})).await, "code", "immutable");
    field_error(app.patch(&path, &admin, json!({"kind": "natural_person"})).await, "code", "immutable");
    app.patch("/api/v1/admin/subjects/999999", &admin, json!({"name": "x"})).await.expect(404, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn natural_persons_are_registered_by_resident_id_and_never_public() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let good = resident_id("37010219900101123");
    let person = |code: &str, over: bool| json!({"code": code, "name": "张三", "kind": "natural_person", "override_check": over});
    let created = app.post("/api/v1/admin/subjects", &admin, person(&good, false)).await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    assert_eq!(created.body["check_overridden"], false);

    // A wrong check character: refused, unless overridden.
    let last = good.chars().last().unwrap();
    let wrong = format!("{}{}", &good[..17], if last == '1' { '2' } else { '1' });
    field_error(app.post("/api/v1/admin/subjects", &admin, person(&wrong, false)).await, "code", "id_check_digit");
    let over = app.post("/api/v1/admin/subjects", &admin, person(&wrong, true)).await;
    assert_eq!(over.status.as_u16(), 201, "{}", over.body);
    assert_eq!(over.body["check_overridden"], true);

    // A Chinese character where a digit or X belongs: a clear 422, never a 500.
    for code in ["37010219900101123号", "370102199001011号"] {
        for override_check in [false, true] {
            let res = app.post("/api/v1/admin/subjects", &admin, person(code, override_check)).await;
            assert_eq!(res.status.as_u16(), 422, "{code}: {}", res.body);
            assert_eq!(res.body["fields"][0]["field"], "code", "{}", res.body);
        }
    }

    // The demo natural person's record is published to nobody.
    let items = app.public_items(demo::PERSON).await;
    assert!(items.is_empty(), "{items:?}");
    let created_items = app.public_items(&good).await;
    assert!(created_items.is_empty(), "{created_items:?}");

    // A person's new record starts not published (不予公示); asking to publish it is refused.
    let subject = id_of(&created.body);
    let dept = app.department_id(&admin, "区市场监督管理局").await;
    let record = |doc: &str, status: Option<&str>| {
        let mut b = json!({
            "subject_id": subject, "department_id": dept, "record_type": "administrative_penalty",
            "title": "无证经营", "content": "内容", "document_no": doc,
            "regime": "current", "severity": "general", "decision_date": "2026-10-01",
        });
        if let Some(s) = status {
            b["publication_status"] = json!(s);
        }
        b
    };
    let made = app.post("/api/v1/admin/records", &admin, record("自然人〔2026〕1号", None)).await;
    assert_eq!(made.status.as_u16(), 201, "{}", made.body);
    assert_eq!(made.body["publication_status"], "not_published", "{}", made.body);
    assert_eq!(made.body["display_category"], "不予公示", "{}", made.body);
    let refused = app.post("/api/v1/admin/records", &admin, record("自然人〔2026〕2号", Some("published"))).await;
    field_error(refused, "publication_status", "natural_person_not_published");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sanctions_and_list_entries_added_by_an_administrator() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let office = app.login("office").await;
    let record_id = app.record_id(demo::TOO_EARLY).await;
    let before = app.record(&office, record_id).await;
    let measures = app.get("/api/v1/admin/measures", &admin).await.ok();
    let measure = id_of(&measures[1]);

    let path = format!("/api/v1/admin/records/{record_id}/sanctions");
    let r = app.post(&path, &admin, json!({"measure_id": measure})).await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    let sanctions = r.body["sanctions"].as_array().unwrap();
    assert_eq!(sanctions.len(), before["sanctions"].as_array().unwrap().len() + 1);
    let added = sanctions.iter().find(|s| s["measure_id"] == measure).expect("added sanction");
    assert_eq!(added["status"], "active");
    assert_eq!(added["started_on"], before["decision_date"], "starts on the decision date by default");
    field_error(app.post(&path, &admin, json!({"measure_id": 999999})).await, "measure_id", "not_found");

    let lists = format!("/api/v1/admin/records/{record_id}/lists");
    let r = app.post(&lists, &admin, json!({"list_name": "严重失信主体名单", "listed_on": "2026-01-05"})).await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    let entry = &r.body["lists"].as_array().unwrap()[0];
    assert_eq!(entry["list_name"], "严重失信主体名单");
    assert_eq!(entry["status"], "active");
    assert_eq!(entry["listed_on"], "2026-01-05");
    field_error(app.post(&lists, &admin, json!({"list_name": "  "})).await, "list_name", "required");
    app.post("/api/v1/admin/records/999999/lists", &admin, json!({"list_name": "x"})).await.expect(404, "not_found");

    // Both show in the record's history, with who added them.
    let history = app.get(&format!("/api/v1/records/{record_id}/history"), &office).await.ok();
    let actions: Vec<&str> =
        history["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains(&"sanction_added") && actions.contains(&"list_entry_added"), "{history}");
    assert!(history["events"].as_array().unwrap().iter().all(|e| e["actor_role"] == "admin"), "{history}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_update_rederives_its_window_and_refuses_a_stale_version() {
    let app = spawn().await;
    let admin = app.login("admin").await;
    let subject = app.subject_id(&admin, demo::ENT_B).await;
    let dept = app.department_id(&admin, "区市场监督管理局").await;
    let body = json!({
        "subject_id": subject, "department_id": dept, "record_type": "administrative_penalty",
        "title": "更新测试", "content": "内容", "document_no": "更新测试〔2025〕1号",
        "regime": "order58", "severity": "general", "decision_date": "2025-11-30",
    });
    let created = app.post("/api/v1/admin/records", &admin, body).await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    let r = created.body;
    let id = id_of(&r);
    assert_eq!(r["repairable_from"], "2026-03-01");
    assert_eq!(r["publication_ends"], "2028-11-30");
    let version = r["version"].as_i64().unwrap();
    let path = format!("/api/v1/admin/records/{id}");

    field_error(app.patch(&path, &admin, json!({"title": "无版本"})).await, "version", "required");

    // 一般 → 严重 on the same decision date: 1 year to repair, 3 years published.
    let patch = json!({"version": version, "severity": "serious", "title": "更新后的名称"});
    let updated = app.patch(&path, &admin, patch.clone()).await.ok();
    assert_eq!(updated["version"].as_i64(), Some(version + 1));
    assert_eq!(updated["severity"], "serious");
    assert_eq!(updated["title"], "更新后的名称");
    assert_eq!(updated["repairable_from"], "2026-12-01");
    assert_eq!(updated["publication_ends"], "2028-11-30");
    assert_eq!(updated["display_category"], "公示满1年可修复");

    // The same change again on the old version: someone else changed it meanwhile.
    app.patch(&path, &admin, patch).await.expect(409, "stale_version");
    let history = app.get(&format!("/api/v1/records/{id}/history"), &admin).await.ok();
    let updates: Vec<&Value> =
        history["events"].as_array().unwrap().iter().filter(|e| e["action"] == "record_updated").collect();
    assert_eq!(updates.len(), 1, "{history}");
    assert_eq!(updates[0]["detail"]["before"]["severity"], "general", "{history}");
}
