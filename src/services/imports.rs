//! Bulk import of records, their sanction measures and list entries from a
//! department's workbook (`.xlsx`, one sheet per kind) or CSV file (one kind,
//! told by its header row). The layout is `domain::import`; each record row
//! is checked by the same function a single create uses
//! (`admin::records::validate_new`), a changed one by the same as an edit
//! (`rederive`, `apply_edit`).
//!
//! Rows are read as a stream (the xlsx cell reader, the CSV reader) and
//! handled in chunks: each chunk's lookups and inserts are a few statements,
//! so a file of 100,000 rows takes seconds and memory grows only with the
//! document numbers and subject codes remembered for the file.
//!
//! The key is (department, document number): a record already there with
//! the same values is unchanged; with other values it is updated and says
//! so in its history. `check` writes nothing but the import's own report;
//! `apply` writes everything in one transaction, or nothing when a row is
//! wrong (unless `partial`). Every import is kept with its file's SHA-256
//! (the file is in the blob store) and its errors, for the annotated copy.

use std::collections::{HashMap, HashSet};
use std::io::Cursor;

use calamine::{DataRef, Reader, Xlsx};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::domain::consistency::may_attach as attachable;
use crate::domain::identity::check_subject_code;
use crate::domain::import::{self as layout, Kind, Layout, LayoutError};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::services::admin::records::{
    Described, RecordInput, WindowChange, apply_edit, new_record_row, rederive, validate_new,
};
use crate::services::publication::Actor;
use crate::state::AppState;
use crate::workflow::Role;
use entity::types::{ActiveStatus, DepartmentKind, SubjectKind};
use entity::{department, import, list_membership, measure, record, record_event, sanction, subject};

/// Runs `$body` with `$db` bound to the import's transaction when applying
/// (so it sees what the import wrote) or to the pool when checking.
macro_rules! on_db {
    ($run:expr, |$db:ident| $body:expr) => {
        match &$run.txn {
            Some($db) => $body,
            None => {
                let $db = &$run.state.db;
                $body
            }
        }
    };
}

/// Rows looked up and written together.
const CHUNK: usize = 500;

/// What the uploader asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Report what would happen; write nothing.
    Check,
    /// Write the file's rows.
    Apply,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Mode> {
        match s.trim() {
            "" | "check" => Some(Mode::Check),
            "apply" => Some(Mode::Apply),
            _ => None,
        }
    }
    fn as_str(self) -> &'static str {
        match self {
            Mode::Check => "check",
            Mode::Apply => "apply",
        }
    }
}

/// An uploaded file and what to do with it.
pub struct Upload {
    pub file_name: String,
    pub bytes: Vec<u8>,
    pub mode: Mode,
    /// Apply the good rows even when some are refused.
    pub partial: bool,
    /// The department the rows belong to: a department officer's own (given
    /// or not); an administrator must name one.
    pub department_id: Option<i64>,
}

/// One refused row: where (sheet, row number as the spreadsheet shows it,
/// column header) and why.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RowError {
    pub sheet: String,
    pub row: u32,
    pub column: String,
    pub code: String,
    pub message: String,
}

/// What an import did (or, checked, would do).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportReport {
    pub id: i64,
    pub department_id: i64,
    pub file_name: String,
    pub sha256: String,
    /// `xlsx` or `csv`
    pub format: String,
    pub mode: Mode,
    pub partial: bool,
    /// `checked`, `applied` or `rejected` (an apply that wrote nothing).
    pub outcome: String,
    /// Data rows read (all sheets).
    pub rows: i32,
    pub records_created: i32,
    pub records_updated: i32,
    pub records_unchanged: i32,
    pub subjects_created: i32,
    pub sanctions_added: i32,
    pub list_entries_added: i32,
    pub error_count: i32,
    pub errors: Vec<RowError>,
    /// The uploaded file with a 校验结果 column (xlsx).
    pub annotated_url: String,
    pub created_at: DateTime<Utc>,
}

impl ImportReport {
    fn of(m: import::Model) -> ImportReport {
        let errors = serde_json::from_str(&m.errors).unwrap_or_default();
        ImportReport {
            annotated_url: format!("/api/v1/imports/{}/annotated", m.id),
            id: m.id,
            department_id: m.department_id,
            file_name: m.file_name,
            sha256: m.sha256,
            format: m.format,
            mode: if m.mode == "apply" { Mode::Apply } else { Mode::Check },
            partial: m.partial,
            outcome: m.outcome,
            rows: m.rows,
            records_created: m.records_created,
            records_updated: m.records_updated,
            records_unchanged: m.records_unchanged,
            subjects_created: m.subjects_created,
            sanctions_added: m.sanctions_added,
            list_entries_added: m.list_entries_added,
            error_count: m.error_count,
            errors,
            created_at: m.created_at,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Xlsx,
    Csv,
}

impl Format {
    /// By content: a zip container is a workbook, anything else is read as
    /// CSV (UTF-8).
    fn sniff(bytes: &[u8]) -> Format {
        if bytes.starts_with(b"PK\x03\x04") { Format::Xlsx } else { Format::Csv }
    }
    fn as_str(self) -> &'static str {
        match self {
            Format::Xlsx => "xlsx",
            Format::Csv => "csv",
        }
    }
}

// ---------- reading rows ----------

/// Rows of one sheet, each with its 1-based row number.
trait Rows {
    fn next_row(&mut self) -> Result<Option<(u32, Vec<String>)>, String>;
}

struct CsvRows<'a> {
    reader: csv::Reader<&'a [u8]>,
    record: csv::StringRecord,
}

impl Rows for CsvRows<'_> {
    fn next_row(&mut self) -> Result<Option<(u32, Vec<String>)>, String> {
        match self.reader.read_record(&mut self.record) {
            Ok(false) => Ok(None),
            Ok(true) => {
                let line = self.record.position().map(|p| p.line() as u32).unwrap_or(0);
                Ok(Some((line, self.record.iter().map(str::to_string).collect())))
            }
            Err(e) => Err(match e.kind() {
                csv::ErrorKind::Utf8 { .. } => "文件不是 UTF-8 编码的 CSV，请另存为“CSV UTF-8”后重新上传".to_string(),
                _ => format!("CSV 格式有误：{e}"),
            }),
        }
    }
}

