//! Rate limiting: one GCRA budget per caller and tool.
//!
//! The pipeline asks a [`RateLimiter`] before every call of a tool that declares a `rate`.
//! [`MemoryRateLimiter`] (governor's GCRA, per process) is the default; a shared store can
//! implement the same trait so several replicas enforce one budget.

mod memory;

use std::{fmt, sync::Arc, time::Duration};

use futures::future::BoxFuture;

pub use memory::MemoryRateLimiter;

use crate::policy::RateSpec;

/// What is being limited: one tool, for one caller.
#[derive(Debug, Clone, Copy)]
pub struct RateKey<'a> {
    /// The tool's name.
    pub tool: &'static str,
    /// The caller's rate key ([`crate::Principal::rate_key`]).
    pub caller: &'a Arc<str>,
}

/// The answer to one rate-limit check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RateDecision {
    /// Admit the call.
    Allowed,
    /// Refuse it; the next call is admitted after `retry_after`.
    Limited {
        /// Time until the next admission.
        retry_after: Duration,
    },
}

/// A rate limiter could not reach a decision (e.g. its shared store is unreachable).
#[derive(Debug, Clone, thiserror::Error)]
#[error("rate limiter unavailable: {kind}")]
pub struct RateLimitError {
    /// A fixed description of the failure (never store or client text).
    pub kind: &'static str,
}

/// Decides whether a call may proceed. Implementations must be exact under concurrency:
/// never admit more than `burst + rate × elapsed` calls for one key.
pub trait RateLimiter: Send + Sync + fmt::Debug + 'static {
    /// Counts one call against `key` under `spec`.
    fn check<'a>(
        &'a self,
        key: RateKey<'a>,
        spec: &'a RateSpec,
    ) -> BoxFuture<'a, Result<RateDecision, RateLimitError>>;
}
