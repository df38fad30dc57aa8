//! Problems with a configuration: where, how bad, and how to fix them. None ever holds a
//! secret value.

use std::fmt;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Severity {
    /// Allowed, but a deliberate relaxation: logged at start (an error under `strict`).
    Warning,
    /// The configuration is refused.
    Error,
}

/// One problem with the configuration: where, and how to fix it. Never holds a secret value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Error or warning.
    pub severity: Severity,
    /// The key (`security.oauth.issuer`) or variable (`OAUTH_ISSUER`).
    pub key: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{level}: {}: {}", self.key, self.message)
    }
}

/// The configuration was refused; every problem found is listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// All problems, errors first.
    pub problems: Vec<Problem>,
}

impl ConfigError {
    /// A refusal with one error.
    pub fn single(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            problems: vec![Problem {
                severity: Severity::Error,
                key: key.into(),
                message: message.into(),
            }],
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self
            .problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .count();
        writeln!(f, "the configuration has {errors} error(s):")?;
        for p in &self.problems {
            writeln!(f, "  {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

/// Collects every problem of one load, so all are reported at once.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    pub(crate) problems: Vec<Problem>,
}

impl Collector {
    pub(crate) fn error(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.push(Severity::Error, key, message);
    }

    pub(crate) fn warning(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.push(Severity::Warning, key, message);
    }

    fn push(&mut self, severity: Severity, key: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            severity,
            key: key.into(),
            message: message.into(),
        });
    }

    /// The problems, errors first; every one an error under `strict`. `Err` when any is an
    /// error.
    pub(crate) fn finish(self, strict: bool) -> Result<Vec<Problem>, ConfigError> {
        let mut problems = self.problems;
        if strict {
            for p in &mut problems {
                p.severity = Severity::Error;
            }
        }
        problems.sort_by_key(|p| std::cmp::Reverse(p.severity));
        if problems.iter().any(|p| p.severity == Severity::Error) {
            Err(ConfigError { problems })
        } else {
            Ok(problems)
        }
    }
}

/// The closest of `candidates` to `unknown`, if it is a plausible typo.
pub(crate) fn did_you_mean<'a>(
    unknown: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(unknown, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}
