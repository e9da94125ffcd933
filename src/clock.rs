//! Time comes from an injectable clock so that tests can move months ahead.

use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};

/// China Standard Time (Asia/Shanghai has had no DST since 1991).
pub fn shanghai() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;

    /// Today's date in Asia/Shanghai.
    fn today(&self) -> NaiveDate {
        self.now().with_timezone(&shanghai()).date_naive()
    }
}

pub type SharedClock = Arc<dyn Clock>;

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The real time shifted by an adjustable offset. Tests hold an `Arc` to it
/// and move it forward while the server runs.
#[derive(Default)]
pub struct ShiftedClock {
    offset_seconds: AtomicI64,
}

impl ShiftedClock {
    pub fn advance_days(&self, days: i64) {
        self.advance_seconds(days * 86_400);
    }
    /// Moves the clock by exactly `seconds` (back when negative).
    pub fn advance_seconds(&self, seconds: i64) {
        self.offset_seconds.fetch_add(seconds, Ordering::SeqCst);
    }
    /// Moves the clock so that now is `target` (UTC).
    pub fn set(&self, target: DateTime<Utc>) {
        self.offset_seconds.store((target - Utc::now()).num_seconds(), Ordering::SeqCst);
    }
    /// Moves the clock to the given local (Asia/Shanghai) date and time.
    pub fn set_local(&self, date: NaiveDate, hour: u32, minute: u32) {
        let local = shanghai()
            .from_local_datetime(&date.and_hms_opt(hour, minute, 0).expect("valid time"))
            .single()
            .expect("fixed offset is unambiguous");
        self.set(local.with_timezone(&Utc));
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::seconds(self.offset_seconds.load(Ordering::SeqCst))
    }
}

/// The local (Asia/Shanghai) date of an instant.
pub fn local_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&shanghai()).date_naive()
}

/// End (24:00) of a local date, as a UTC instant.
pub fn end_of_local_day(date: NaiveDate) -> DateTime<Utc> {
    let next = date.succ_opt().unwrap_or(date);
    shanghai()
        .from_local_datetime(&next.and_hms_opt(0, 0, 0).expect("midnight"))
        .single()
        .expect("fixed offset")
        .with_timezone(&Utc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifted_clock_moves_today() {
        let c = ShiftedClock::default();
        c.set_local(NaiveDate::from_ymd_opt(2026, 9, 24).unwrap(), 23, 30);
        assert_eq!(c.today(), NaiveDate::from_ymd_opt(2026, 9, 24).unwrap());
        c.advance_days(1);
        assert_eq!(c.today(), NaiveDate::from_ymd_opt(2026, 9, 25).unwrap());
    }

    #[test]
    fn end_of_day_is_midnight_shanghai() {
        let d = NaiveDate::from_ymd_opt(2026, 9, 30).unwrap();
        assert_eq!(end_of_local_day(d).to_rfc3339(), "2026-09-30T16:00:00+00:00");
    }
}
