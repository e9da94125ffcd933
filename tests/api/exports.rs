//! Exports: the lists as spreadsheets, with the list's filters and scope.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use serde_json::json;

use crate::helpers::*;

pub(crate) async fn fetch(app: &TestApp, token: &str, path: &str) -> (u16, String, Vec<u8>) {
    let res = app.client.get(app.url(path)).bearer_auth(token).send().await.unwrap();
    let status = res.status().as_u16();
    let ct = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    (status, ct, res.bytes().await.unwrap().to_vec())
}

/// The first sheet's rows as text cells (dates as `date:YYYY-MM-DD`).
pub(crate) fn sheet(bytes: Vec<u8>) -> Vec<Vec<String>> {
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).expect("a workbook");
    let name = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&name).expect("the sheet");
    range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::DateTime(d) => {
                        // Excel's day count from 1899-12-30.
                        let day = chrono::NaiveDate::from_ymd_opt(1899, 12, 30).unwrap()
                            + chrono::Duration::days(d.as_f64() as i64);
                        format!("date:{day}")
                    }
                    Data::Float(f) => f.to_string(),
                    Data::Int(i) => i.to_string(),
                    Data::String(s) => s.clone(),
                    Data::Empty => String::new(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_exports_follow_the_lists_filters_and_scope() {
    let app = spawn().await;
    let r = app.accepted_repair("ent_a", demo::REPAIRABLE).await;
    let ent_c = app.login("ent_c").await;
    let objection = id_of(&app.file(&ent_c, "objection", app.record_id(demo::LIST_ENTRY).await).await);
    let office = r.office.clone();

    // The credit office, repairs only: one row, as in the list.
    let (status, ct, bytes) = fetch(&app, &office, "/api/v1/cases/export?format=xlsx&kind=repair").await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("application/vnd.openxmlformats"), "{ct}");
    let rows = sheet(bytes);
    assert_eq!(rows[0][0], "案件清单");
    assert!(rows[1][0].contains("类型=repair"), "{:?}", rows[1]);
    assert!(rows[2][0].starts_with("生成时间："), "{:?}", rows[2]);
    assert_eq!(rows[3][0], "案件编号");
    assert_eq!(rows[3][4], "统一社会信用代码");
    let data: Vec<&Vec<String>> = rows.iter().skip(4).collect();
    let list = app.get("/api/v1/cases?kind=repair", &office).await.ok();
    assert_eq!(data.len() as u64, list["total"].as_u64().unwrap());
    let row = data[0];
    assert_eq!(row[0], list["items"][0]["case_no"].as_str().unwrap());
    assert_eq!(row[1], "信用修复申请");
    assert_eq!(row[3], "泉城示例建材有限公司");
    assert_eq!(row[4], demo::ENT_A);
    assert!(row[6].starts_with("date:"), "received is a date: {row:?}");
    assert!(row[7].starts_with("date:"), "due is a date: {row:?}");

    // All cases for the office; the department only what is routed to it; the applicant only its own.
    let all = sheet(fetch(&app, &office, "/api/v1/cases/export?format=xlsx").await.2);
    assert_eq!(all.len() - 4, 2);
    let dept = sheet(fetch(&app, &r.officer, "/api/v1/cases/export?format=xlsx").await.2);
    assert_eq!(dept.len() - 4, 1, "{dept:?}");
    let mine = sheet(fetch(&app, &ent_c, "/api/v1/cases/export?format=xlsx").await.2);
    assert_eq!(mine.len() - 4, 1);
    assert_eq!(mine[4][0], app.case(&ent_c, objection).await["case_no"].as_str().unwrap());

    // CSV: a BOM, the header, the same rows.
    let (status, ct, bytes) = fetch(&app, &office, "/api/v1/cases/export?format=csv").await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/csv"), "{ct}");
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("案件编号,申请类型,当前状态"), "{}", lines[0]);
    assert_eq!(lines.len(), 3, "{text}");
    // Bad input: a clear 422, not a file.
    let (status, _, body) = fetch(&app, &office, "/api/v1/cases/export?format=pdf").await;
    assert_eq!(status, 422, "{}", String::from_utf8_lossy(&body));
    let (status, _, _) = fetch(&app, &office, "/api/v1/cases/export?format=xlsx&kind=other").await;
    assert_eq!(status, 422);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_exports_and_the_statistics_workbook() {
    let app = spawn().await;
    let office = app.login("office").await;
    let list = app.get("/api/v1/records?publication_status=published", &office).await.ok();
    let (status, _, bytes) =
        fetch(&app, &office, "/api/v1/records/export?format=xlsx&publication_status=published").await;
    assert_eq!(status, 200);
    let rows = sheet(bytes);
    assert_eq!(rows[0][0], "信用信息清单");
    assert_eq!(rows[3][1], "决定书文号");
    assert_eq!(rows.len() as u64 - 4, list["total"].as_u64().unwrap());
    assert!(rows.iter().skip(4).all(|r| r[6] == "公示中"), "{rows:?}");
    // An applicant's export holds only its own subject's records.
    let ent_a = app.login("ent_a").await;
    let mine = sheet(fetch(&app, &ent_a, "/api/v1/records/export?format=xlsx").await.2);
    assert!(mine.iter().skip(4).all(|r| r[3] == demo::ENT_A), "{mine:?}");

    // A decided repair shows in the period's statistics with its handling time.
    let r = app.accepted_repair("ent_a", demo::REPAIRABLE).await;
    app.act(&r.officer, r.id, "approve", json!({})).await.ok();
    let (status, _, bytes) = fetch(&app, &office, "/api/v1/reports/statistics?format=xlsx").await;
    assert_eq!(status, 200);
    let rows = sheet(bytes);
    assert_eq!(rows[0][0], "信用修复与异议办理统计");
    assert_eq!(rows[3][0], "部门");
    let sthj = rows.iter().find(|r| r[0] == "区生态环境分局" && r[1] == "信用修复申请").expect("the department's row");
    assert_eq!(sthj[4], "1", "decided: {sthj:?}");
    assert_eq!(sthj[5], "1", "within the legal deadline: {sthj:?}");
    assert_eq!(sthj[7], "0", "same-day handling: {sthj:?}");
    // Only staff.
    let (status, _, _) = fetch(&app, &ent_a, "/api/v1/reports/statistics?format=xlsx").await;
    assert!(status == 403 || status == 404, "{status}");
}