fn csv_rows(bytes: &[u8]) -> CsvRows<'_> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
    CsvRows { reader, record: csv::StringRecord::new() }
}

struct XlsxRows<'s, 'a> {
    cells: calamine::XlsxCellReader<'s, Cursor<&'a [u8]>>,
    pending: Option<(u32, u32, String)>,
    /// The reader has said it has no more cells (it is not asked again).
    done: bool,
}

/// A cell's value as text: numbers without a needless ".0", dates as
/// `YYYY-MM-DD`.
fn cell_text(v: &DataRef<'_>) -> String {
    match v {
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::SharedString(s) => s.to_string(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        DataRef::Float(f) => f.to_string(),
        DataRef::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        DataRef::DateTime(d) => {
            layout::date_of_serial(d.as_f64()).map(|d| d.to_string()).unwrap_or_else(|| d.as_f64().to_string())
        }
        DataRef::Error(e) => format!("#{e:?}"),
        DataRef::Empty => String::new(),
    }
}

impl Rows for XlsxRows<'_, '_> {
    fn next_row(&mut self) -> Result<Option<(u32, Vec<String>)>, String> {
        let mut row: Option<(u32, Vec<String>)> = None;
        loop {
            let cell = match self.pending.take() {
                Some(c) => Some(c),
                None if self.done => None,
                None => match self.cells.next_cell() {
                    Ok(Some(c)) => {
                        let (r, col) = c.get_position();
                        Some((r, col, cell_text(c.get_value())))
                    }
                    Ok(None) => {
                        self.done = true;
                        None
                    }
                    Err(e) => return Err(format!("工作簿内容无法读取：{e}")),
                },
            };
            let Some((r, col, text)) = cell else { return Ok(row) };
            match &mut row {
                Some((n, _)) if *n != r + 1 => {
                    self.pending = Some((r, col, text));
                    return Ok(row);
                }
                Some((_, cells)) => put(cells, col, text),
                None => {
                    let mut cells = Vec::new();
                    put(&mut cells, col, text);
                    row = Some((r + 1, cells));
                }
            }
        }
    }
}

fn put(cells: &mut Vec<String>, col: u32, text: String) {
    let col = col as usize;
    if col >= 256 {
        return;
    }
    if cells.len() <= col {
        cells.resize(col + 1, String::new());
    }
    cells[col] = text;
}

/// The sheets of a file: (sheet name, rows) in the order the kinds are
/// processed. A CSV file is one unnamed sheet.
enum Source<'a> {
    Xlsx(Box<Xlsx<Cursor<&'a [u8]>>>),
    Csv(&'a [u8]),
}

impl<'a> Source<'a> {
    fn open(bytes: &'a [u8]) -> Result<(Format, Source<'a>), String> {
        match Format::sniff(bytes) {
            Format::Xlsx => Xlsx::new(Cursor::new(bytes))
                .map(|x| (Format::Xlsx, Source::Xlsx(Box::new(x))))
                .map_err(|e| format!("无法读取工作簿（须为 .xlsx 格式）：{e}")),
            Format::Csv => Ok((Format::Csv, Source::Csv(bytes))),
        }
    }

    fn sheet_names(&self) -> Vec<String> {
        match self {
            Source::Xlsx(x) => x.sheet_names(),
            Source::Csv(_) => vec![String::new()],
        }
    }

    fn rows<'s>(&'s mut self, sheet: &str) -> Result<Box<dyn Rows + 's>, String> {
        match self {
            Source::Xlsx(x) => {
                let cells = x.worksheet_cells_reader(sheet).map_err(|e| format!("工作表“{sheet}”无法读取：{e}"))?;
                Ok(Box::new(XlsxRows { cells, pending: None, done: false }))
            }
            Source::Csv(b) => Ok(Box::new(csv_rows(b))),
        }
    }
}

// ---------- the import ----------

/// What the file says about a record it names, once its row is read.
#[derive(Debug, Clone, Copy)]
struct Known {
    /// 0 while checking a record the file would create.
    id: i64,
    subject_id: i64,
    decision_date: NaiveDate,
    /// A sanction or list entry may be added (published or not yet
    /// published, not deleted).
    attachable: bool,
}

/// What a sanction or list row adds to a record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Attach {
    /// A registered sanction measure (its id).
    Measure(i64),
    /// A list, by name.
    List(String),
}

struct Counts {
    rows: i32,
    created: i32,
    updated: i32,
    unchanged: i32,
    subjects: i32,
    sanctions: i32,
    lists: i32,
}

struct Run<'a> {
    state: &'a AppState,
    user: &'a AuthUser,
    department_id: i64,
    mode: Mode,
    partial: bool,
    sha256: String,
    import_id: i64,
    txn: Option<DatabaseTransaction>,
    today: NaiveDate,
    now: DateTime<Utc>,
    /// Subject codes seen → id (0: to be created, while checking).
    subjects: HashMap<String, i64>,
    /// Document numbers of the file's record rows → (row, what it is).
    docs: HashMap<String, (u32, Option<Known>)>,
    measures: HashMap<String, i64>,
    /// The department's records before the import: document number → ids.
    existing: HashMap<String, Vec<i64>>,
    /// What the file added to which document number, so a repeated row is
    /// one addition (records the file creates have id 0 while checking, so
    /// the document number is the key).
    added: HashSet<(String, Attach)>,
    errors: Vec<RowError>,
    counts: Counts,
}

