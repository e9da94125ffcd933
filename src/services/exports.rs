//! Exports of the lists an office filters (cases, records) and the
//! statistics workbook, as `.xlsx` (rust_xlsxwriter, rows streamed to disk in
//! constant-memory mode) or CSV: Chinese headers, dates as dates, the filter
//! and the generation time on the sheet, a frozen header row, fitting column
//! widths. The rows come from the same filters and scope as the lists, read
//! in batches, so memory stays bounded whatever the size.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rust_xlsxwriter::{ExcelDateTime, Format, FormatAlign, Workbook, Worksheet};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::services::cases::view::{CaseFilter, filtered};
use crate::services::records::{self, RecordFilter};
use crate::state::AppState;
use entity::types::CaseKind;
use entity::{department, subject};

/// Rows read per database round trip.
const BATCH: u64 = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Xlsx,
}

impl ExportFormat {
    pub fn parse(s: &str) -> ApiResult<ExportFormat> {
        match s {
            "csv" => Ok(ExportFormat::Csv),
            "xlsx" => Ok(ExportFormat::Xlsx),
            _ => Err(ApiError::field("format", "invalid_value", "导出格式须为 xlsx 或 csv")),
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
    fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Xlsx => "xlsx",
        }
    }
}

/// A finished export.
pub struct Export {
    pub file_name: String,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

/// One cell.
enum Cell {
    Text(String),
    Date(Option<NaiveDate>),
    Num(Option<f64>),
}

fn xl_err(e: rust_xlsxwriter::XlsxError) -> ApiError {
    anyhow::anyhow!("xlsx: {e}").into()
}

/// Writes one table row by row to CSV or to an xlsx sheet.
struct TableWriter {
    format: ExportFormat,
    csv: Option<csv::Writer<Vec<u8>>>,
    book: Option<Workbook>,
    row: u32,
    date: Format,
}

impl TableWriter {
    /// Starts a table: for xlsx the title, filter and time lines, then the
    /// bold header row (frozen); for CSV the header row (with a BOM so
    /// spreadsheet programs read the Chinese right).
    fn new(
        format: ExportFormat,
        sheet: &str,
        title: &str,
        filter: &str,
        generated: DateTime<Utc>,
        headers: &[(&str, f64)],
    ) -> ApiResult<TableWriter> {
        let date = Format::new().set_num_format("yyyy-mm-dd").set_align(FormatAlign::Left);
        match format {
            ExportFormat::Csv => {
                let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
                w.write_record(headers.iter().map(|(h, _)| *h)).map_err(anyhow::Error::from)?;
                Ok(TableWriter { format, csv: Some(w), book: None, row: 1, date })
            }
            ExportFormat::Xlsx => {
                let mut book = Workbook::new();
                let ws: &mut Worksheet = book.add_worksheet_with_constant_memory().map_err(xl_err)?;
                ws.set_name(sheet).map_err(xl_err)?;
                for (i, (_, width)) in headers.iter().enumerate() {
                    ws.set_column_width(i as u16, *width).map_err(xl_err)?;
                }
                let bold = Format::new().set_bold();
                let local = generated.with_timezone(&crate::clock::shanghai());
                ws.write_string_with_format(0, 0, title, &bold).map_err(xl_err)?;
                ws.write_string(1, 0, format!("筛选条件：{filter}")).map_err(xl_err)?;
                ws.write_string(2, 0, format!("生成时间：{}", local.format("%Y-%m-%d %H:%M:%S"))).map_err(xl_err)?;
                let head = Format::new().set_bold().set_background_color("#E8EEF7");
                for (i, (h, _)) in headers.iter().enumerate() {
                    ws.write_string_with_format(3, i as u16, *h, &head).map_err(xl_err)?;
                }
                ws.set_freeze_panes(4, 0).map_err(xl_err)?;
                Ok(TableWriter { format, csv: None, book: Some(book), row: 4, date })
            }
        }
    }

    fn write(&mut self, cells: Vec<Cell>) -> ApiResult<()> {
        match self.format {
            ExportFormat::Csv => {
                let w = self.csv.as_mut().ok_or_else(|| anyhow::anyhow!("csv writer"))?;
                let fields: Vec<String> = cells
                    .into_iter()
                    .map(|c| match c {
                        Cell::Text(s) => s,
                        Cell::Date(d) => d.map(|d| d.to_string()).unwrap_or_default(),
                        Cell::Num(n) => n.map(|n| n.to_string()).unwrap_or_default(),
                    })
                    .collect();
                w.write_record(&fields).map_err(anyhow::Error::from)?;
            }
            ExportFormat::Xlsx => {
                let book = self.book.as_mut().ok_or_else(|| anyhow::anyhow!("workbook"))?;
                let ws = book.worksheet_from_index(0).map_err(xl_err)?;
                for (i, c) in cells.into_iter().enumerate() {
                    let col = i as u16;
                    match c {
                        Cell::Text(s) if !s.is_empty() => {
                            ws.write_string(self.row, col, s).map_err(xl_err)?;
                        }
                        Cell::Date(Some(d)) => {
                            let x = ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
                                .map_err(xl_err)?;
                            ws.write_datetime_with_format(self.row, col, &x, &self.date).map_err(xl_err)?;
                        }
                        Cell::Num(Some(n)) => {
                            ws.write_number(self.row, col, n).map_err(xl_err)?;
                        }
                        _ => {}
                    }
                }
            }
        }
        self.row += 1;
        Ok(())
    }

