//! Working-day calendar used to compute statutory deadlines.
//!
//! A working day is a Monday to Friday that is not a holiday off-day, or a
//! make-up working day (调休: a Saturday or Sunday declared a workday).
//!
//! Official arrangements are loaded per year from [`YearFile`]s (the 2025 and
//! 2026 ones are embedded). For a year without a loaded arrangement, a
//! provisional calendar is derived from the statutory rule
//! (《全国年节及纪念日放假办法》 as revised in 2024) and the lunar/solar-term
//! table in `calendar/lunar.toml`; results that depend on such a year are
//! flagged as provisional.
//!
//! Deadlines "within N working days of receipt" do not count the receipt day:
//! the due date is the Nth working day strictly after the receipt date. This
//! module only deals with dates; the time of day (24:00 Asia/Shanghai) is the
//! caller's concern.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Official arrangements embedded in the binary, as `(year, json)`.
pub const BUILTIN_YEARS: &[(i32, &str)] =
    &[(2025, include_str!("../../calendar/2025.json")), (2026, include_str!("../../calendar/2026.json"))];

/// Lunar/solar-term table used for provisional years.
pub const LUNAR_TABLE: &str = include_str!("../../calendar/lunar.toml");

/// Maximum number of calendar days a single computation may scan.
pub const MAX_SCAN_DAYS: u32 = 3660;

/// `source` of a [`YearFile`] produced by [`provisional_year`].
pub const PROVISIONAL_SOURCE: &str = "依据《全国年节及纪念日放假办法》推算的临时安排";

/// Errors raised by the calendar.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CalendarError {
    /// A calendar file (JSON year file or lunar table) could not be parsed.
    #[error("日历数据解析失败：{0}")]
    Parse(String),
    /// A day entry lies outside the year of its file.
    #[error("日期 {date} 不属于 {year} 年的节假日安排")]
    DayOutsideYear { year: i32, date: NaiveDate },
    /// A make-up working day is not a Saturday or Sunday.
    #[error("调休上班日 {date} 不是周六或周日")]
    MakeUpNotWeekend { date: NaiveDate },
    /// The same date is listed both as an off-day and as a make-up day.
    #[error("日期 {date} 同时被标记为放假日和调休上班日")]
    OffDayIsMakeUp { date: NaiveDate },
    /// The same date is listed more than once.
    #[error("日期 {date} 在节假日安排中重复出现")]
    DuplicateDate { date: NaiveDate },
    /// No arrangement is loaded for the year and the lunar table has no row.
    #[error("{0} 年的节假日安排尚未加载，且无法推算临时日历")]
    YearUnavailable(i32),
    /// The computation would scan more than [`MAX_SCAN_DAYS`] days.
    #[error("工作日推算超出 {limit} 天的扫描上限", limit = MAX_SCAN_DAYS)]
    TooManyDays,
    /// A year's arrangement lacks statutory holidays, or its counts are implausible.
    #[error("{year} 年的节假日安排不完整：{}", problems.join("；"))]
    Incomplete { year: i32, problems: Vec<String> },
}

impl CalendarError {
    /// Stable machine-readable error code.
    pub fn code(&self) -> &'static str {
        match self {
            CalendarError::Parse(_) => "calendar_parse",
            CalendarError::DayOutsideYear { .. } => "calendar_day_outside_year",
            CalendarError::MakeUpNotWeekend { .. } => "calendar_make_up_not_weekend",
            CalendarError::OffDayIsMakeUp { .. } => "calendar_off_day_is_make_up",
            CalendarError::DuplicateDate { .. } => "calendar_duplicate_date",
            CalendarError::YearUnavailable(_) => "calendar_year_unavailable",
            CalendarError::TooManyDays => "calendar_too_many_days",
            CalendarError::Incomplete { .. } => "calendar_incomplete",
        }
    }
}

/// One year's holiday arrangement.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct YearFile {
    pub year: i32,
    #[serde(default)]
    pub source: Option<String>,
    pub days: Vec<DayEntry>,
}

/// A special day: an off-day (`off: true`) or a make-up working day
/// (`off: false`).
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct DayEntry {
    pub date: NaiveDate,
    pub name: String,
    pub off: bool,
}

impl YearFile {
    /// Parses a year file from JSON. Does not validate; see [`YearFile::validate`].
    pub fn parse_json(s: &str) -> Result<YearFile, CalendarError> {
        serde_json::from_str(s).map_err(|e| CalendarError::Parse(e.to_string()))
    }

    /// Checks that every date lies inside `year`, that make-up days fall on a
    /// Saturday or Sunday, and that no date is listed twice.
    pub fn validate(&self) -> Result<(), CalendarError> {
        let mut seen: BTreeMap<NaiveDate, bool> = BTreeMap::new();
        for entry in &self.days {
            if entry.date.year() != self.year {
                return Err(CalendarError::DayOutsideYear { year: self.year, date: entry.date });
            }
            if !entry.off && !is_weekend(entry.date) {
                return Err(CalendarError::MakeUpNotWeekend { date: entry.date });
            }
            if let Some(prev_off) = seen.insert(entry.date, entry.off) {
                return Err(if prev_off == entry.off {
                    CalendarError::DuplicateDate { date: entry.date }
                } else {
                    CalendarError::OffDayIsMakeUp { date: entry.date }
                });
            }
        }
        Ok(())
    }
}