impl Run<'_> {
    fn actor(&self) -> Actor<'static> {
        Actor { user_id: Some(self.user.id), role: self.user.role.as_str() }
    }

    /// Writes happen only when applying, and (unless partial) only until
    /// the first refused row: after it everything is rolled back anyway.
    fn writing(&self) -> bool {
        self.mode == Mode::Apply && (self.partial || self.errors.is_empty())
    }

    fn error(&mut self, kind: Kind, sheet: &str, row: u32, field: &str, code: &str, message: impl Into<String>) {
        self.errors.push(RowError {
            sheet: sheet.to_string(),
            row,
            column: kind.header_for(field).to_string(),
            code: code.to_string(),
            message: message.into(),
        });
    }

    fn file_error(&mut self, sheet: &str, message: impl Into<String>) {
        self.errors.push(RowError {
            sheet: sheet.to_string(),
            row: 1,
            column: String::new(),
            code: "invalid_file".into(),
            message: message.into(),
        });
    }

    fn source_detail(&self, row: u32) -> serde_json::Value {
        json!({"import_id": self.import_id, "sha256": self.sha256, "row": row})
    }

    async fn records_by_document<C: ConnectionTrait>(
        &self,
        db: &C,
        docs: Vec<String>,
    ) -> ApiResult<HashMap<String, Vec<record::Model>>> {
        let mut out: HashMap<String, Vec<record::Model>> = HashMap::new();
        let ids: Vec<i64> = docs.iter().filter_map(|d| self.existing.get(d)).flatten().copied().collect();
        if ids.is_empty() {
            return Ok(out);
        }
        // By primary key: a plan that needs no statistics (a young
        // PostgreSQL database would scan for a long list of numbers).
        let rows = record::Entity::find()
            .filter(record::Column::Id.is_in(ids))
            .order_by_asc(record::Column::Id)
            .all(db)
            .await?;
        for r in rows {
            out.entry(r.document_no.clone()).or_default().push(r);
        }
        Ok(out)
    }
}

/// Reads a file and checks or applies it. A department officer imports for
/// its own department; an administrator for the producing department named.
pub async fn run(state: &AppState, user: &AuthUser, upload: Upload) -> ApiResult<ImportReport> {
    let department_id = match (user.role, upload.department_id) {
        (Role::DepartmentOfficer, given) => {
            let own = user.department_id.ok_or(ApiError::Forbidden)?;
            if given.is_some_and(|d| d != own) {
                return Err(ApiError::field("department_id", "not_own_department", "只能导入本单位的信用信息"));
            }
            own
        }
        (Role::Admin, Some(d)) => d,
        (Role::Admin, None) => {
            return Err(ApiError::field("department_id", "required", "请选择信息所属的认定单位"));
        }
        _ => return Err(ApiError::Forbidden),
    };
    match department::Entity::find_by_id(department_id).one(&state.db).await? {
        Some(d) if d.kind == DepartmentKind::Producing => {}
        _ => return Err(ApiError::field("department_id", "not_found", "认定单位不存在")),
    }
    if upload.bytes.is_empty() {
        return Err(ApiError::field("file", "required", "请选择要导入的文件"));
    }
    let (format, mut source) =
        Source::open(&upload.bytes).map_err(|m| ApiError::unprocessable("unreadable_file", m))?;
    let sha256 = crate::services::blobs::put(&state.settings.data_dir, &upload.bytes).await?;
    let file_name = clean_file_name(&upload.file_name, format);
    let now = state.clock.now();
    let measures = measure::Entity::find().all(&state.db).await?.into_iter().map(|m| (m.name, m.id)).collect();
    let mut run = Run {
        state,
        user,
        department_id,
        mode: upload.mode,
        partial: upload.partial,
        sha256,
        import_id: 0,
        txn: None,
        today: state.clock.today(),
        now,
        subjects: HashMap::new(),
        docs: HashMap::new(),
        measures,
        existing: HashMap::new(),
        added: HashSet::new(),
        errors: Vec::new(),
        counts: Counts { rows: 0, created: 0, updated: 0, unchanged: 0, subjects: 0, sanctions: 0, lists: 0 },
    };
    let base = import::ActiveModel {
        department_id: Set(department_id),
        uploaded_by: Set(user.id),
        file_name: Set(file_name),
        sha256: Set(run.sha256.clone()),
        size: Set(upload.bytes.len() as i64),
        format: Set(format.as_str().into()),
        mode: Set(upload.mode.as_str().into()),
        partial: Set(upload.partial),
        outcome: Set("pending".into()),
        rows: Set(0),
        records_created: Set(0),
        records_updated: Set(0),
        records_unchanged: Set(0),
        subjects_created: Set(0),
        sanctions_added: Set(0),
        list_entries_added: Set(0),
        error_count: Set(0),
        errors: Set("[]".into()),
        created_at: Set(now),
        ..Default::default()
    };
    if upload.mode == Mode::Apply {
        let txn = state.db.begin().await?;
        run.import_id = base.clone().insert(&txn).await?.id;
        run.txn = Some(txn);
    }
    let numbers = record::Entity::find()
        .filter(record::Column::DepartmentId.eq(department_id))
        .select_only()
        .columns([record::Column::DocumentNo, record::Column::Id])
        .into_tuple::<(String, i64)>();
    for (doc, id) in on_db!(run, |db| numbers.all(db).await?) {
        run.existing.entry(doc).or_default().push(id);
    }

    // The sheets, records first; a sheet of unknown headers is an error
    // unless it is empty (or is the template's instructions).
    let mut sheets: Vec<(Kind, String, Layout)> = Vec::new();
    for name in source.sheet_names() {
        if name == INSTRUCTIONS_SHEET {
            continue;
        }
        let mut rows = match source.rows(&name) {
            Ok(r) => r,
            Err(m) => {
                run.file_error(&name, m);
                continue;
            }
        };
        match rows.next_row() {
            Ok(None) => {}
            Ok(Some((_, headers))) => match layout::layout(&headers) {
                Ok(l) => {
                    if sheets.iter().any(|(k, _, _)| *k == l.kind) {
                        run.file_error(&name, format!("文件中有两个“{}”工作表", l.kind.sheet_name()));
                    } else {
                        sheets.push((l.kind, name.clone(), l));
                    }
                }
                Err(LayoutError::Duplicate(h)) => run.file_error(&name, format!("表头“{h}”出现了两次")),
                Err(LayoutError::Unknown) => run.file_error(
                    &name,
                    "表头无法识别：请使用系统提供的导入模板（信用信息、惩戒措施、名单三种工作表之一的表头）",
                ),
            },
            Err(m) => run.file_error(&name, m),
        }
    }
    sheets.sort_by_key(|(k, _, _)| Kind::ALL.iter().position(|x| x == k));
    for (kind, name, l) in sheets {
        let mut rows = source.rows(&name).map_err(|m| ApiError::unprocessable("unreadable_file", m))?;
        let _ = rows.next_row();
        let label = if format == Format::Csv { kind.sheet_name().to_string() } else { name.clone() };
        let mut chunk = Vec::with_capacity(CHUNK);
        loop {
            let next = match rows.next_row() {
                Ok(n) => n,
                Err(m) => {
                    run.file_error(&label, m);
                    None
                }
            };
            let done = next.is_none();
            if let Some((n, cells)) = next
                && cells.iter().any(|c| !c.trim().is_empty())
            {
                run.counts.rows += 1;
                chunk.push((n, cells));
            }
            if chunk.len() >= CHUNK || (done && !chunk.is_empty()) {
                let batch = std::mem::take(&mut chunk);
                match kind {
                    Kind::Records => records_chunk(&mut run, &label, &l, batch).await?,
                    Kind::Sanctions | Kind::ListEntries => attachments_chunk(&mut run, kind, &label, &l, batch).await?,
                }
            }
            if done {
                break;
            }
        }
    }
    if run.counts.rows == 0 && run.errors.is_empty() {
        run.file_error("", "文件中没有可导入的数据行");
    }
    finish(run, base).await
}

