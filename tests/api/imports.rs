//! Bulk import over HTTP: a department's workbook checked, refused for bad
//! rows (nothing written, every bad row named, the annotated workbook),
//! applied, uploaded again (nothing changes), changed (the record is updated
//! and its history says by which import); CSV files, scope and partial
//! imports.

use calamine::{Data, Reader, Xlsx};
use credit_repair::domain::uscc::Uscc;
use rust_xlsxwriter::{ExcelDateTime, Workbook};
use serde_json::Value;
use sha2::Digest;

use crate::helpers::{Resp, TestApp, send, spawn};

const RECORD_HEADERS: [&str; 9] = [
    "统一社会信用代码",
    "主体名称",
    "信息类型",
    "信息名称",
    "处罚内容",
    "失信程度",
    "决定书文号",
    "决定日期",
    "失信行为终止日期",
];

/// A valid USCC numbered `n`.
fn uscc(n: u32) -> String {
    let first = format!("91370100MA{n:07}");
    let check = Uscc::expected_check_char(&first).expect("valid first 17");
    format!("{first}{check}")
}

/// A cell: text, or a date written as a real date cell.
enum C<'a> {
    T(&'a str),
    D(u16, u8, u8),
}

/// A row of text cells.
fn texts<'a>(cells: [&'a str; 9]) -> Vec<C<'a>> {
    cells.into_iter().map(C::T).collect()
}

/// One sheet: its name, header and rows.
type Sheet<'a> = (&'a str, &'a [&'a str], Vec<Vec<C<'a>>>);

/// A workbook of sheets.
fn workbook(sheets: &[Sheet]) -> Vec<u8> {
    let mut book = Workbook::new();
    for (name, headers, rows) in sheets {
        let ws = book.add_worksheet();
        ws.set_name(*name).unwrap();
        for (i, h) in headers.iter().enumerate() {
            ws.write_string(0, i as u16, *h).unwrap();
        }
        for (r, row) in rows.iter().enumerate() {
            for (i, c) in row.iter().enumerate() {
                match c {
                    C::T("") => {}
                    C::T(s) => {
                        ws.write_string(r as u32 + 1, i as u16, *s).unwrap();
                    }
                    C::D(y, m, d) => {
                        let f = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
                        let x = ExcelDateTime::from_ymd(*y, *m, *d).unwrap();
                        ws.write_datetime_with_format(r as u32 + 1, i as u16, &x, &f).unwrap();
                    }
                }
            }
        }
    }
    book.save_to_buffer().unwrap()
}

async fn upload(app: &TestApp, token: &str, file: (&str, Vec<u8>), fields: &[(&str, &str)]) -> Resp {
    let mut form = reqwest::multipart::Form::new();
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    let part = reqwest::multipart::Part::bytes(file.1).file_name(file.0.to_string());
    form = form.part("file", part);
    send(app.client.post(app.url("/api/v1/imports")).bearer_auth(token).multipart(form)).await
}

async fn download(app: &TestApp, token: &str, path: &str) -> Vec<u8> {
    let res = app.client.get(app.url(path)).bearer_auth(token).send().await.unwrap();
    assert_eq!(res.status(), 200, "{path}");
    res.bytes().await.unwrap().to_vec()
}

/// The records of a department officer's scope with this document number.
async fn records_with(app: &TestApp, token: &str, doc: &str) -> Vec<Value> {
    let list = app.get("/api/v1/records?per_page=100", token).await.ok();
    list["items"].as_array().unwrap().iter().filter(|r| r["document_no"] == doc).cloned().collect()
}