    fn finish(self) -> ApiResult<Vec<u8>> {
        match self.format {
            ExportFormat::Csv => {
                let w = self.csv.ok_or_else(|| anyhow::anyhow!("csv writer"))?;
                Ok(w.into_inner().map_err(|e| anyhow::anyhow!("csv: {e}"))?)
            }
            ExportFormat::Xlsx => {
                let mut book = self.book.ok_or_else(|| anyhow::anyhow!("workbook"))?;
                book.save_to_buffer().map_err(xl_err)
            }
        }
    }
}

fn file_name(base: &str, now: DateTime<Utc>, format: ExportFormat) -> String {
    format!("{base}-{}.{}", crate::clock::local_date(now).format("%Y%m%d"), format.extension())
}

async fn department_names(state: &AppState) -> ApiResult<HashMap<i64, String>> {
    Ok(department::Entity::find().all(&state.read).await?.into_iter().map(|d| (d.id, d.name)).collect())
}

/// The cases `f` selects in the caller's scope (the list's filter), oldest first.
pub async fn cases(
    state: &AppState,
    user: &AuthUser,
    f: CaseFilter,
    filter_text: &str,
    format: ExportFormat,
) -> ApiResult<Export> {
    let now = state.clock.now();
    let headers = [
        ("案件编号", 16.0),
        ("申请类型", 12.0),
        ("当前状态", 14.0),
        ("信用主体", 28.0),
        ("统一社会信用代码", 22.0),
        ("承办单位", 22.0),
        ("收件日期", 12.0),
        ("本环节期限", 12.0),
        ("是否超期", 9.0),
        ("办结日期", 12.0),
        ("办理结果", 16.0),
    ];
    let mut w = TableWriter::new(format, "案件", "案件清单", filter_text, now, &headers)?;
    let depts = department_names(state).await?;
    let mut titles: HashMap<(String, String), String> = HashMap::new();
    let mut after = 0i64;
    loop {
        let rows = filtered(user, f.clone())
            .filter(entity::case::Column::Id.gt(after))
            .order_by_asc(entity::case::Column::Id)
            .limit(BATCH)
            .all(&state.read)
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        let subject_ids: Vec<i64> = rows.iter().map(|c| c.subject_id).collect();
        let subjects: HashMap<i64, (String, String)> = subject::Entity::find()
            .filter(subject::Column::Id.is_in(subject_ids))
            .all(&state.read)
            .await?
            .into_iter()
            .map(|s| (s.id, (s.name, s.code)))
            .collect();
        for c in &rows {
            let key = (c.workflow_hash.clone(), c.state.clone());
            if !titles.contains_key(&key) {
                let t = state
                    .workflows
                    .pinned(&state.read, &c.workflow_hash)
                    .await?
                    .state(&c.state)
                    .map(|s| s.title.clone());
                titles.insert(key.clone(), t.unwrap_or_else(|| c.state.clone()));
            }
            let (name, code) = subjects.get(&c.subject_id).cloned().unwrap_or_default();
            w.write(vec![
                Cell::Text(c.case_no.clone()),
                Cell::Text(c.kind.label_zh().into()),
                Cell::Text(titles[&key].clone()),
                Cell::Text(name),
                Cell::Text(code),
                Cell::Text(depts.get(&c.department_id).cloned().unwrap_or_default()),
                Cell::Date(Some(crate::clock::local_date(c.received_at))),
                Cell::Date(if c.closed_at.is_none() {
                    c.due_at.map(crate::services::cases::notice::due_day)
                } else {
                    None
                }),
                Cell::Text(if c.overdue && c.closed_at.is_none() { "是".into() } else { String::new() }),
                Cell::Date(c.closed_at.map(crate::clock::local_date)),
                Cell::Text(c.result.clone().unwrap_or_default()),
            ])?;
        }
        if (rows.len() as u64) < BATCH {
            break;
        }
    }
    Ok(Export { file_name: file_name("cases", now, format), content_type: format.content_type(), bytes: w.finish()? })
}

/// The records `f` selects in the caller's scope (the list's filter).
pub async fn records(
    state: &AppState,
    user: &AuthUser,
    f: RecordFilter,
    filter_text: &str,
    format: ExportFormat,
) -> ApiResult<Export> {
    let now = state.clock.now();
    let headers = [
        ("信息名称", 30.0),
        ("决定书文号", 24.0),
        ("信用主体", 28.0),
        ("统一社会信用代码", 22.0),
        ("认定单位", 22.0),
        ("决定日期", 12.0),
        ("公示状态", 10.0),
        ("公示类别", 18.0),
        ("可申请修复日期", 14.0),
        ("公示截止日期", 14.0),
        ("异议处理中", 10.0),
    ];
    let mut w = TableWriter::new(format, "信用信息", "信用信息清单", filter_text, now, &headers)?;
    let mut page = 1;
    loop {
        let (items, _) = records::list(&state.read, user, f.clone(), page, BATCH).await?;
        for r in &items {
            let status = match r.publication_status {
                entity::types::PublicationStatus::Published => "公示中",
                entity::types::PublicationStatus::Ended => "已终止公示",
                entity::types::PublicationStatus::NotPublished => "不予公示",
            };
            w.write(vec![
                Cell::Text(r.title.clone()),
                Cell::Text(r.document_no.clone()),
                Cell::Text(r.subject_name.clone()),
                Cell::Text(r.subject_code.clone()),
                Cell::Text(r.department_name.clone()),
                Cell::Date(Some(r.decision_date)),
                Cell::Text(status.into()),
                Cell::Text(r.display_category.clone()),
                Cell::Date(r.repairable_from),
                Cell::Date(Some(r.publication_ends)),
                Cell::Text(if r.objection_open { "是".into() } else { String::new() }),
            ])?;
        }
        if (items.len() as u64) < BATCH {
            break;
        }
        page += 1;
    }
    Ok(Export { file_name: file_name("records", now, format), content_type: format.content_type(), bytes: w.finish()? })
}

/// The statistics workbook for a period: by department and kind, cases open
/// (and overdue among them), decided in the period (and within the legal
/// deadline), average and longest handling time in working days.
pub async fn statistics(
    state: &AppState,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    format: ExportFormat,
) -> ApiResult<Export> {
    use crate::services::reports::{closure_groups, open_load, period_days};
    let now = state.clock.now();
    let depts = department_names(state).await?;
    #[derive(Default)]
    struct Row {
        open: u64,
        overdue: u64,
        decided: u64,
        within: u64,
        timed: u64,
        days_sum: u64,
        days_max: Option<u32>,
    }
    let mut rows: std::collections::BTreeMap<(i64, &'static str), Row> = Default::default();
    for o in open_load(&state.read, None).await? {
        let r = rows.entry((o.holder, o.kind.as_str())).or_default();
        r.open += o.open;
        r.overdue += o.overdue;
    }
    let (first, last) = period_days(from, to);
    for g in closure_groups(&state.read, first, last).await? {
        if g.class != Some(crate::workflow::ClosureClass::Decided) {
            continue;
        }
        let r = rows.entry((g.department_id, g.kind.as_str())).or_default();
        r.decided += g.cases;
        if g.within_legal {
            r.within += g.cases;
        }
        if g.timed > 0 {
            r.timed += g.timed;
            r.days_sum += g.days_sum;
            r.days_max = Some(r.days_max.unwrap_or(0).max(g.days_max));
        }
    }
    let filter = format!("{} 至 {}", crate::clock::local_date(from), crate::clock::local_date(to));
    let headers = [
        ("部门", 28.0),
        ("类型", 12.0),
        ("在办", 8.0),
        ("其中超时", 10.0),
        ("期内办结", 10.0),
        ("其中法定期限内", 14.0),
        ("法定期限内办结率", 16.0),
        ("平均办理用时（工作日）", 20.0),
        ("最长办理用时（工作日）", 20.0),
    ];
    let mut w = TableWriter::new(format, "统计", "信用修复与异议办理统计", &filter, now, &headers)?;
    for ((d, k), r) in rows {
        let avg = (r.timed > 0).then(|| r.days_sum as f64 / r.timed as f64);
        let share = (r.decided > 0).then(|| (r.within as f64 / r.decided as f64 * 1000.0).round() / 1000.0);
        w.write(vec![
            Cell::Text(depts.get(&d).cloned().unwrap_or_default()),
            Cell::Text(k.parse::<CaseKind>().map(CaseKind::label_zh).unwrap_or(k).into()),
            Cell::Num(Some(r.open as f64)),
            Cell::Num(Some(r.overdue as f64)),
            Cell::Num(Some(r.decided as f64)),
            Cell::Num(Some(r.within as f64)),
            Cell::Num(share),
            Cell::Num(avg.map(|a| (a * 10.0).round() / 10.0)),
            Cell::Num(r.days_max.map(f64::from)),
        ])?;
    }
    Ok(Export {
        file_name: file_name("statistics", now, format),
        content_type: format.content_type(),
        bytes: w.finish()?,
    })
}