/// Stores the outcome (in the import's transaction when applying) with its
/// audit event; a refused apply is rolled back and kept as rejected.
async fn finish(mut run: Run<'_>, base: import::ActiveModel) -> ApiResult<ImportReport> {
    let state = run.state;
    let rejected = run.mode == Mode::Apply && !run.partial && !run.errors.is_empty();
    let outcome = match run.mode {
        Mode::Check => "checked",
        Mode::Apply if rejected => "rejected",
        Mode::Apply => "applied",
    };
    let c = &run.counts;
    // A refused apply wrote nothing, so it reports nothing created or changed.
    let z = |n: i32| if rejected { 0 } else { n };
    let mut am = base;
    am.outcome = Set(outcome.into());
    am.rows = Set(c.rows);
    am.records_created = Set(z(c.created));
    am.records_updated = Set(z(c.updated));
    am.records_unchanged = Set(z(c.unchanged));
    am.subjects_created = Set(z(c.subjects));
    am.sanctions_added = Set(z(c.sanctions));
    am.list_entries_added = Set(z(c.lists));
    am.error_count = Set(run.errors.len() as i32);
    am.errors = Set(serde_json::to_string(&run.errors).map_err(anyhow::Error::from)?);
    let detail = |id: i64| {
        json!({
            "import_id": id, "sha256": run.sha256, "department_id": run.department_id, "mode": run.mode.as_str(),
            "rows": c.rows, "records_created": z(c.created), "records_updated": z(c.updated),
            "subjects_created": z(c.subjects), "sanctions_added": z(c.sanctions), "list_entries_added": z(c.lists),
            "errors": run.errors.len(),
        })
    };
    let txn = match run.txn.take() {
        Some(t) if !rejected => t,
        Some(t) => {
            t.rollback().await?;
            state.db.begin().await?
        }
        None => state.db.begin().await?,
    };
    let saved = if run.import_id != 0 && !rejected {
        am.id = Set(run.import_id);
        am.update(&txn).await?
    } else {
        am.insert(&txn).await?
    };
    let action = format!("import_{outcome}");
    crate::services::calendar::admin_event(
        &txn,
        Some(run.user.id),
        &action,
        &format!("import:{}", saved.id),
        detail(saved.id),
        run.now,
    )
    .await?;
    txn.commit().await?;
    if rejected {
        let report = ImportReport::of(saved);
        let n = report.error_count;
        let details = serde_json::to_value(&report).map_err(anyhow::Error::from)?;
        return Err(ApiError::unprocessable(
            "import_rejected",
            format!("导入未执行：{n} 处错误，文件中的数据均未写入。请按错误清单或批注文件修改后重新上传"),
        )
        .with_details(details));
    }
    Ok(ImportReport::of(saved))
}

fn clean_file_name(name: &str, format: Format) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name).trim();
    let base: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    if base.is_empty() { format!("import.{}", format.as_str()) } else { base }
}

/// A record row read into the API's record input (values given as codes or
/// Chinese names become codes; dates in the usual spellings), or the errors
/// of the cells that could not be read.
fn record_input(l: &Layout, cells: &[String]) -> (RecordInput, Vec<FieldError>) {
    let mut errs = Vec::new();
    let date = |key: &str, errs: &mut Vec<FieldError>| -> Option<NaiveDate> {
        let raw = l.opt(cells, key)?;
        let d = layout::parse_date(raw);
        if d.is_none() {
            errs.push(FieldError::new(key, "invalid_date", format!("日期“{raw}”无法识别，请写作 2026-04-15")));
        }
        d
    };
    let decision_date = date("decision_date", &mut errs);
    let conduct_end_date = date("conduct_end_date", &mut errs);
    let published_on = date("published_on", &mut errs);
    let mapped = |key: &str, f: fn(&str) -> Option<&'static str>, what: &str, errs: &mut Vec<FieldError>| {
        let raw = l.opt(cells, key)?;
        match f(raw) {
            Some(code) => Some(code.to_string()),
            None => {
                errs.push(FieldError::new(key, "invalid_value", format!("{what}“{raw}”不是可选的值")));
                None
            }
        }
    };
    let record_type = mapped("record_type", layout::record_type, "信息类型", &mut errs);
    let severity = mapped("severity", layout::severity, "失信程度", &mut errs);
    let regime = mapped("regime", layout::regime, "适用规则", &mut errs);
    let source = mapped("source", layout::source, "信息来源", &mut errs);
    let text = |key: &str| l.opt(cells, key).map(str::to_string);
    let input = RecordInput {
        record_type: record_type.or_else(|| l.opt(cells, "record_type").map(|_| "?".into())),
        title: text("title"),
        content: text("content"),
        severity: severity.or_else(|| l.opt(cells, "severity").map(|_| "?".into())),
        regime,
        document_no: text("document_no"),
        decision_date,
        conduct_end_date,
        source,
        published_on,
        ..Default::default()
    };
    (input, errs)
}

/// The errors of one row, with the ones about cells that could not be read
/// first and nothing said twice about the same column.
fn merge(mut first: Vec<FieldError>, more: Vec<FieldError>) -> Vec<FieldError> {
    for e in more {
        if !first.iter().any(|f| f.field == e.field) {
            first.push(e);
        }
    }
    first
}