/// (sheet, row, column, code) of each error, sorted.
fn where_(report: &Value) -> Vec<(String, u64, String, String)> {
    let mut v: Vec<_> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["sheet"].as_str().unwrap().to_string(),
                e["row"].as_u64().unwrap(),
                e["column"].as_str().unwrap().to_string(),
                e["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn s(x: &str) -> String {
    x.to_string()
}

#[tokio::test]
async fn a_workbook_is_checked_refused_applied_repeated_and_updated() {
    let app = spawn().await;
    let sthj = app.login("sthj").await;
    let new_code = uscc(1);
    let ent_a = "91350100M000100Y43";

    // The template names the three sheets and explains them.
    let template = download(&app, &sthj, "/api/v1/imports/template").await;
    let book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(template)).unwrap();
    assert_eq!(book.sheet_names(), ["信用信息", "惩戒措施", "名单", "填写说明"]);

    let good_records = || {
        vec![
            vec![
                C::T(&new_code),
                C::T("济南示例化工有限公司"),
                C::T("行政处罚"),
                C::T("超标排放大气污染物"),
                C::T("罚款十万元"),
                C::T("一般"),
                C::T("济环罚〔2026〕101号"),
                C::D(2026, 6, 15),
                C::T(""),
            ],
            texts([
                ent_a,
                "泉城示例建材有限公司",
                "administrative_penalty",
                "未批先建",
                "",
                "轻微",
                "济环罚〔2026〕102号",
                "2026/7/1",
                "",
            ]),
            // Decided long ago: its window is over, so it starts ended.
            texts([
                ent_a,
                "泉城示例建材有限公司",
                "行政处罚",
                "旧案",
                "",
                "一般失信",
                "济环罚〔2021〕7号",
                "2021-03-01",
                "",
            ]),
        ]
    };
    let sanction_headers: &[&str] = &["决定书文号", "惩戒措施", "开始日期"];
    let list_headers: &[&str] = &["决定书文号", "名单名称", "列入日期"];
    let good_sanctions = || vec![vec![C::T("济环罚〔2026〕101号"), C::T("限制参与政府采购活动"), C::T("")]];
    let good_lists = || vec![vec![C::T("济环罚〔2026〕101号"), C::T("重点监管名单"), C::T("2026-06-20")]];

    // Bad rows: a wrong check digit (row 5), a future date (row 6), an
    // unknown severity and a repeated document number (row 7); a sanction
    // naming an unknown measure (row 3) and one naming the ended record
    // (row 4).
    let mut bad_code = new_code.clone();
    bad_code.pop();
    bad_code.push(if new_code.ends_with('0') { '1' } else { '0' });
    let mut records = good_records();
    records.push(texts([&bad_code, "某公司", "行政处罚", "x", "", "一般", "济环罚〔2026〕201号", "2026-05-01", ""]));
    records.push(texts([
        ent_a,
        "泉城示例建材有限公司",
        "行政处罚",
        "x",
        "",
        "一般",
        "济环罚〔2026〕202号",
        "2099-01-01",
        "",
    ]));
    records.push(texts([
        ent_a,
        "泉城示例建材有限公司",
        "行政处罚",
        "x",
        "",
        "很严重",
        "济环罚〔2026〕101号",
        "2026-05-01",
        "",
    ]));
    let mut sanctions = good_sanctions();
    sanctions.push(vec![C::T("济环罚〔2026〕101号"), C::T("吊销执照"), C::T("")]);
    sanctions.push(vec![C::T("济环罚〔2021〕7号"), C::T("限制参与政府采购活动"), C::T("")]);
    let bad_file = workbook(&[
        ("信用信息", &RECORD_HEADERS, records),
        ("惩戒措施", sanction_headers, sanctions),
        ("名单", list_headers, good_lists()),
    ]);

    // Checked: every bad row named, nothing written.
    let checked = upload(&app, &sthj, ("环境处罚.xlsx", bad_file.clone()), &[("mode", "check")]).await;
    assert_eq!(checked.status, 200, "{}", checked.body);
    let checked = checked.body;
    assert_eq!(checked["outcome"], "checked");
    assert_eq!(checked["rows"], 10);
    let expected = vec![
        (s("信用信息"), 5, s("统一社会信用代码"), s("uscc_check_digit")),
        (s("信用信息"), 6, s("决定日期"), s("in_future")),
        (s("信用信息"), 7, s("失信程度"), s("invalid_value")),
        (s("惩戒措施"), 3, s("惩戒措施"), s("not_found")),
        (s("惩戒措施"), 4, s("决定书文号"), s("record_ended")),
    ];
    let got = where_(&checked);
    assert_eq!(got, expected);
    assert_eq!(checked["records_created"], 3);
    assert_eq!(checked["subjects_created"], 1);
    assert!(records_with(&app, &sthj, "济环罚〔2026〕101号").await.is_empty());

    // Applied with bad rows: refused, nothing written, the same report.
    let refused = upload(&app, &sthj, ("环境处罚.xlsx", bad_file.clone()), &[("mode", "apply")]).await;
    let body = refused.expect(422, "import_rejected");
    let report = &body["details"];
    assert_eq!(report["outcome"], "rejected");
    assert_eq!(where_(report), got);
    assert_eq!(report["records_created"], 0);
    assert!(records_with(&app, &sthj, "济环罚〔2026〕101号").await.is_empty());
    let admin = app.login("admin").await;
    let subjects = app.get("/api/v1/admin/subjects", &admin).await.ok();
    assert!(!subjects.as_array().unwrap().iter().any(|s| s["code"] == new_code.as_str()), "no subject written");

    // The annotated workbook marks the bad rows.
    let annotated = download(&app, &sthj, report["annotated_url"].as_str().unwrap()).await;
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(annotated)).unwrap();
    let sheet = book.worksheet_range("信用信息").unwrap();
    let result_col = RECORD_HEADERS.len();
    let cell = |r: usize| sheet.get((r, result_col)).map(|c: &Data| c.to_string()).unwrap_or_default();
    assert_eq!(cell(0), "校验结果");
    assert_eq!(cell(1), "", "a good row has no remark");
    assert!(cell(4).contains("统一社会信用代码"), "{}", cell(4));
    assert!(cell(5).contains("决定日期"), "{}", cell(5));
    let sheet = book.worksheet_range("惩戒措施").unwrap();
    assert!(sheet.get((2, 3)).map(|c: &Data| c.to_string()).unwrap_or_default().contains("吊销执照"));

    // The good rows alone: applied.
    let good_file = workbook(&[
        ("信用信息", &RECORD_HEADERS, good_records()),
        ("惩戒措施", sanction_headers, good_sanctions()),
        ("名单", list_headers, good_lists()),
    ]);
    let applied = upload(&app, &sthj, ("环境处罚.xlsx", good_file.clone()), &[("mode", "apply")]).await;
    assert_eq!(applied.status, 201, "{}", applied.body);
    let applied = applied.body;
    assert_eq!(applied["outcome"], "applied");
    assert_eq!(applied["error_count"], 0);
    assert_eq!(
        (
            &applied["records_created"],
            &applied["subjects_created"],
            &applied["sanctions_added"],
            &applied["list_entries_added"]
        ),
        (&Value::from(3), &Value::from(1), &Value::from(1), &Value::from(1))
    );
    assert_eq!(applied["sha256"], hex::encode(sha2::Sha256::digest(&good_file)));
    app.assert_records_consistent("after the import").await;

    let first = records_with(&app, &sthj, "济环罚〔2026〕101号").await;
    assert_eq!(first.len(), 1);
    let r = &first[0];
    assert_eq!(r["subject_code"], new_code.as_str());
    assert_eq!(r["subject_name"], "济南示例化工有限公司");
    assert_eq!(r["decision_date"], "2026-06-15", "a date cell is read as its date");
    assert_eq!(r["regime"], "current");
    assert_eq!(r["publication_status"], "published");
    assert_eq!(r["sanctions"].as_array().unwrap().len(), 1);
    assert_eq!(r["lists"][0]["list_name"], "重点监管名单");
    let old = &records_with(&app, &sthj, "济环罚〔2021〕7号").await[0];
    assert_eq!(old["publication_status"], "ended");
    assert_eq!(old["regime"], "legacy527");
    let id = r["id"].as_i64().unwrap();
    let history = app.get(&format!("/api/v1/records/{id}/history"), &sthj).await.ok();
    let created = history["events"].as_array().unwrap().iter().find(|e| e["action"] == "record_created").unwrap();
    assert_eq!(created["detail"]["import_id"], applied["id"]);
    assert_eq!(created["detail"]["sha256"], applied["sha256"]);
    assert_eq!(created["detail"]["row"], 2);

    // The same file again changes nothing.
    let again = upload(&app, &sthj, ("环境处罚.xlsx", good_file), &[("mode", "apply")]).await.ok();
    assert_eq!(
        (
            &again["records_created"],
            &again["records_unchanged"],
            &again["sanctions_added"],
            &again["list_entries_added"]
        ),
        (&Value::from(0), &Value::from(3), &Value::from(0), &Value::from(0))
    );
    let same = &records_with(&app, &sthj, "济环罚〔2026〕101号").await[0];
    assert_eq!(same["version"], r["version"]);
    assert_eq!(same["sanctions"].as_array().unwrap().len(), 1);

    // A changed row updates the record, and its history names the import.
    let mut changed = good_records();
    changed[0][3] = C::T("超标排放大气污染物（更正）");
    changed[0][5] = C::T("严重");
    let changed = workbook(&[("信用信息", &RECORD_HEADERS, changed)]);
    let update = upload(&app, &sthj, ("更正.xlsx", changed), &[("mode", "apply")]).await.ok();
    assert_eq!((&update["records_updated"], &update["records_unchanged"]), (&Value::from(1), &Value::from(2)));
    let now = &records_with(&app, &sthj, "济环罚〔2026〕101号").await[0];
    assert_eq!(now["title"], "超标排放大气污染物（更正）");
    assert_eq!(now["severity"], "serious");
    assert_ne!(now["publication_ends"], r["publication_ends"], "the window follows the severity");
    let history = app.get(&format!("/api/v1/records/{id}/history"), &sthj).await.ok();
    let updated = history["events"].as_array().unwrap().iter().find(|e| e["action"] == "record_updated").unwrap();
    assert_eq!(updated["detail"]["source"]["import_id"], update["id"]);
    assert_eq!(updated["detail"]["before"]["severity"], "general");
    app.assert_records_consistent("after the update").await;

    // The imports are listed for the department, newest first.
    let list = app.get("/api/v1/imports", &sthj).await.ok();
    let outcomes: Vec<&str> = list.as_array().unwrap().iter().map(|i| i["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["applied", "applied", "applied", "rejected", "checked"]);
}

#[tokio::test]
async fn csv_files_partial_imports_and_who_may_import() {
    let app = spawn().await;
    let sthj = app.login("sthj").await;
    let yjgl = app.login("yjgl").await;
    let admin = app.login("admin").await;
    let ent_a = app.login("ent_a").await;
    let code = uscc(2);

    let csv = format!(
        "\u{feff}统一社会信用代码,主体名称,信息类型,信息名称,失信程度,决定书文号,决定日期\n\
         {code},历城示例物流有限公司,行政处罚,超载运输,一般,济环罚〔2026〕301号,2026-08-03\n\
         {code},历城示例物流有限公司,行政处罚,,一般,济环罚〔2026〕302号,2026-08-04\n\
         {code},历城示例物流有限公司,行政处罚,超载运输,一般,济环罚〔2026〕301号,2026-08-03\n"
    );
    // Partial: the good row is written, the bad one (no title) is reported.
    let partial =
        upload(&app, &sthj, ("records.csv", csv.clone().into_bytes()), &[("mode", "apply"), ("partial", "true")]).await;
    assert_eq!(partial.status, 201, "{}", partial.body);
    let partial = partial.body;
    assert_eq!(partial["format"], "csv");
    assert_eq!(partial["outcome"], "applied");
    assert_eq!(partial["records_created"], 1);
    assert_eq!(
        where_(&partial),
        [(s("信用信息"), 3, s("信息名称"), s("required")), (s("信用信息"), 4, s("决定书文号"), s("duplicate_in_file"))]
    );
    assert_eq!(records_with(&app, &sthj, "济环罚〔2026〕301号").await.len(), 1);
    assert!(records_with(&app, &sthj, "济环罚〔2026〕302号").await.is_empty());

    // A CSV of sanctions names a record already here.
    let sanctions = "决定书文号,惩戒措施\n济环罚〔2026〕301号,限制参加评优评先\n济环罚〔2026〕999号,限制参加评优评先\n";
    let refused = upload(&app, &sthj, ("sanctions.csv", sanctions.into()), &[("mode", "apply")]).await;
    let body = refused.expect(422, "import_rejected");
    assert_eq!(where_(&body["details"]), [(s("惩戒措施"), 3, s("决定书文号"), s("record_not_found"))]);
    let sanctions = "决定书文号,惩戒措施\n济环罚〔2026〕301号,限制参加评优评先\n";
    let ok = upload(&app, &sthj, ("sanctions.csv", sanctions.into()), &[("mode", "apply")]).await.ok();
    assert_eq!(ok["sanctions_added"], 1);
    let rec = &records_with(&app, &sthj, "济环罚〔2026〕301号").await[0];
    assert_eq!(rec["sanctions"].as_array().unwrap().len(), 1);

    // Another department does not see the import, nor may name sthj.
    let id = partial["id"].as_i64().unwrap();
    app.get(&format!("/api/v1/imports/{id}"), &yjgl).await.expect(404, "not_found");
    let sthj_id = app.department_id(&admin, "区生态环境分局").await;
    let other = upload(
        &app,
        &yjgl,
        ("records.csv", csv.clone().into_bytes()),
        &[("mode", "check"), ("department_id", &sthj_id.to_string())],
    )
    .await;
    other.expect(422, "validation_failed");
    // Applicants may not import; administrators must name the department.
    upload(&app, &ent_a, ("records.csv", csv.clone().into_bytes()), &[]).await.expect(403, "forbidden");
    let no_dept = upload(&app, &admin, ("records.csv", csv.clone().into_bytes()), &[]).await;
    assert_eq!(no_dept.expect(422, "validation_failed")["fields"][0]["field"], "department_id");
    let by_admin = upload(
        &app,
        &admin,
        ("records.csv", csv.into_bytes()),
        &[("mode", "check"), ("department_id", &sthj_id.to_string())],
    )
    .await
    .ok();
    assert_eq!((&by_admin["records_unchanged"], &by_admin["error_count"]), (&Value::from(1), &Value::from(2)));

    // Not a file of any known layout; not a file at all; a bad mode.
    let junk = upload(&app, &sthj, ("x.csv", "a,b\n1,2\n".into()), &[]).await.ok();
    assert_eq!(junk["errors"][0]["code"], "invalid_file");
    let broken = upload(&app, &sthj, ("x.xlsx", b"PK\x03\x04broken".to_vec()), &[]).await;
    broken.expect(422, "unreadable_file");
    upload(&app, &sthj, ("x.csv", "a".into()), &[("mode", "maybe")]).await.expect(422, "validation_failed");
    let form = reqwest::multipart::Form::new().text("mode", "check");
    send(app.client.post(app.url("/api/v1/imports")).bearer_auth(&sthj).multipart(form))
        .await
        .expect(422, "validation_failed");
    app.assert_records_consistent("after the imports").await;
}
