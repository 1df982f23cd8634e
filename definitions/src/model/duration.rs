use std::fmt;
use std::str::FromStr;

/// A span of time written the way people write it: `30s`, `10m`, `13h`, `3d`, `1h 30m`.
///
/// Parsed by `humantime`; serialized back in its canonical form so that the content hash of a
/// definition does not depend on how a designer spelled the same duration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub std::time::Duration);

impl Duration {
    /// The duration as a standard library value.
    pub fn get(self) -> std::time::Duration {
        self.0
    }
}

impl From<Duration> for std::time::Duration {
    fn from(d: Duration) -> Self {
        d.0
    }
}

impl FromStr for Duration {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.split_whitespace().any(|w| w == "working") {
            return Err(format!(
                "`{s}` is working time, which counts only for a deadline (a task's `due`, an escalation's `after`, a wait's `duration`, the workflow's `sla`); write clock time here, like `30s`, `10m` or `13h`"
            ));
        }
        let d = humantime::parse_duration(s.trim()).map_err(|e| {
            format!("`{s}` is not a duration ({e}); write it like `30s`, `10m`, `13h` or `3d`")
        })?;
        if d.is_zero() {
            return Err(format!("`{s}` is zero; a duration must be positive"));
        }
        Ok(Duration(d))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

written_as_text!(
    Duration,
    "duration",
    "A duration such as `30s`, `10m`, `13h`, `3d` or `1h 30m`.",
    ["30s", "13h", "3d"]
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalizes() {
        let d: Duration = "1h 30m".parse().unwrap();
        assert_eq!(d.get().as_secs(), 5400);
        assert_eq!(d.to_string(), "1h 30m");
        assert!("0s".parse::<Duration>().is_err());
        assert!("soon".parse::<Duration>().is_err());
    }
}