/// The statutory holidays of `year` (全国年节及纪念日放假办法, as revised
/// from 2025: 春节 from 除夕, 劳动节 two days), by name and date. The lunar
/// festivals need the lunar table's row for the year; without it only the
/// fixed-date ones are listed.
pub fn statutory_days(year: i32, lunar: Option<&LunarYear>) -> Vec<(&'static str, NaiveDate)> {
    let ymd = |m, d| NaiveDate::from_ymd_opt(year, m, d);
    let mut out: Vec<(&'static str, NaiveDate)> = Vec::new();
    let revised = year >= 2025;
    out.extend(ymd(1, 1).map(|d| ("元旦", d)));
    if let Some(l) = lunar {
        let first = if revised { 0 } else { 1 };
        for i in first..=3 {
            out.push(("春节", l.chuxi + chrono::Duration::days(i)));
        }
        out.push(("清明节", l.qingming));
        out.push(("端午节", l.duanwu));
        out.push(("中秋节", l.zhongqiu));
    }
    out.extend(ymd(5, 1).map(|d| ("劳动节", d)));
    if revised {
        out.extend(ymd(5, 2).map(|d| ("劳动节", d)));
    }
    for d in 1..=3 {
        out.extend(ymd(10, d).map(|d| ("国庆节", d)));
    }
    out.sort_by_key(|(_, d)| *d);
    out
}

/// Most off-days and make-up days a plausible year has (the State Council
/// arrangements since 2008 stay well inside these).
const MAX_OFF_DAYS: usize = 40;
const MAX_MAKE_UP_DAYS: usize = 10;

impl YearFile {
    /// Checks that the arrangement holds every statutory holiday of its year
    /// as an off-day and that its counts are plausible; names what is missing.
    pub fn check_complete(&self, lunar: Option<&LunarYear>) -> Result<(), CalendarError> {
        let off: std::collections::BTreeSet<NaiveDate> = self.days.iter().filter(|d| d.off).map(|d| d.date).collect();
        let make_up = self.days.iter().filter(|d| !d.off).count();
        let mut problems: Vec<String> = statutory_days(self.year, lunar)
            .into_iter()
            .filter(|(_, d)| !off.contains(d))
            .map(|(name, d)| format!("缺少{name}（{d}）"))
            .collect();
        if off.len() > MAX_OFF_DAYS {
            problems.push(format!("放假日 {} 天，超过合理上限 {MAX_OFF_DAYS} 天", off.len()));
        }
        if make_up > MAX_MAKE_UP_DAYS {
            problems.push(format!("调休上班日 {make_up} 天，超过合理上限 {MAX_MAKE_UP_DAYS} 天"));
        }
        if problems.is_empty() { Ok(()) } else { Err(CalendarError::Incomplete { year: self.year, problems }) }
    }
}

/// Lunar and solar-term dates of one Gregorian year.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LunarYear {
    /// 除夕 (Chinese New Year's Eve).
    pub chuxi: NaiveDate,
    /// 清明.
    pub qingming: NaiveDate,
    /// 端午.
    pub duanwu: NaiveDate,
    /// 中秋.
    pub zhongqiu: NaiveDate,
}

