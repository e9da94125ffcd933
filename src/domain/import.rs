//! The layout of bulk import files (records, their sanction measures and
//! list entries) and the reading of one cell: which headers make which
//! sheet, how dates and enumerated values may be written. Pure: the service
//! (`services::imports`) reads the file and writes the rows.

use chrono::{Datelike, NaiveDate};

use super::period::{Regime, Severity};

/// Record types a record may have, with the Chinese names a file may use.
pub const RECORD_TYPES: [(&str, &str); 4] = [
    ("administrative_penalty", "行政处罚"),
    ("serious_dishonesty_list", "严重失信主体名单"),
    ("abnormal_operation_list", "经营异常名录"),
    ("other", "其他"),
];

/// What a sheet (or a CSV file) holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Records,
    Sanctions,
    ListEntries,
}

/// One column of a sheet: its key (also the API field name it feeds), the
/// header written in the template and whether a row must fill it.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub key: &'static str,
    pub header: &'static str,
    pub required: bool,
    pub hint: &'static str,
}

const fn col(key: &'static str, header: &'static str, required: bool, hint: &'static str) -> Column {
    Column { key, header, required, hint }
}

const RECORD_COLUMNS: [Column; 12] = [
    col("code", "统一社会信用代码", true, "18 位统一社会信用代码；新主体自动登记"),
    col("name", "主体名称", true, "与营业执照一致"),
    col("record_type", "信息类型", true, "行政处罚、严重失信主体名单、经营异常名录、其他"),
    col("title", "信息名称", true, "如：某某行政处罚决定"),
    col("content", "处罚内容", false, "处罚事由、依据和结果"),
    col("severity", "失信程度", true, "轻微、一般、严重；2023-05-01 前的决定：一般失信、严重失信、特定严重失信"),
    col("regime", "适用规则", false, "可不填，按决定日期确定；填写时须与决定日期一致（current、order58、legacy527）"),
    col("document_no", "决定书文号", true, "本单位内唯一，重复导入时据此识别同一条信息"),
    col("decision_date", "决定日期", true, "如 2026-04-15，不得晚于今天"),
    col("conduct_end_date", "失信行为终止日期", false, "如 2026-03-31"),
    col("source", "信息来源", false, "本地归集（默认）或 市场监管（SAMR 推送）"),
    col("published_on", "首次公示日期", false, "市场监管推送信息须填写"),
];

const SANCTION_COLUMNS: [Column; 3] = [
    col("document_no", "决定书文号", true, "本文件“信用信息”页或系统中已有信息的文号"),
    col("measure", "惩戒措施", true, "系统中登记的惩戒措施名称"),
    col("started_on", "开始日期", false, "不填则为决定日期"),
];

const LIST_COLUMNS: [Column; 3] = [
    col("document_no", "决定书文号", true, "本文件“信用信息”页或系统中已有信息的文号"),
    col("list_name", "名单名称", true, "如：严重失信主体名单"),
    col("listed_on", "列入日期", false, "不填则为决定日期"),
];

impl Kind {
    /// In the order a file is processed: records first, so the other sheets
    /// can name records the same file creates.
    pub const ALL: [Kind; 3] = [Kind::Records, Kind::Sanctions, Kind::ListEntries];

    pub fn sheet_name(self) -> &'static str {
        match self {
            Kind::Records => "信用信息",
            Kind::Sanctions => "惩戒措施",
            Kind::ListEntries => "名单",
        }
    }

    pub fn columns(self) -> &'static [Column] {
        match self {
            Kind::Records => &RECORD_COLUMNS,
            Kind::Sanctions => &SANCTION_COLUMNS,
            Kind::ListEntries => &LIST_COLUMNS,
        }
    }

    /// The header of the column a field error names (the field as named by
    /// the API, e.g. `decision_date`), or the first column when none fits.
    pub fn header_for(self, field: &str) -> &'static str {
        let cols = self.columns();
        cols.iter().find(|c| c.key == field).unwrap_or(&cols[0]).header
    }
}

