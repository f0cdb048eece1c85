//! The `YYYYMMDDHH` hour IoTDA puts in the client id and keys the password with.
//!
//! A small proleptic-Gregorian conversion from Unix seconds, so that the crate needs no
//! calendar library and no operating-system time zone: the cloud wants the hour in UTC, and
//! an offset is applied only when asked for (to reproduce LuatOS, which uses `localtime`).

use core::fmt;

use iotcloud_core::provider::ProviderError;

/// Seconds in a day.
const DAY: u64 = 86_400;

/// 9999-12-31T23:59:59Z: the last second whose year has four digits.
const LAST_FOUR_DIGIT_SECOND: u64 = 253_402_300_799;

/// An hour of the calendar, as IoTDA writes it: `YYYYMMDDHH` (always 10 digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HourStamp {
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
}

impl HourStamp {
    /// The hour containing `unix_secs` shifted by `utc_offset_secs` (0 for UTC, which is
    /// what the cloud expects; `8 * 3600` for Beijing time, which is what LuatOS produces on
    /// its modules).
    ///
    /// Times before 1970 (after the offset) or after 9999 are an error naming `timestamp`:
    /// the field has exactly four year digits.
    pub fn from_unix(unix_secs: u64, utc_offset_secs: i32) -> Result<Self, ProviderError> {
        let local = unix_secs
            .checked_add_signed(i64::from(utc_offset_secs))
            .ok_or(ProviderError::InvalidValue {
                key: "timestamp",
                reason: "falls before 1970-01-01 once the UTC offset is applied",
            })?;
        if local > LAST_FOUR_DIGIT_SECOND {
            return Err(ProviderError::InvalidValue {
                key: "timestamp",
                reason: "falls after year 9999, which YYYYMMDDHH cannot write",
            });
        }
        let (year, month, day) = civil_from_days(local / DAY);
        Ok(HourStamp {
            // At most 9999, checked above.
            year: year as u16,
            month,
            day,
            hour: ((local % DAY) / 3600) as u8,
        })
    }

    /// Year (1970–9999).
    pub fn year(&self) -> u16 {
        self.year
    }

    /// Month (1–12).
    pub fn month(&self) -> u8 {
        self.month
    }

    /// Day of the month (1–31).
    pub fn day(&self) -> u8 {
        self.day
    }

    /// Hour (0–23).
    pub fn hour(&self) -> u8 {
        self.hour
    }

    /// The ten ASCII digits `YYYYMMDDHH`: the HMAC key of the password.
    pub fn digits(&self) -> [u8; 10] {
        let mut out = [b'0'; 10];
        let fields = [
            (u32::from(self.year), 0, 4),
            (u32::from(self.month), 4, 2),
            (u32::from(self.day), 6, 2),
            (u32::from(self.hour), 8, 2),
        ];
        for (mut value, start, width) in fields {
            for slot in out[start..start + width].iter_mut().rev() {
                // `value % 10` is a single digit.
                *slot = b'0' + (value % 10) as u8;
                value /= 10;
            }
        }
        out
    }
}

impl fmt::Display for HourStamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}{:02}{:02}{:02}",
            self.year, self.month, self.day, self.hour
        )
    }
}

/// Year, month (1–12) and day (1–31) of the day `days` after 1970-01-01.
///
/// Counts in 400-year eras of 146,097 days starting on 0000-03-01: with years starting in
/// March, the leap day is the last day of a year, so the month follows from the day of the
/// year by one linear formula. `days` is at most 2,932,896 here, far from any overflow.
fn civil_from_days(days: u64) -> (u64, u8, u8) {
    // 719,468 days from 0000-03-01 to 1970-01-01.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    // Remove the leap days before this day of the era (one per 4 years, none per 100, one
    // per 400) to find the year of the era, 0–399.
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months from March: 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31, 28/29 days, which
    // (153 * m + 2) / 5 counts exactly.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month as u8, day as u8)
}

#[cfg(test)]
mod tests {
    use std::string::ToString;

    use super::*;

    fn stamp(secs: u64) -> std::string::String {
        HourStamp::from_unix(secs, 0).unwrap().to_string()
    }

    fn is_leap(y: u64) -> bool {
        (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
    }

    #[test]
    fn agrees_with_a_day_by_day_walk_from_1970_to_2500() {
        let (mut y, mut m, mut d) = (1970u64, 1u8, 1u8);
        for days in 0..194_000u64 {
            assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
            let len = match m {
                2 if is_leap(y) => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            d += 1;
            if d > len {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
    }

    #[test]
    fn year_boundaries_and_leap_days() {
        assert_eq!(stamp(0), "1970010100");
        assert_eq!(stamp(946_684_799), "1999123123");
        assert_eq!(stamp(946_684_800), "2000010100");
        // 2000 is a leap year (divisible by 400).
        assert_eq!(stamp(951_782_400), "2000022900");
        assert_eq!(stamp(951_868_800), "2000030100");
        // 2024-02-29 and the day after.
        assert_eq!(stamp(1_709_164_800), "2024022900");
        assert_eq!(stamp(1_709_251_200), "2024030100");
        // 2100 is not (divisible by 100): 02-28 is followed by 03-01.
        assert_eq!(stamp(4_107_456_000), "2100022800");
        assert_eq!(stamp(4_107_542_400), "2100030100");
        // 2400 is again.
        assert_eq!(stamp(13_574_563_200), "2400022900");
        assert_eq!(stamp(1_700_000_000), "2023111422");
        assert_eq!(stamp(32_472_115_200), "2998123116");
        assert_eq!(stamp(253_402_300_799), "9999123123");
    }

    #[test]
    fn offsets_move_the_hour_across_days_and_years() {
        let beijing = 8 * 3600;
        assert_eq!(
            HourStamp::from_unix(32_472_115_200, beijing)
                .unwrap()
                .to_string(),
            "2999010100"
        );
        assert_eq!(
            HourStamp::from_unix(1_700_000_000, beijing)
                .unwrap()
                .to_string(),
            "2023111506"
        );
        assert_eq!(
            HourStamp::from_unix(946_684_800, -3600)
                .unwrap()
                .to_string(),
            "1999123123"
        );
    }

    #[test]
    fn out_of_range_times_are_errors_naming_timestamp() {
        for (secs, offset) in [
            (253_402_300_800, 0),
            (253_402_300_799, 1),
            (0, -1),
            (u64::MAX, 0),
        ] {
            assert!(
                matches!(
                    HourStamp::from_unix(secs, offset),
                    Err(ProviderError::InvalidValue {
                        key: "timestamp",
                        ..
                    })
                ),
                "{secs} {offset}"
            );
        }
    }

    #[test]
    fn digits_match_display() {
        for secs in [0, 1_700_000_000, 32_472_115_200, 253_402_300_799] {
            let h = HourStamp::from_unix(secs, 0).unwrap();
            assert_eq!(h.digits(), h.to_string().as_bytes());
        }
        let h = HourStamp::from_unix(1_744_592_400, 0).unwrap();
        assert_eq!((h.year(), h.month(), h.day(), h.hour()), (2025, 4, 14, 1));
    }
}