/// One chunk of record rows: each checked, then looked up by document
/// number (existing → unchanged or updated), new subjects registered, new
/// records inserted together with their `record_created` events.
async fn records_chunk(run: &mut Run<'_>, sheet: &str, l: &Layout, rows: Vec<(u32, Vec<String>)>) -> ApiResult<()> {
    let kind = Kind::Records;
    let rules = &run.state.settings.publication;
    // (row, code, name, valid record)
    let mut good = Vec::with_capacity(rows.len());
    for (n, cells) in rows {
        let (input, read_errs) = record_input(l, &cells);
        let mut errs = read_errs;
        let code = match l.opt(&cells, "code") {
            None => {
                errs.push(FieldError::new("code", "required", "统一社会信用代码不能为空"));
                None
            }
            Some(raw) => match check_subject_code(false, &raw.to_uppercase(), false) {
                Ok((c, _)) => Some(c),
                Err(e) => {
                    errs.push(FieldError::new("code", e.code(), e.to_string()));
                    None
                }
            },
        };
        let name = l.opt(&cells, "name").map(str::to_string);
        if name.is_none() {
            errs.push(FieldError::new("name", "required", "主体名称不能为空"));
        }
        let valid =
            validate_new(rules, run.today, &RecordInput { department_id: Some(run.department_id), ..input }, false);
        let errs = match valid {
            Ok(_) if !errs.is_empty() => errs,
            Ok(v) => {
                let doc = v.new.document_no.clone();
                if let Some((first, _)) = run.docs.get(&doc) {
                    let first = *first;
                    run.error(
                        kind,
                        sheet,
                        n,
                        "document_no",
                        "duplicate_in_file",
                        format!("与第 {first} 行的决定书文号重复"),
                    );
                    continue;
                }
                run.docs.insert(doc, (n, None));
                good.push((n, code.unwrap_or_default(), name.unwrap_or_default(), v));
                continue;
            }
            Err(more) => merge(errs, more),
        };
        for e in errs {
            run.error(kind, sheet, n, &e.field, &e.code, e.message);
        }
        // Its document number is still the file's, so sanctions naming it
        // are refused as belonging to a refused row.
        if let Some(doc) = l.opt(&cells, "document_no") {
            run.docs.entry(doc.to_string()).or_insert((n, None));
        }
    }
    if good.is_empty() {
        return Ok(());
    }
    let docs: Vec<String> = good.iter().map(|(_, _, _, v)| v.new.document_no.clone()).collect();
    let existing = on_db!(run, |db| run.records_by_document(db, docs).await?);
    // Subject codes: those of the chunk not yet known.
    let unknown: Vec<String> = good
        .iter()
        .map(|(_, c, _, _)| c.clone())
        .filter(|c| !run.subjects.contains_key(c))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if !unknown.is_empty() {
        let found =
            on_db!(run, |db| subject::Entity::find().filter(subject::Column::Code.is_in(unknown)).all(db).await?);
        for s in found {
            run.subjects.insert(s.code, s.id);
        }
    }
    let mut new_rows = Vec::new();
    for (n, code, name, v) in good {
        let doc = v.new.document_no.clone();
        match existing.get(&doc).map(Vec::as_slice) {
            None | Some([]) => new_rows.push((n, code, name, v)),
            Some([r]) => {
                let subject_id = run.subjects.get(&code).copied();
                if subject_id != Some(r.subject_id) {
                    run.error(
                        kind,
                        sheet,
                        n,
                        "code",
                        "subject_mismatch",
                        "系统中该文号的信息属于另一主体，主体不能通过导入更改",
                    );
                    continue;
                }
                if r.record_type != v.new.record_type || r.source != v.new.source {
                    run.error(
                        kind,
                        sheet,
                        n,
                        "record_type",
                        "immutable",
                        "已有信息的信息类型和信息来源不能通过导入更改",
                    );
                    continue;
                }
                if r.deleted {
                    run.error(kind, sheet, n, "document_no", "record_deleted", "该文号的信息已删除，不能通过导入修改");
                    continue;
                }
                let known = Known {
                    id: r.id,
                    subject_id: r.subject_id,
                    decision_date: v.new.decision_date,
                    attachable: attachable(r.publication_status, r.deleted),
                };
                let change = WindowChange {
                    regime: (v.new.regime != r.regime).then(|| v.new.regime.clone()),
                    severity: (v.new.severity != r.severity).then(|| v.new.severity.clone()),
                    decision_date: (v.new.decision_date != r.decision_date).then_some(v.new.decision_date),
                    conduct_end_date: v.new.conduct_end_date.filter(|c| Some(*c) != r.conduct_end_date),
                };
                let edit = Described {
                    title: (v.new.title != r.title).then(|| v.new.title.clone()),
                    content: (!v.new.content.is_empty() && v.new.content != r.content).then(|| v.new.content.clone()),
                    document_no: None,
                };
                if change.is_empty() && edit.title.is_none() && edit.content.is_none() {
                    run.counts.unchanged += 1;
                    run.docs.insert(doc, (n, Some(known)));
                    continue;
                }
                match rederive(rules, run.today, r, &change, "") {
                    Err(errs) => {
                        for e in errs {
                            run.error(kind, sheet, n, &e.field, &e.code, e.message);
                        }
                    }
                    Ok(w) => {
                        if run.writing() {
                            let actor = run.actor();
                            let source = run.source_detail(n);
                            let txn = run.txn.as_ref().ok_or_else(|| anyhow::anyhow!("import transaction"))?;
                            apply_edit(txn, run.state, actor, r, r.version, w, edit, source).await?;
                        }
                        run.counts.updated += 1;
                        run.docs.insert(doc, (n, Some(known)));
                    }
                }
            }
            Some(_) => run.error(
                kind,
                sheet,
                n,
                "document_no",
                "ambiguous_document_no",
                "系统中本单位有多条该文号的信息，请联系管理员逐条处理",
            ),
        }
    }
    if new_rows.is_empty() {
        return Ok(());
    }
    // New subjects, registered once each.
    let mut fresh: Vec<(String, String)> = Vec::new();
    for (_, code, name, _) in &new_rows {
        if !run.subjects.contains_key(code) {
            run.subjects.insert(code.clone(), 0);
            fresh.push((code.clone(), name.clone()));
        }
    }
    run.counts.subjects += fresh.len() as i32;
    run.counts.created += new_rows.len() as i32;
    if !run.writing() {
        for (n, _, _, v) in new_rows {
            let attach = attachable(v.initial.status, false);
            let known = Known { id: 0, subject_id: 0, decision_date: v.new.decision_date, attachable: attach };
            run.docs.insert(v.new.document_no, (n, Some(known)));
        }
        return Ok(());
    }
    let txn = run.txn.as_ref().ok_or_else(|| anyhow::anyhow!("import transaction"))?;
    if !fresh.is_empty() {
        let inserted = subject::Entity::insert_many(fresh.into_iter().map(|(code, name)| subject::ActiveModel {
            code: Set(code),
            name: Set(name),
            kind: Set(SubjectKind::LegalPerson),
            check_overridden: Set(false),
            created_at: Set(run.now),
            ..Default::default()
        }))
        .exec_with_returning(txn)
        .await?;
        for s in inserted {
            run.subjects.insert(s.code, s.id);
        }
    }
    let mut rows_of = HashMap::new();
    let mut models = Vec::with_capacity(new_rows.len());
    for (n, code, _, v) in new_rows {
        let mut new = v.new;
        new.subject_id = run.subjects.get(&code).copied().unwrap_or_default();
        rows_of.insert(new.document_no.clone(), (n, v.initial.status));
        models.push(new_record_row(new, &v.derived, v.initial, run.now));
    }
    let created: Vec<(i64, String, i64, NaiveDate)> = record::Entity::insert_many(models)
        .exec_with_returning(txn)
        .await?
        .into_iter()
        .map(|m| (m.id, m.document_no, m.subject_id, m.decision_date))
        .collect();
    let mut events = Vec::with_capacity(created.len());
    for (id, doc, subject_id, decision_date) in created {
        let Some((n, status)) = rows_of.get(&doc).copied() else { continue };
        let mut detail = run.source_detail(n);
        detail["document_no"] = json!(doc);
        detail["publication_status"] = json!(status);
        events.push(record_event::ActiveModel {
            record_id: Set(id),
            actor_user_id: Set(Some(run.user.id)),
            actor_role: Set(run.user.role.as_str().into()),
            action: Set("record_created".into()),
            detail: Set(detail.to_string()),
            created_at: Set(run.now),
            ..Default::default()
        });
        let known = Known { id, subject_id, decision_date, attachable: attachable(status, false) };
        run.docs.insert(doc, (n, Some(known)));
    }
    if !events.is_empty() {
        record_event::Entity::insert_many(events).exec(txn).await?;
    }
    Ok(())
}

