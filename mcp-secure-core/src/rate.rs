//! Rate limits written as text: `"COUNT/UNIT"`, such as `"10/s"`, `"100/min"`, `"500/h"` or
//! `"1000/d"`.

use std::fmt;

/// The accepted units and their length in seconds.
pub const RATE_UNITS: &[(&str, u64)] = &[
    ("s", 1),
    ("sec", 1),
    ("second", 1),
    ("m", 60),
    ("min", 60),
    ("minute", 60),
    ("h", 3600),
    ("hour", 3600),
    ("d", 86_400),
    ("day", 86_400),
];

/// Why a rate was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateError {
    /// No `/UNIT`.
    NoUnit,
    /// The count is zero or negative.
    NotPositive,
    /// The count does not fit 32 bits.
    TooLarge,
    /// The count is not a whole number.
    NotANumber,
    /// The unit is not one of [`RATE_UNITS`].
    UnknownUnit,
}

impl fmt::Display for RateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoUnit => "a rate is `COUNT/UNIT`, e.g. `10/s` or `100/min`",
            Self::NotPositive => "a rate must be at least 1 call",
            Self::TooLarge => "the rate's count is too large (at most 4294967295)",
            Self::NotANumber => "the rate's count is not a whole number",
            Self::UnknownUnit => {
                "unknown rate unit: use s, sec, second, m, min, minute, h, hour, d or day"
            }
        })
    }
}

impl std::error::Error for RateError {}

/// A parsed rate: `count` calls per `period_secs` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Calls per period.
    pub count: u32,
    /// The period.
    pub period_secs: u64,
}

/// The seconds of a unit name.
pub fn unit_seconds(unit: &str) -> Option<u64> {
    RATE_UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|(_, secs)| *secs)
}

/// Parses `"COUNT/UNIT"`.
pub fn parse_rate(text: &str) -> Result<Rate, RateError> {
    let (count, unit) = text.split_once('/').ok_or(RateError::NoUnit)?;
    let count = match count.trim().parse::<i128>() {
        Ok(c) if c <= 0 => return Err(RateError::NotPositive),
        Ok(c) => u32::try_from(c).map_err(|_| RateError::TooLarge)?,
        Err(_) => return Err(RateError::NotANumber),
    };
    let period_secs = unit_seconds(unit.trim()).ok_or(RateError::UnknownUnit)?;
    Ok(Rate { count, period_secs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates() {
        assert_eq!(
            parse_rate("10/s"),
            Ok(Rate {
                count: 10,
                period_secs: 1
            })
        );
        assert_eq!(parse_rate(" 5 / h").map(|r| r.period_secs), Ok(3600));
        assert_eq!(parse_rate("10"), Err(RateError::NoUnit));
        assert_eq!(parse_rate("0/s"), Err(RateError::NotPositive));
        assert_eq!(parse_rate("x/s"), Err(RateError::NotANumber));
        assert_eq!(parse_rate("9999999999/s"), Err(RateError::TooLarge));
        assert_eq!(parse_rate("1/fortnight"), Err(RateError::UnknownUnit));
    }
}
