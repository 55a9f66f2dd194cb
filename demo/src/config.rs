//! The demo clinic's settings: its seed, its clinics and when the training failure runs.

use serde::Deserialize;

/// The embedded demo clinic, used when no source is configured.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DemoConfig {
    /// The same seed gives the same clinic, minute by minute.
    pub seed: u64,
    /// Clinic sites; each has its own registrations and doctors.
    pub clinics: Vec<String>,
    /// Minutes of every hour during which the training failure runs
    /// (`GetItem` with key `timestamp = "latest"` answers ResourceNotFound).
    pub failure_windows: Vec<FailureWindow>,
    /// Hours east of UTC of the clinics' local time, for the day/night rhythm.
    pub utc_offset_hours: i32,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            seed: 20_261_125,
            clinics: vec!["north".into(), "south".into(), "east".into()],
            failure_windows: vec![FailureWindow {
                from_minute: 40,
                to_minute: 50,
            }],
            utc_offset_hours: 0,
        }
    }
}

/// Minutes `[from_minute, to_minute)` of every hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailureWindow {
    pub from_minute: u32,
    pub to_minute: u32,
}

impl FailureWindow {
    /// Whether the given minute of the hour (0–59) lies in the window.
    pub fn contains(&self, minute_of_hour: u32) -> bool {
        (self.from_minute..self.to_minute).contains(&minute_of_hour)
    }
}

/// A demo setting that cannot work: the key under `demo` and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{key}` {problem}")]
pub struct InvalidDemoSetting {
    /// The key relative to the demo section, such as `clinics[1]`.
    pub key: String,
    pub problem: String,
}

impl InvalidDemoSetting {
    fn new(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            problem: problem.into(),
        }
    }
}

impl DemoConfig {
    /// Checks what types alone cannot; each error names the key and what to write.
    pub fn validate(&self) -> Result<(), InvalidDemoSetting> {
        if self.clinics.is_empty() {
            return Err(InvalidDemoSetting::new(
                "clinics",
                "is empty; name at least one clinic",
            ));
        }
        for (index, clinic) in self.clinics.iter().enumerate() {
            let valid = !clinic.is_empty()
                && clinic
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !valid {
                return Err(InvalidDemoSetting::new(
                    format!("clinics[{index}]"),
                    format!("is \"{clinic}\"; use lowercase letters, digits and dashes"),
                ));
            }
        }
        for (index, window) in self.failure_windows.iter().enumerate() {
            if window.from_minute >= window.to_minute || window.to_minute > 60 {
                return Err(InvalidDemoSetting::new(
                    format!("failure_windows[{index}]"),
                    format!(
                        "is minutes {}..{}; use 0 <= from_minute < to_minute <= 60",
                        window.from_minute, window.to_minute
                    ),
                ));
            }
        }
        if !(-12..=14).contains(&self.utc_offset_hours) {
            return Err(InvalidDemoSetting::new(
                "utc_offset_hours",
                format!(
                    "is {}; use a whole number of hours from -12 to 14",
                    self.utc_offset_hours
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_names_the_key_to_fix() {
        let empty = DemoConfig {
            clinics: Vec::new(),
            ..DemoConfig::default()
        };
        assert_eq!(empty.validate().unwrap_err().key, "clinics");
        let shouting = DemoConfig {
            clinics: vec!["north".into(), "SOUTH".into()],
            ..DemoConfig::default()
        };
        let err = shouting.validate().unwrap_err();
        assert_eq!(err.key, "clinics[1]");
        assert!(err.problem.contains("lowercase"), "{err}");
        let far_east = DemoConfig {
            utc_offset_hours: 15,
            ..DemoConfig::default()
        };
        assert_eq!(far_east.validate().unwrap_err().key, "utc_offset_hours");
        assert!(DemoConfig::default().validate().is_ok());
    }
}