/// One chunk of sanction or list-entry rows: the record named (by the file
/// or already here), the measure or list; a repeat of one already in force
/// is unchanged.
async fn attachments_chunk(
    run: &mut Run<'_>,
    kind: Kind,
    sheet: &str,
    l: &Layout,
    rows: Vec<(u32, Vec<String>)>,
) -> ApiResult<()> {
    // Records named that the file did not hold.
    let outside: Vec<String> = rows
        .iter()
        .filter_map(|(_, c)| l.opt(c, "document_no"))
        .filter(|d| !run.docs.contains_key(*d))
        .map(str::to_string)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let here = on_db!(run, |db| run.records_by_document(db, outside).await?);
    // (row, document, record, the measure or list, start date)
    let mut good: Vec<(u32, String, Known, Attach, NaiveDate)> = Vec::new();
    let (what_key, date_key) = match kind {
        Kind::Sanctions => ("measure", "started_on"),
        _ => ("list_name", "listed_on"),
    };
    for (n, cells) in rows {
        let mut errs: Vec<FieldError> = Vec::new();
        let known = match l.opt(&cells, "document_no") {
            None => {
                errs.push(FieldError::new("document_no", "required", "决定书文号不能为空"));
                None
            }
            Some(doc) => match (run.docs.get(doc), here.get(doc).map(Vec::as_slice)) {
                (Some((_, Some(k))), _) => Some(*k),
                (Some((row, None)), _) => {
                    errs.push(FieldError::new(
                        "document_no",
                        "record_row_refused",
                        format!("该文号的信用信息（第 {row} 行）未通过校验"),
                    ));
                    None
                }
                (None, Some([r])) => Some(Known {
                    id: r.id,
                    subject_id: r.subject_id,
                    decision_date: r.decision_date,
                    attachable: attachable(r.publication_status, r.deleted),
                }),
                (None, Some([_, _, ..])) => {
                    errs.push(FieldError::new(
                        "document_no",
                        "ambiguous_document_no",
                        "系统中本单位有多条该文号的信息，请联系管理员逐条处理",
                    ));
                    None
                }
                (None, _) => {
                    errs.push(FieldError::new(
                        "document_no",
                        "record_not_found",
                        format!("本单位没有文号为“{doc}”的信用信息，本文件中也没有"),
                    ));
                    None
                }
            },
        };
        if known.is_some_and(|k| !k.attachable) {
            errs.push(FieldError::new(
                "document_no",
                "record_ended",
                "该信用信息已终止公示或已删除，不能再添加惩戒措施或名单",
            ));
        }
        let what = match (kind, l.opt(&cells, what_key)) {
            (_, None) => {
                let label = if kind == Kind::Sanctions { "惩戒措施" } else { "名单名称" };
                errs.push(FieldError::new(what_key, "required", format!("{label}不能为空")));
                None
            }
            (Kind::Sanctions, Some(m)) => match run.measures.get(m) {
                Some(id) => Some(Attach::Measure(*id)),
                None => {
                    errs.push(FieldError::new(
                        what_key,
                        "not_found",
                        format!("惩戒措施“{m}”未在系统中登记（见模板“填写说明”页的清单）"),
                    ));
                    None
                }
            },
            (_, Some(name)) => Some(Attach::List(name.to_string())),
        };
        let date = match l.opt(&cells, date_key) {
            None => known.map(|k| k.decision_date),
            Some(raw) => match layout::parse_date(raw) {
                Some(d) if d > run.today => {
                    errs.push(FieldError::new(date_key, "in_future", "日期不能晚于今天"));
                    None
                }
                Some(d) => Some(d),
                None => {
                    errs.push(FieldError::new(
                        date_key,
                        "invalid_date",
                        format!("日期“{raw}”无法识别，请写作 2026-04-15"),
                    ));
                    None
                }
            },
        };
        match (errs.is_empty(), known, what, date) {
            (true, Some(k), Some(w), Some(d)) => {
                let doc = l.get(&cells, "document_no").to_string();
                good.push((n, doc, k, w, d));
            }
            _ => {
                for e in errs {
                    run.error(kind, sheet, n, &e.field, &e.code, e.message);
                }
            }
        }
    }
    if good.is_empty() {
        return Ok(());
    }
    // Those in force already.
    let ids: Vec<i64> = good.iter().map(|g| g.2.id).filter(|id| *id != 0).collect();
    let mut in_force: HashSet<(i64, Attach)> = HashSet::new();
    if !ids.is_empty() {
        match kind {
            Kind::Sanctions => {
                let q = sanction::Entity::find()
                    .filter(sanction::Column::RecordId.is_in(ids))
                    .filter(sanction::Column::Status.eq(ActiveStatus::Active));
                for s in on_db!(run, |db| q.all(db).await?) {
                    in_force.insert((s.record_id, Attach::Measure(s.measure_id)));
                }
            }
            _ => {
                let q = list_membership::Entity::find()
                    .filter(list_membership::Column::RecordId.is_in(ids))
                    .filter(list_membership::Column::Status.eq(ActiveStatus::Active));
                for m in on_db!(run, |db| q.all(db).await?) {
                    in_force.insert((m.record_id, Attach::List(m.list_name)));
                }
            }
        }
    }
    let mut sanctions = Vec::new();
    let mut lists = Vec::new();
    let mut events = Vec::new();
    for (n, doc, k, what, date) in good {
        let repeat = !run.added.insert((doc.clone(), what.clone()));
        if repeat || (k.id != 0 && in_force.contains(&(k.id, what.clone()))) {
            continue;
        }
        let (action, mut detail) = match &what {
            Attach::Measure(id) => {
                run.counts.sanctions += 1;
                ("sanction_added", json!({"measure_id": id}))
            }
            Attach::List(name) => {
                run.counts.lists += 1;
                ("list_entry_added", json!({"list_name": name}))
            }
        };
        if !run.writing() {
            continue;
        }
        match what {
            Attach::Measure(measure_id) => sanctions.push(sanction::ActiveModel {
                record_id: Set(k.id),
                measure_id: Set(measure_id),
                status: Set(ActiveStatus::Active),
                started_on: Set(date),
                ..Default::default()
            }),
            Attach::List(what) => lists.push(list_membership::ActiveModel {
                record_id: Set(k.id),
                subject_id: Set(k.subject_id),
                list_name: Set(what),
                status: Set(ActiveStatus::Active),
                listed_on: Set(date),
                ..Default::default()
            }),
        }
        let source = run.source_detail(n);
        detail["source"] = source;
        events.push(record_event::ActiveModel {
            record_id: Set(k.id),
            actor_user_id: Set(Some(run.user.id)),
            actor_role: Set(run.user.role.as_str().into()),
            action: Set(action.into()),
            detail: Set(detail.to_string()),
            created_at: Set(run.now),
            ..Default::default()
        });
    }
    if !run.writing() || events.is_empty() {
        return Ok(());
    }
    let txn = run.txn.as_ref().ok_or_else(|| anyhow::anyhow!("import transaction"))?;
    if !sanctions.is_empty() {
        sanction::Entity::insert_many(sanctions).exec(txn).await?;
    }
    if !lists.is_empty() {
        list_membership::Entity::insert_many(lists).exec(txn).await?;
    }
    record_event::Entity::insert_many(events).exec(txn).await?;
    Ok(())
}