/// A sheet's header row read: its kind and, for each column key in
/// `kind.columns()` order, the position of that column in the row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub kind: Kind,
    pub positions: Vec<Option<usize>>,
}

/// Why a header row could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayoutError {
    /// No kind's required headers are all there.
    Unknown,
    /// A header appears twice.
    Duplicate(String),
}

/// Recognises a header row: the kind whose required headers are all present
/// (records first: their header row also names 决定书文号). Unknown headers
/// are ignored; a known one twice is refused.
pub fn layout(headers: &[String]) -> Result<Layout, LayoutError> {
    let clean: Vec<String> = headers.iter().map(|h| normalise_header(h)).collect();
    for kind in Kind::ALL {
        let cols = kind.columns();
        let mut positions = Vec::with_capacity(cols.len());
        for c in cols {
            let mut found = clean.iter().enumerate().filter(|(_, h)| *h == c.header);
            let first = found.next().map(|(i, _)| i);
            if first.is_some() && found.next().is_some() {
                return Err(LayoutError::Duplicate(c.header.to_string()));
            }
            positions.push(first);
        }
        if cols.iter().zip(&positions).all(|(c, p)| !c.required || p.is_some()) {
            return Ok(Layout { kind, positions });
        }
    }
    Err(LayoutError::Unknown)
}

/// Headers as people type them: surrounding spaces, a trailing asterisk
/// for "required", full-width parentheses with a hint.
fn normalise_header(h: &str) -> String {
    let h = h.trim().trim_start_matches('\u{feff}');
    let h = h.split(['（', '(']).next().unwrap_or(h);
    h.trim().trim_end_matches(['*', '＊']).trim().to_string()
}

impl Layout {
    /// The trimmed value of column `key` in `row` (empty when absent).
    pub fn get<'a>(&self, row: &'a [String], key: &str) -> &'a str {
        self.kind
            .columns()
            .iter()
            .position(|c| c.key == key)
            .and_then(|i| self.positions[i])
            .and_then(|p| row.get(p))
            .map(|s| s.trim())
            .unwrap_or("")
    }

    /// Like [`Layout::get`], `None` when empty.
    pub fn opt<'a>(&self, row: &'a [String], key: &str) -> Option<&'a str> {
        Some(self.get(row, key)).filter(|s| !s.is_empty())
    }
}

/// A date as people write it in a spreadsheet: `2026-04-15`, `2026/4/15`,
/// `2026.4.15`, `20260415`, `2026年4月15日`, or an Excel serial day number
/// (what a date cell holds; 1900 date system).
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Some(d) = excel_serial(s) {
        return Some(d);
    }
    // A time part ("2026-04-15 00:00:00", "2026-04-15T00:00") is ignored.
    let s = s.split([' ', 'T']).next().unwrap_or(s);
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        return NaiveDate::parse_from_str(s, "%Y%m%d").ok();
    }
    let s = s.replace(['年', '月', '/', '.'], "-").replace('日', "");
    let mut parts = s.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

/// An Excel serial day (days since 1899-12-30), as a date cell read as a
/// number gives it; only plausible dates (1950–2100) are taken as one.
fn excel_serial(s: &str) -> Option<NaiveDate> {
    let v: f64 = s.parse().ok()?;
    if !(18_264.0..=73_051.0).contains(&v) {
        return None;
    }
    let base = NaiveDate::from_ymd_opt(1899, 12, 30)?;
    base.checked_add_days(chrono::Days::new(v.floor() as u64))
}

/// The date of an Excel serial number (the value of a date cell).
pub fn date_of_serial(v: f64) -> Option<NaiveDate> {
    let d = NaiveDate::from_ymd_opt(1899, 12, 30)?.checked_add_days(chrono::Days::new(v.max(0.0).floor() as u64))?;
    (d.year() < 10_000).then_some(d)
}