/// Table of [`LunarYear`]s keyed by Gregorian year.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LunarTable {
    pub years: BTreeMap<i32, LunarYear>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLunarTable {
    #[serde(default)]
    years: BTreeMap<String, RawLunarYear>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLunarYear {
    chuxi: String,
    qingming: String,
    duanwu: String,
    zhongqiu: String,
}

impl LunarTable {
    /// Parses a table in the `calendar/lunar.toml` format.
    pub fn parse_toml(s: &str) -> Result<LunarTable, CalendarError> {
        let raw: RawLunarTable = toml::from_str(s).map_err(|e| CalendarError::Parse(e.to_string()))?;
        let mut years = BTreeMap::new();
        for (key, row) in raw.years {
            let year: i32 = key.parse().map_err(|_| CalendarError::Parse(format!("农历表中的年份“{key}”无效")))?;
            let entry = LunarYear {
                chuxi: lunar_date(year, "除夕", &row.chuxi, &[1, 2])?,
                qingming: lunar_date(year, "清明", &row.qingming, &[4])?,
                duanwu: lunar_date(year, "端午", &row.duanwu, &[5, 6])?,
                zhongqiu: lunar_date(year, "中秋", &row.zhongqiu, &[9, 10])?,
            };
            years.insert(year, entry);
        }
        Ok(LunarTable { years })
    }

    /// The embedded table ([`LUNAR_TABLE`]).
    ///
    /// # Panics
    /// Panics if the embedded file is broken (a unit test proves it is not).
    pub fn builtin() -> LunarTable {
        LunarTable::parse_toml(LUNAR_TABLE).expect("embedded calendar/lunar.toml is invalid")
    }
}

/// Parses an `MM-DD` value of the lunar table and checks its month.
fn lunar_date(year: i32, label: &str, value: &str, months: &[u32]) -> Result<NaiveDate, CalendarError> {
    let invalid = || CalendarError::Parse(format!("{year} 年的{label}日期“{value}”无效"));
    let (m, d) = value.split_once('-').ok_or_else(invalid)?;
    let (m, d): (u32, u32) = (m.parse().map_err(|_| invalid())?, d.parse().map_err(|_| invalid())?);
    let date = NaiveDate::from_ymd_opt(year, m, d).ok_or_else(invalid)?;
    if !months.contains(&m) {
        return Err(CalendarError::Parse(format!("{year} 年的{label}日期“{value}”超出合理范围")));
    }
    Ok(date)
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// Adds a statutory holiday day, joining names when two holidays coincide.
fn add_holiday(off: &mut BTreeMap<NaiveDate, String>, date: NaiveDate, name: &str) {
    match off.get_mut(&date) {
        Some(existing) => {
            if !existing.split('、').any(|part| part == name) {
                existing.push('、');
                existing.push_str(name);
            }
        }
        None => {
            off.insert(date, name.to_owned());
        }
    }
}

/// Builds a provisional [`YearFile`] from the statutory rule, or `None` if
/// `year` is not in the lunar table.
///
/// Statutory holidays: 元旦 Jan 1; 春节 除夕 plus the three following days;
/// 清明 1 day; 劳动节 May 1–2; 端午 1 day; 中秋 1 day; 国庆 Oct 1–3. When
/// two holidays fall on the same date the date is off once. Every holiday day
/// that falls on a Saturday or Sunday is compensated (补假, Art. 6) by the
/// next Monday–Friday that is not already off, processed in date order. No
/// make-up working days are produced.
pub fn provisional_year(year: i32, lunar: &LunarTable) -> Option<YearFile> {
    let row = lunar.years.get(&year)?;
    let ymd = |m: u32, d: u32| NaiveDate::from_ymd_opt(year, m, d);

    let mut off: BTreeMap<NaiveDate, String> = BTreeMap::new();
    add_holiday(&mut off, ymd(1, 1)?, "元旦");
    for i in 0..4 {
        add_holiday(&mut off, row.chuxi.checked_add_days(Days::new(i))?, "春节");
    }
    add_holiday(&mut off, row.qingming, "清明节");
    add_holiday(&mut off, ymd(5, 1)?, "劳动节");
    add_holiday(&mut off, ymd(5, 2)?, "劳动节");
    add_holiday(&mut off, row.duanwu, "端午节");
    for d in 1..=3 {
        add_holiday(&mut off, ymd(10, d)?, "国庆节");
    }
    add_holiday(&mut off, row.zhongqiu, "中秋节");

    let on_weekend: Vec<(NaiveDate, String)> =
        off.iter().filter(|(d, _)| is_weekend(**d)).map(|(d, n)| (*d, n.clone())).collect();
    for (date, name) in on_weekend {
        let mut candidate = date;
        loop {
            candidate = candidate.succ_opt()?;
            if candidate.year() != year {
                break;
            }
            if !is_weekend(candidate) && !off.contains_key(&candidate) {
                off.insert(candidate, format!("{name}（补假）"));
                break;
            }
        }
    }

    Some(YearFile {
        year,
        source: Some(PROVISIONAL_SOURCE.to_owned()),
        days: off
            .into_iter()
            .filter(|(d, _)| d.year() == year)
            .map(|(date, name)| DayEntry { date, name, off: true })
            .collect(),
    })
}

/// Classification of a single date.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct DayInfo {
    /// Whether the date is a working day.
    pub working: bool,
    /// Whether the answer comes from a provisional (derived) calendar.
    pub provisional: bool,
    /// Holiday name for off-days and make-up days, `None` for ordinary days.
    pub name: Option<String>,
}

/// Result of [`Calendar::add_working_days`].
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct DueDate {
    /// The Nth working day after the start date.
    pub due: NaiveDate,
    /// The working days counted, in order (`counted.last() == Some(&due)`
    /// unless N is 0).
    pub counted: Vec<NaiveDate>,
    /// Whether any scanned day came from a provisional calendar.
    pub provisional: bool,
    /// The provisional years touched, ascending.
    pub provisional_years: Vec<i32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Mark {
    off: bool,
    name: String,
}

type YearDays = BTreeMap<NaiveDate, Mark>;

fn year_days(y: &YearFile) -> YearDays {
    y.days
        .iter()
        .filter(|e| e.date.year() == y.year)
        .map(|e| (e.date, Mark { off: e.off, name: e.name.clone() }))
        .collect()
}

/// Working-day calendar: loaded official years plus provisional years derived
/// from the lunar table. Loaded years take precedence.
#[derive(Clone, Debug, Default)]
pub struct Calendar {
    loaded: BTreeMap<i32, YearDays>,
    provisional: BTreeMap<i32, YearDays>,
    lunar: LunarTable,
}

impl Calendar {
    /// The embedded 2025 and 2026 arrangements plus the embedded lunar table.
    ///
    /// # Panics
    /// Panics if an embedded file is broken (a unit test proves they are not).
    pub fn builtin() -> Calendar {
        let years = BUILTIN_YEARS
            .iter()
            .map(|(year, json)| {
                let file = YearFile::parse_json(json)
                    .unwrap_or_else(|e| panic!("embedded calendar/{year}.json is invalid: {e}"));
                file.validate().unwrap_or_else(|e| panic!("embedded calendar/{year}.json is invalid: {e}"));
                file
            })
            .collect();
        Calendar::new(years)
    }

    /// Calendar with the given years plus the embedded lunar table.
    ///
    /// The year files are not validated (entries dated outside their file's
    /// year are ignored, a later duplicate wins); use
    /// [`Calendar::load_year`] for untrusted input.
    ///
    /// # Panics
    /// Panics if the embedded lunar table is broken.
    pub fn new(years: Vec<YearFile>) -> Calendar {
        let lunar = LunarTable::builtin();
        let provisional =
            lunar.years.keys().filter_map(|&y| provisional_year(y, &lunar)).map(|f| (f.year, year_days(&f))).collect();
        let loaded = years.iter().map(|f| (f.year, year_days(f))).collect();
        Calendar { loaded, provisional, lunar }
    }

    /// Validates `y` and loads it, replacing any arrangement for that year.
    /// On error the calendar is unchanged.
    pub fn load_year(&mut self, y: YearFile) -> Result<(), CalendarError> {
        y.validate()?;
        self.loaded.insert(y.year, year_days(&y));
        Ok(())
    }

    /// Reverts `year` to provisional: its official arrangement is dropped and
    /// the estimate from the lunar table counts again. Refused (calendar
    /// unchanged) when there is no estimate for the year, since deadlines
    /// could not be counted at all.
    pub fn unload_year(&mut self, year: i32) -> Result<(), CalendarError> {
        if !self.provisional.contains_key(&year) {
            return Err(CalendarError::YearUnavailable(year));
        }
        self.loaded.remove(&year);
        Ok(())
    }

    /// Years with a loaded (official) arrangement, ascending.
    pub fn loaded_years(&self) -> Vec<i32> {
        self.loaded.keys().copied().collect()
    }

    /// Whether an official arrangement is loaded for `year`.
    pub fn is_loaded(&self, year: i32) -> bool {
        self.loaded.contains_key(&year)
    }

    /// The lunar table used for provisional years.
    pub fn lunar_table(&self) -> &LunarTable {
        &self.lunar
    }

    /// Special days of the year holding `d`, and whether they are provisional.
    fn year_of(&self, d: NaiveDate) -> Result<(&YearDays, bool), CalendarError> {
        let year = d.year();
        if let Some(days) = self.loaded.get(&year) {
            Ok((days, false))
        } else if let Some(days) = self.provisional.get(&year) {
            Ok((days, true))
        } else {
            Err(CalendarError::YearUnavailable(year))
        }
    }

    /// Returns `(working, provisional)` for `d` without allocating.
    fn classify(&self, d: NaiveDate) -> Result<(bool, bool), CalendarError> {
        let (days, provisional) = self.year_of(d)?;
        let working = days.get(&d).map_or(!is_weekend(d), |m| !m.off);
        Ok((working, provisional))
    }

    /// Classifies a single date.
    pub fn day(&self, d: NaiveDate) -> Result<DayInfo, CalendarError> {
        let (days, provisional) = self.year_of(d)?;
        let mark = days.get(&d);
        Ok(DayInfo {
            working: mark.map_or(!is_weekend(d), |m| !m.off),
            provisional,
            name: mark.map(|m| m.name.clone()),
        })
    }

    /// The Nth working day strictly after `from` (the start day itself is
    /// never counted). `n == 0` returns `from` with nothing counted.
    pub fn add_working_days(&self, from: NaiveDate, n: u32) -> Result<DueDate, CalendarError> {
        if n > MAX_SCAN_DAYS {
            return Err(CalendarError::TooManyDays);
        }
        let target = n as usize;
        let mut counted = Vec::with_capacity(target);
        let mut provisional_years = BTreeSet::new();
        let mut current = from;
        let mut scanned = 0u32;
        while counted.len() < target {
            if scanned >= MAX_SCAN_DAYS {
                return Err(CalendarError::TooManyDays);
            }
            current = current.succ_opt().ok_or(CalendarError::TooManyDays)?;
            scanned += 1;
            let (working, provisional) = self.classify(current)?;
            if provisional {
                provisional_years.insert(current.year());
            }
            if working {
                counted.push(current);
            }
        }
        Ok(DueDate {
            due: current,
            counted,
            provisional: !provisional_years.is_empty(),
            provisional_years: provisional_years.into_iter().collect(),
        })
    }

    /// Number of working days `d` with `after < d <= up_to`, and whether any
    /// scanned day was provisional. Returns `(0, false)` when
    /// `up_to <= after`.
    pub fn working_days_between(&self, after: NaiveDate, up_to: NaiveDate) -> Result<(u32, bool), CalendarError> {
        if up_to <= after {
            return Ok((0, false));
        }
        if (up_to - after).num_days() > i64::from(MAX_SCAN_DAYS) {
            return Err(CalendarError::TooManyDays);
        }
        let mut count = 0u32;
        let mut any_provisional = false;
        let mut current = after;
        while current < up_to {
            current = current.succ_opt().ok_or(CalendarError::TooManyDays)?;
            let (working, provisional) = self.classify(current)?;
            any_provisional |= provisional;
            if working {
                count += 1;
            }
        }
        Ok((count, any_provisional))
    }

    /// The first working day strictly after `d`.
    pub fn next_working_day(&self, d: NaiveDate) -> Result<NaiveDate, CalendarError> {
        self.add_working_days(d, 1).map(|due| due.due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
    }

    fn dates(list: &[(i32, u32, u32)]) -> Vec<NaiveDate> {
        list.iter().map(|&(y, m, d)| date(y, m, d)).collect()
    }

    fn is_off(cal: &Calendar, d: NaiveDate) -> bool {
        !cal.day(d).expect("day available").working
    }

    #[test]
    fn embedded_files_parse_and_validate() {
        for (year, json) in BUILTIN_YEARS {
            let file = YearFile::parse_json(json).expect("embedded json parses");
            assert_eq!(file.year, *year);
            file.validate().expect("embedded json validates");
            assert!(file.source.as_deref().is_some_and(|s| s.contains("国务院")));
        }
        let lunar = LunarTable::parse_toml(LUNAR_TABLE).expect("embedded toml parses");
        assert_eq!(lunar.years.keys().copied().collect::<Vec<_>>(), (2025..=2035).collect::<Vec<_>>());
        assert_eq!(lunar.years[&2027].chuxi, date(2027, 2, 5));
        assert_eq!(lunar.years[&2028].zhongqiu, date(2028, 10, 3));

        let cal = Calendar::builtin();
        assert_eq!(cal.loaded_years(), vec![2025, 2026]);
        assert!(cal.is_loaded(2026));
        assert!(!cal.is_loaded(2027));
        assert_eq!(cal.lunar_table(), &lunar);
    }

    #[test]
    fn embedded_files_match_published_counts() {
        let counts = |json: &str| {
            let f = YearFile::parse_json(json).unwrap();
            let off = f.days.iter().filter(|e| e.off).count();
            (off, f.days.len() - off)
        };
        assert_eq!(counts(BUILTIN_YEARS[0].1), (28, 5));
        assert_eq!(counts(BUILTIN_YEARS[1].1), (33, 6));
    }

    #[test]
    fn builtin_day_classification() {
        let cal = Calendar::builtin();
        let info = cal.day(date(2026, 10, 10)).unwrap();
        assert_eq!(info, DayInfo { working: true, provisional: false, name: Some("国庆节".to_owned()) });
        let info = cal.day(date(2026, 10, 1)).unwrap();
        assert!(!info.working);
        assert_eq!(info.name.as_deref(), Some("国庆节"));
        // Ordinary weekday and weekend.
        let info = cal.day(date(2026, 3, 2)).unwrap();
        assert_eq!(info, DayInfo { working: true, provisional: false, name: None });
        assert!(!cal.day(date(2026, 3, 1)).unwrap().working);
        assert!(cal.day(date(2025, 1, 26)).unwrap().working);
        assert!(!cal.day(date(2025, 10, 8)).unwrap().working);
    }

    #[test]
    fn vector_mid_autumn_three_days() {
        let cal = Calendar::builtin();
        let due = cal.add_working_days(date(2026, 9, 24), 3).unwrap();
        assert_eq!(due.due, date(2026, 9, 30));
        assert_eq!(due.counted, dates(&[(2026, 9, 28), (2026, 9, 29), (2026, 9, 30)]));
        assert!(!due.provisional);
        assert!(due.provisional_years.is_empty());
    }

    #[test]
    fn vector_national_day_seven_days() {
        let cal = Calendar::builtin();
        let due = cal.add_working_days(date(2026, 9, 24), 7).unwrap();
        assert_eq!(due.due, date(2026, 10, 12));
        assert_eq!(
            due.counted,
            dates(&[
                (2026, 9, 28),
                (2026, 9, 29),
                (2026, 9, 30),
                (2026, 10, 8),
                (2026, 10, 9),
                (2026, 10, 10),
                (2026, 10, 12),
            ])
        );
        assert!(!due.provisional);
    }

    #[test]
    fn vector_spring_festival_ten_days() {
        let cal = Calendar::builtin();
        let due = cal.add_working_days(date(2026, 2, 13), 10).unwrap();
        assert_eq!(due.due, date(2026, 3, 5));
        assert_eq!(
            due.counted,
            dates(&[
                (2026, 2, 14),
                (2026, 2, 24),
                (2026, 2, 25),
                (2026, 2, 26),
                (2026, 2, 27),
                (2026, 2, 28),
                (2026, 3, 2),
                (2026, 3, 3),
                (2026, 3, 4),
                (2026, 3, 5),
            ])
        );
    }

    #[test]
    fn vector_labour_day_three_days() {
        let cal = Calendar::builtin();
        let due = cal.add_working_days(date(2026, 4, 30), 3).unwrap();
        assert_eq!(due.due, date(2026, 5, 8));
        assert_eq!(due.counted, dates(&[(2026, 5, 6), (2026, 5, 7), (2026, 5, 8)]));
    }

    #[test]
    fn vector_across_new_year() {
        let cal = Calendar::builtin();
        let due = cal.add_working_days(date(2025, 12, 31), 7).unwrap();
        assert_eq!(due.due, date(2026, 1, 12));
        assert_eq!(due.counted[0], date(2026, 1, 4));
        assert_eq!(due.counted.len(), 7);
        assert!(!due.provisional);
    }

    #[test]
    fn vector_into_provisional_year() {
        let cal = Calendar::builtin();
        let due = cal.add_working_days(date(2026, 12, 28), 5).unwrap();
        assert!(due.provisional);
        assert_eq!(due.provisional_years, vec![2027]);
        assert!(!due.counted.contains(&date(2027, 1, 1)));
        assert_eq!(due.counted, dates(&[(2026, 12, 29), (2026, 12, 30), (2026, 12, 31), (2027, 1, 4), (2027, 1, 5),]));
        assert_eq!(due.due, date(2027, 1, 5));
        let info = cal.day(date(2027, 1, 1)).unwrap();
        assert!(!info.working);
        assert!(info.provisional);
        assert_eq!(info.name.as_deref(), Some("元旦"));
    }

    #[test]
    fn not_provisional_when_provisional_year_is_not_reached() {
        let cal = Calendar::builtin();
        let due = cal.add_working_days(date(2026, 12, 28), 3).unwrap();
        assert_eq!(due.due, date(2026, 12, 31));
        assert!(!due.provisional);
    }

    #[test]
    fn zero_days_returns_start() {
        let cal = Calendar::builtin();
        let due = cal.add_working_days(date(2026, 10, 1), 0).unwrap();
        assert_eq!(
            due,
            DueDate { due: date(2026, 10, 1), counted: Vec::new(), provisional: false, provisional_years: Vec::new() }
        );
        // Even for a year that is not available at all.
        let due = cal.add_working_days(date(2040, 1, 1), 0).unwrap();
        assert_eq!(due.due, date(2040, 1, 1));
    }

    #[test]
    fn provisional_2027_spring_festival() {
        let cal = Calendar::builtin();
        // 除夕 Fri 02-05 to 初三 Mon 02-08.
        for d in 5..=8 {
            let info = cal.day(date(2027, 2, d)).unwrap();
            assert!(!info.working, "2027-02-{d:02} should be off");
            assert!(info.provisional);
        }
        // Sat 02-06 and Sun 02-07 are compensated on Tue 02-09 and Wed 02-10.
        assert!(is_off(&cal, date(2027, 2, 9)));
        assert!(is_off(&cal, date(2027, 2, 10)));
        assert_eq!(cal.day(date(2027, 2, 9)).unwrap().name.as_deref(), Some("春节（补假）"));
        assert!(!is_off(&cal, date(2027, 2, 4)));
        assert!(!is_off(&cal, date(2027, 2, 11)));
    }

    #[test]
    fn provisional_2027_labour_day_compensation() {
        let cal = Calendar::builtin();
        assert_eq!(date(2027, 5, 1).weekday(), Weekday::Sat);
        assert!(is_off(&cal, date(2027, 5, 1)));
        assert!(is_off(&cal, date(2027, 5, 2)));
        let mon = cal.day(date(2027, 5, 3)).unwrap();
        assert!(!mon.working);
        assert_eq!(mon.name.as_deref(), Some("劳动节（补假）"));
        // Sun 05-02 is a statutory holiday too, compensated on Tue 05-04.
        assert!(is_off(&cal, date(2027, 5, 4)));
        assert!(!is_off(&cal, date(2027, 5, 5)));
    }

    #[test]
    fn provisional_years_have_no_make_up_days() {
        let lunar = LunarTable::builtin();
        for &year in lunar.years.keys() {
            let file = provisional_year(year, &lunar).expect("year in table");
            file.validate().expect("provisional file validates");
            assert!(file.days.iter().all(|e| e.off));
            assert!(file.days.iter().all(|e| e.date.year() == year));
            assert_eq!(file.source.as_deref(), Some(PROVISIONAL_SOURCE));
            // 11 statutory days minus coincidences; compensation only adds.
            assert!(file.days.len() >= 10, "{year}: {}", file.days.len());
        }
        assert!(provisional_year(2036, &lunar).is_none());
    }

    #[test]
    fn provisional_coinciding_holidays_are_joined() {
        let lunar = LunarTable::builtin();
        let file = provisional_year(2028, &lunar).unwrap();
        let oct3 = file.days.iter().find(|e| e.date == date(2028, 10, 3)).unwrap();
        assert_eq!(oct3.name, "国庆节、中秋节");
    }

    #[test]
    fn provisional_rule_agrees_with_published_years() {
        // Every statutory day (with 补假) derived for 2025/2026 must be an
        // off-day in the published arrangement.
        let lunar = LunarTable::builtin();
        for (year, json) in BUILTIN_YEARS {
            let official = YearFile::parse_json(json).unwrap();
            let official_off: BTreeSet<NaiveDate> = official.days.iter().filter(|e| e.off).map(|e| e.date).collect();
            let derived = provisional_year(*year, &lunar).unwrap();
            for e in &derived.days {
                assert!(
                    official_off.contains(&e.date),
                    "{} ({}) not off in the published {year} arrangement",
                    e.date,
                    e.name
                );
            }
        }
    }

    #[test]
    fn year_past_table_is_unavailable() {
        let cal = Calendar::builtin();
        let err = cal.day(date(2036, 3, 2)).unwrap_err();
        assert_eq!(err, CalendarError::YearUnavailable(2036));
        assert_eq!(err.code(), "calendar_year_unavailable");
        assert_eq!(CalendarError::YearUnavailable(2040).to_string(), "2040 年的节假日安排尚未加载，且无法推算临时日历");
        let err = cal.add_working_days(date(2035, 12, 28), 5).unwrap_err();
        assert_eq!(err, CalendarError::YearUnavailable(2036));
        assert_eq!(cal.day(date(2024, 6, 3)).unwrap_err(), CalendarError::YearUnavailable(2024));
        let empty = Calendar::default();
        assert_eq!(empty.day(date(2026, 1, 5)).unwrap_err(), CalendarError::YearUnavailable(2026));
    }

    #[test]
    fn loading_a_year_removes_provisional_flag() {
        let mut cal = Calendar::builtin();
        let before = cal.add_working_days(date(2026, 12, 28), 5).unwrap();
        assert!(before.provisional);

        let y2027 = YearFile {
            year: 2027,
            source: Some("测试".to_owned()),
            days: vec![DayEntry { date: date(2027, 1, 1), name: "元旦".to_owned(), off: true }],
        };
        cal.load_year(y2027).unwrap();
        assert!(cal.is_loaded(2027));
        assert_eq!(cal.loaded_years(), vec![2025, 2026, 2027]);

        let after = cal.add_working_days(date(2026, 12, 28), 5).unwrap();
        assert_eq!(after.due, before.due);
        assert_eq!(after.counted, before.counted);
        assert!(!after.provisional);
        assert!(after.provisional_years.is_empty());
        // The loaded file replaces the provisional arrangement entirely.
        assert!(!is_off(&cal, date(2027, 2, 9)));
    }

    #[test]
    fn load_year_replaces_existing_year() {
        let mut cal = Calendar::builtin();
        assert!(is_off(&cal, date(2026, 10, 1)));
        cal.load_year(YearFile { year: 2026, source: None, days: Vec::new() }).unwrap();
        assert!(!is_off(&cal, date(2026, 10, 1)));
        assert!(is_off(&cal, date(2026, 10, 10)));
    }

    #[test]
    fn new_uses_given_years_and_lunar_table() {
        let file = YearFile::parse_json(BUILTIN_YEARS[1].1).unwrap();
        let cal = Calendar::new(vec![file]);
        assert_eq!(cal.loaded_years(), vec![2026]);
        // 2025 comes from the provisional table.
        let info = cal.day(date(2025, 1, 28)).unwrap();
        assert!(info.provisional);
        assert!(!info.working);
    }

    #[test]
    fn the_embedded_years_hold_every_statutory_holiday() {
        let cal = Calendar::builtin();
        for (year, json) in BUILTIN_YEARS {
            let file = YearFile::parse_json(json).unwrap();
            let lunar = cal.lunar_table().years.get(&file.year);
            assert!(lunar.is_some(), "{year}: no lunar row");
            file.check_complete(lunar).unwrap_or_else(|e| panic!("{year}: {e}"));
            assert_eq!(statutory_days(file.year, lunar).len(), 13, "{year}");
        }
    }

    #[test]
    fn an_arrangement_without_a_festival_is_refused_by_name() {
        let cal = Calendar::builtin();
        let mut file = YearFile::parse_json(BUILTIN_YEARS.iter().find(|(y, _)| *y == 2026).unwrap().1).unwrap();
        // Drop 中秋 (2026-09-25) and 劳动节's second day.
        file.days.retain(|d| d.date != date(2026, 9, 25) && d.date != date(2026, 5, 2));
        let err = file.check_complete(cal.lunar_table().years.get(&2026)).unwrap_err();
        assert_eq!(err.code(), "calendar_incomplete");
        let text = err.to_string();
        assert!(text.contains("中秋节（2026-09-25）") && text.contains("劳动节（2026-05-02）"), "{text}");
        // Before the 2025 revision: 春节 from 初一, one day for 劳动节.
        let old = statutory_days(2024, None);
        assert_eq!(old.iter().filter(|(n, _)| *n == "劳动节").count(), 1);
    }

    #[test]
    fn validate_rejects_bad_files() {
        let entry = |y, m, d, off| DayEntry { date: date(y, m, d), name: "测试".to_owned(), off };
        let file = |days| YearFile { year: 2027, source: None, days };

        // Make-up day on a Wednesday.
        let err = file(vec![entry(2027, 1, 6, false)]).validate().unwrap_err();
        assert_eq!(err, CalendarError::MakeUpNotWeekend { date: date(2027, 1, 6) });
        assert_eq!(err.code(), "calendar_make_up_not_weekend");

        // Date outside the year.
        let err = file(vec![entry(2026, 12, 31, true)]).validate().unwrap_err();
        assert_eq!(err, CalendarError::DayOutsideYear { year: 2027, date: date(2026, 12, 31) });
        assert_eq!(err.code(), "calendar_day_outside_year");

        // Duplicates.
        let err = file(vec![entry(2027, 1, 1, true), entry(2027, 1, 1, true)]).validate().unwrap_err();
        assert_eq!(err.code(), "calendar_duplicate_date");
        let err = file(vec![entry(2027, 1, 2, true), entry(2027, 1, 2, false)]).validate().unwrap_err();
        assert_eq!(err.code(), "calendar_off_day_is_make_up");

        // Weekend make-up day and weekend off-day are fine.
        file(vec![entry(2027, 1, 2, false), entry(2027, 1, 3, true)]).validate().unwrap();

        // load_year rejects invalid input and leaves the calendar unchanged.
        let mut cal = Calendar::builtin();
        assert!(cal.load_year(file(vec![entry(2027, 1, 6, false)])).is_err());
        assert!(!cal.is_loaded(2027));
    }

    #[test]
    fn parse_errors() {
        let err = YearFile::parse_json("{\"year\": 2027}").unwrap_err();
        assert_eq!(err.code(), "calendar_parse");
        assert!(err.to_string().starts_with("日历数据解析失败"));
        let err = YearFile::parse_json(r#"{"year": 2027, "days": [{"date": "2027-02-30", "name": "x", "off": true}]}"#)
            .unwrap_err();
        assert_eq!(err.code(), "calendar_parse");

        let ok = YearFile::parse_json(r#"{"year": 2027, "days": []}"#).unwrap();
        assert!(ok.source.is_none());

        let bad = [
            "[years.2027]\nchuxi = \"02-30\"\nqingming = \"04-05\"\nduanwu = \"06-09\"\nzhongqiu = \"09-15\"\n",
            "[years.2027]\nchuxi = \"08-05\"\nqingming = \"04-05\"\nduanwu = \"06-09\"\nzhongqiu = \"09-15\"\n",
            "[years.2027]\nchuxi = \"02-05\"\nqingming = \"04-05\"\nduanwu = \"06-09\"\n",
            "[years.abc]\nchuxi = \"02-05\"\nqingming = \"04-05\"\nduanwu = \"06-09\"\nzhongqiu = \"09-15\"\n",
            "[years.2027]\nchuxi = \"0205\"\nqingming = \"04-05\"\nduanwu = \"06-09\"\nzhongqiu = \"09-15\"\n",
        ];
        for s in bad {
            let err = LunarTable::parse_toml(s).unwrap_err();
            assert_eq!(err.code(), "calendar_parse", "{s}");
        }
    }

    #[test]
    fn error_codes_are_distinct() {
        let d = date(2027, 1, 1);
        let errors = [
            CalendarError::Parse(String::new()),
            CalendarError::DayOutsideYear { year: 2026, date: d },
            CalendarError::MakeUpNotWeekend { date: d },
            CalendarError::OffDayIsMakeUp { date: d },
            CalendarError::DuplicateDate { date: d },
            CalendarError::YearUnavailable(2040),
            CalendarError::TooManyDays,
        ];
        let codes: BTreeSet<&str> = errors.iter().map(CalendarError::code).collect();
        assert_eq!(codes.len(), errors.len());
        assert!(CalendarError::TooManyDays.to_string().contains("3660"), "{}", CalendarError::TooManyDays);
    }

    #[test]
    fn runaway_guard() {
        let cal = Calendar::builtin();
        assert_eq!(cal.add_working_days(date(2025, 1, 1), 4000).unwrap_err(), CalendarError::TooManyDays);
        // A calendar where everything is off never finishes counting.
        let mut all_off = Calendar::default();
        for year in 2025..=2040 {
            let days = date(year, 1, 1)
                .iter_days()
                .take_while(|d| d.year() == year)
                .map(|d| DayEntry { date: d, name: "停工".to_owned(), off: true })
                .collect();
            all_off.load_year(YearFile { year, source: None, days }).unwrap();
        }
        assert_eq!(all_off.add_working_days(date(2025, 1, 1), 1).unwrap_err(), CalendarError::TooManyDays);
        assert_eq!(
            cal.working_days_between(date(2025, 1, 1), date(2035, 12, 31)).unwrap_err(),
            CalendarError::TooManyDays
        );
    }

    #[test]
    fn working_days_between_matches_add_working_days() {
        let cal = Calendar::builtin();
        let cases = [(date(2026, 9, 24), 7), (date(2026, 2, 13), 10), (date(2025, 12, 31), 7), (date(2026, 12, 28), 5)];
        for (from, n) in cases {
            let due = cal.add_working_days(from, n).unwrap();
            let (count, provisional) = cal.working_days_between(from, due.due).unwrap();
            assert_eq!(count, n);
            assert_eq!(provisional, due.provisional);
        }
        assert_eq!(cal.working_days_between(date(2026, 10, 1), date(2026, 10, 7)).unwrap(), (0, false));
        assert_eq!(cal.working_days_between(date(2026, 10, 8), date(2026, 10, 8)).unwrap(), (0, false));
        assert_eq!(cal.working_days_between(date(2026, 10, 9), date(2026, 10, 1)).unwrap(), (0, false));
        // Whole published year 2026: 365 - 104 weekend days - 27 weekday
        // off-days + 6 make-up days.
        let (count, provisional) = cal.working_days_between(date(2025, 12, 31), date(2026, 12, 31)).unwrap();
        let file = YearFile::parse_json(BUILTIN_YEARS[1].1).unwrap();
        let weekday_off = file.days.iter().filter(|e| e.off && !is_weekend(e.date)).count() as u32;
        assert_eq!(count, 365 - 104 - weekday_off + 6);
        assert!(!provisional);
    }

    #[test]
    fn next_working_day_examples() {
        let cal = Calendar::builtin();
        assert_eq!(cal.next_working_day(date(2026, 9, 30)).unwrap(), date(2026, 10, 8));
        assert_eq!(cal.next_working_day(date(2026, 10, 9)).unwrap(), date(2026, 10, 10));
        assert_eq!(cal.next_working_day(date(2026, 3, 6)).unwrap(), date(2026, 3, 9));
        assert_eq!(cal.next_working_day(date(2036, 1, 1)).unwrap_err(), CalendarError::YearUnavailable(2036));
    }

    #[test]
    fn due_date_serializes() {
        let cal = Calendar::builtin();
        let due = cal.add_working_days(date(2026, 4, 30), 1).unwrap();
        let json = serde_json::to_value(&due).unwrap();
        assert_eq!(json["due"], "2026-05-06");
        assert_eq!(json["provisional"], false);
    }
}