// ---------- reading imports back ----------

/// The imports a caller may see: a department officer its department's,
/// administrators and the credit office all. Newest first, at most 100.
pub async fn list(state: &AppState, user: &AuthUser) -> ApiResult<Vec<ImportReport>> {
    let mut q = import::Entity::find().order_by_desc(import::Column::Id).limit(100);
    match user.role {
        Role::Admin | Role::CreditOffice => {}
        Role::DepartmentOfficer => {
            q = q.filter(import::Column::DepartmentId.eq(user.department_id.ok_or(ApiError::Forbidden)?));
        }
        _ => return Err(ApiError::Forbidden),
    }
    let rows = q.all(&state.db).await?;
    Ok(rows
        .into_iter()
        .map(|m| {
            let mut r = ImportReport::of(m);
            r.errors.clear();
            r
        })
        .collect())
}

/// One import, if the caller may see it (404 otherwise).
pub async fn get(state: &AppState, user: &AuthUser, id: i64) -> ApiResult<ImportReport> {
    Ok(ImportReport::of(visible(state, user, id).await?))
}

async fn visible(state: &AppState, user: &AuthUser, id: i64) -> ApiResult<import::Model> {
    let m = import::Entity::find_by_id(id).one(&state.db).await?.ok_or_else(|| ApiError::not_found("导入记录"))?;
    let ok = match user.role {
        Role::Admin | Role::CreditOffice => true,
        Role::DepartmentOfficer => user.department_id == Some(m.department_id),
        _ => false,
    };
    if ok { Ok(m) } else { Err(ApiError::not_found("导入记录")) }
}

/// The uploaded file again as a workbook, every sheet with a 校验结果
/// column saying what was wrong with each refused row (rows in red), and
/// the file's own problems (unknown sheets) on a sheet of their own.
pub async fn annotated(state: &AppState, user: &AuthUser, id: i64) -> ApiResult<Vec<u8>> {
    let m = visible(state, user, id).await?;
    let bytes = crate::services::blobs::get(&state.settings.data_dir, &m.sha256).await?;
    let errors: Vec<RowError> = serde_json::from_str(&m.errors).unwrap_or_default();
    tokio::task::spawn_blocking(move || annotate(&bytes, &errors))
        .await
        .map_err(|e| anyhow::anyhow!("annotate: {e}"))?
}

fn xl(e: rust_xlsxwriter::XlsxError) -> ApiError {
    anyhow::anyhow!("xlsx: {e}").into()
}