/// A record type given by code or by its Chinese name.
pub fn record_type(s: &str) -> Option<&'static str> {
    RECORD_TYPES.iter().find(|(code, label)| s == *code || s == *label).map(|(code, _)| *code)
}

/// A severity given by code or by its Chinese name.
pub fn severity(s: &str) -> Option<&'static str> {
    Severity::ALL.into_iter().find(|v| s == v.as_str() || s == v.label_zh()).map(Severity::as_str)
}

/// A regime given by code or by the name of its governing document.
pub fn regime(s: &str) -> Option<&'static str> {
    Regime::ALL
        .into_iter()
        .find(|r| s == r.as_str() || s == r.label_zh() || r.label_zh().split(" / ").any(|part| part == s))
        .map(Regime::as_str)
}

/// A record's source given by code or in Chinese.
pub fn source(s: &str) -> Option<&'static str> {
    match s {
        "local" | "本地" | "本地归集" => Some("local"),
        "samr" | "市场监管" | "市场监管部门" | "SAMR" => Some("samr"),
        _ => None,
    }
}

/// Headers of the annotated copy of a sheet: the sheet's own plus one that
/// says what was wrong with the row.
pub const RESULT_HEADER: &str = "校验结果";

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn header_rows_are_recognised_by_their_required_columns() {
        let l = layout(&strings(&[
            "统一社会信用代码*",
            "主体名称",
            "信息类型",
            "信息名称",
            "失信程度",
            "决定书文号",
            "决定日期（必填）",
            "备注",
        ]))
        .unwrap();
        assert_eq!(l.kind, Kind::Records);
        let row =
            strings(&["91370100MA3C4XYZ12", "甲公司", "行政处罚", "t", "一般", " 济环罚〔2026〕1号 ", "2026-04-15"]);
        assert_eq!(l.get(&row, "document_no"), "济环罚〔2026〕1号");
        assert_eq!(l.opt(&row, "content"), None);
        assert_eq!(layout(&strings(&["决定书文号", "惩戒措施"])).unwrap().kind, Kind::Sanctions);
        assert_eq!(layout(&strings(&["\u{feff}决定书文号", "名单名称", "列入日期"])).unwrap().kind, Kind::ListEntries);
        assert_eq!(layout(&strings(&["决定书文号"])), Err(LayoutError::Unknown));
        assert_eq!(
            layout(&strings(&["决定书文号", "名单名称", "名单名称"])),
            Err(LayoutError::Duplicate("名单名称".into()))
        );
    }

    #[test]
    fn dates_are_read_as_people_write_them() {
        let d = NaiveDate::from_ymd_opt(2026, 4, 15);
        for s in ["2026-04-15", "2026/4/15", "2026.4.15", "20260415", "2026年4月15日", "2026-04-15 00:00:00", "46127"]
        {
            assert_eq!(parse_date(s), d, "{s}");
        }
        for s in ["", "2026-13-01", "26-4-15", "2026-04", "明天", "12", "2026-02-30"] {
            assert_eq!(parse_date(s), None, "{s}");
        }
        assert_eq!(date_of_serial(46127.0), d);
    }

    #[test]
    fn enumerated_values_take_codes_or_chinese_names() {
        assert_eq!(record_type("行政处罚"), Some("administrative_penalty"));
        assert_eq!(record_type("other"), Some("other"));
        assert_eq!(record_type("罚款"), None);
        assert_eq!(severity("严重"), Some("serious"));
        assert_eq!(severity("特定严重失信"), Some("legacy_specific_serious"));
        assert_eq!(severity("很严重"), None);
        assert_eq!(regime("令第58号"), Some("order58"));
        assert_eq!(regime("令第36号"), Some("current"));
        assert_eq!(regime("legacy527"), Some("legacy527"));
        assert_eq!(source("市场监管"), Some("samr"));
        assert_eq!(Kind::Records.header_for("decision_date"), "决定日期");
        assert_eq!(Kind::Records.header_for("unknown"), "统一社会信用代码");
    }
}