fn annotate(bytes: &[u8], errors: &[RowError]) -> ApiResult<Vec<u8>> {
    use rust_xlsxwriter::{Format as XFormat, Workbook};
    let mut by_row: HashMap<(&str, u32), Vec<String>> = HashMap::new();
    for e in errors {
        let text = if e.column.is_empty() { e.message.clone() } else { format!("{}：{}", e.column, e.message) };
        by_row.entry((e.sheet.as_str(), e.row)).or_default().push(text);
    }
    let (format, mut source) = Source::open(bytes).map_err(|m| ApiError::unprocessable("unreadable_file", m))?;
    let mut book = Workbook::new();
    let head = XFormat::new().set_bold().set_background_color("#E8EEF7");
    let bad = XFormat::new().set_background_color("#FDE2E1");
    let note = XFormat::new().set_font_color("#B42318");
    let mut seen = HashSet::new();
    for name in source.sheet_names() {
        let label = if format == Format::Csv {
            // A CSV file's rows are reported under its kind's sheet name.
            errors.iter().map(|e| e.sheet.clone()).find(|s| !s.is_empty()).unwrap_or_else(|| "数据".into())
        } else {
            name.clone()
        };
        let Ok(mut rows) = source.rows(&name) else { continue };
        let ws = book.add_worksheet_with_constant_memory().map_err(xl)?;
        ws.set_name(&label).map_err(xl)?;
        seen.insert(label.clone());
        // The header row's width places the result column.
        let mut width: Option<u16> = None;
        let mut out_row = 0u32;
        while let Ok(Some((n, cells))) = rows.next_row() {
            let header = width.is_none();
            let col = *width.get_or_insert(cells.len().max(1) as u16);
            let notes = by_row.get(&(label.as_str(), n));
            for (i, c) in cells.iter().enumerate() {
                if c.is_empty() {
                    continue;
                }
                match (header, notes) {
                    (true, _) => ws.write_string_with_format(out_row, i as u16, c, &head),
                    (false, Some(_)) => ws.write_string_with_format(out_row, i as u16, c, &bad),
                    _ => ws.write_string(out_row, i as u16, c),
                }
                .map_err(xl)?;
            }
            let col = col.max(cells.len() as u16);
            match (header, notes) {
                (true, None) => {
                    ws.write_string_with_format(out_row, col, layout::RESULT_HEADER, &head).map_err(xl)?;
                }
                (_, Some(notes)) => {
                    ws.write_string_with_format(out_row, col, notes.join("；"), &note).map_err(xl)?;
                }
                (false, None) => {}
            }
            out_row += 1;
        }
    }
    // Problems of the file itself (a sheet that could not be read).
    let rest: Vec<&RowError> = errors.iter().filter(|e| !seen.contains(&e.sheet)).collect();
    if !rest.is_empty() {
        let ws = book.add_worksheet_with_constant_memory().map_err(xl)?;
        ws.set_name("文件问题").map_err(xl)?;
        ws.write_string_with_format(0, 0, "工作表", &head).map_err(xl)?;
        ws.write_string_with_format(0, 1, "问题", &head).map_err(xl)?;
        for (i, e) in rest.iter().enumerate() {
            ws.write_string(i as u32 + 1, 0, &e.sheet).map_err(xl)?;
            ws.write_string(i as u32 + 1, 1, &e.message).map_err(xl)?;
        }
    }
    book.save_to_buffer().map_err(xl)
}

/// The instructions sheet of the template (skipped when importing).
pub const INSTRUCTIONS_SHEET: &str = "填写说明";

/// The template workbook: one sheet per kind with its headers, and the
/// instructions (every column, whether required, how to write it, and the
/// sanction measures registered here).
pub async fn template(state: &AppState) -> ApiResult<Vec<u8>> {
    use rust_xlsxwriter::{Format as XFormat, Workbook};
    let measures: Vec<String> = measure::Entity::find()
        .order_by_asc(measure::Column::Id)
        .all(&state.db)
        .await?
        .into_iter()
        .map(|m| m.name)
        .collect();
    let mut book = Workbook::new();
    let head = XFormat::new().set_bold().set_background_color("#E8EEF7");
    let required = XFormat::new().set_bold().set_background_color("#FFF1C2");
    let text = XFormat::new().set_num_format("@");
    for kind in Kind::ALL {
        let ws = book.add_worksheet();
        ws.set_name(kind.sheet_name()).map_err(xl)?;
        for (i, c) in kind.columns().iter().enumerate() {
            let f = if c.required { &required } else { &head };
            ws.write_string_with_format(0, i as u16, c.header, f).map_err(xl)?;
            ws.set_column_width(i as u16, 18).map_err(xl)?;
            // Codes and numbers stay text (a USCC must not become a number).
            ws.set_column_format(i as u16, &text).map_err(xl)?;
        }
        ws.set_freeze_panes(1, 0).map_err(xl)?;
    }
    let ws = book.add_worksheet();
    ws.set_name(INSTRUCTIONS_SHEET).map_err(xl)?;
    for (i, h) in ["工作表", "列", "是否必填", "填写要求"].iter().enumerate() {
        ws.write_string_with_format(0, i as u16, *h, &head).map_err(xl)?;
    }
    ws.set_column_width(0, 12).map_err(xl)?;
    ws.set_column_width(1, 18).map_err(xl)?;
    ws.set_column_width(3, 80).map_err(xl)?;
    let mut r = 1;
    for kind in Kind::ALL {
        for c in kind.columns() {
            ws.write_string(r, 0, kind.sheet_name()).map_err(xl)?;
            ws.write_string(r, 1, c.header).map_err(xl)?;
            ws.write_string(r, 2, if c.required { "必填" } else { "选填" }).map_err(xl)?;
            ws.write_string(r, 3, c.hint).map_err(xl)?;
            r += 1;
        }
    }
    r += 1;
    let notes = [
        "每个文件只能导入本单位的信息；同一决定书文号再次导入时，内容相同不作变更，内容不同则更新该信息并记入其历史。",
        "先选择“仅校验”查看结果；“导入”时只要有一行有误，整个文件都不写入（可下载批注文件逐行修改）。",
        "公示期已届满的信息导入后即为“已结束公示”；已结束公示的信息不能再添加惩戒措施或名单。",
        "也可上传 CSV 文件（UTF-8 编码，一个文件一种表，表头与本模板相同）。",
    ];
    for n in notes {
        ws.write_string(r, 0, n).map_err(xl)?;
        r += 1;
    }
    r += 1;
    ws.write_string_with_format(r, 0, "已登记的惩戒措施", &head).map_err(xl)?;
    for m in measures {
        r += 1;
        ws.write_string(r, 0, m).map_err(xl)?;
    }
    book.save_to_buffer().map_err(xl)
}
