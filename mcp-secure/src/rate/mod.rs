//! Rate limiting: one GCRA budget per caller and tool, and optionally one per caller across
//! every tool.
//!
//! The pipeline asks a [`RateLimiter`] before every call of a tool that declares a `rate`
//! (and of every tool when the server sets a global per-caller rate). [`MemoryRateLimiter`]
//! (governor's GCRA, per process, bounded) is the default; [`RedisRateLimiter`] (feature
//! `redis`) keeps the state in Redis so several replicas enforce one budget.

mod memory;
#[cfg(feature = "redis")]
mod redis;

use std::{fmt, sync::Arc, time::Duration};

use futures::future::BoxFuture;

pub use memory::{DEFAULT_MAX_KEYS, MemoryRateLimiter};
#[cfg(feature = "redis")]
pub use redis::{GCRA, RedisRateLimiter, RedisRateLimiterBuilder};

use crate::policy::RateSpec;

/// What is being limited: one tool (or, with [`RateKey::ALL_TOOLS`], every tool), for one
/// caller of one server.
#[derive(Debug, Clone, Copy)]
pub struct RateKey<'a> {
    /// The server's name (`serverInfo.name`): shared stores namespace their keys by it.
    pub server: &'static str,
    /// The tool's name, or [`RateKey::ALL_TOOLS`] for the caller's budget across tools.
    pub tool: &'static str,
    /// The caller's rate key ([`crate::Principal::rate_key`]).
    pub caller: &'a Arc<str>,
}

impl RateKey<'_> {
    /// The `tool` of a caller's global budget (no tool can be named `*`).
    pub const ALL_TOOLS: &'static str = "*";
    /// The `tool` of a caller's budget across plain tools without a declared policy.
    pub const UNSECURED_TOOLS: &'static str = "*unsecured";
}

/// One budget to check: a key and its rate.
#[derive(Debug, Clone, Copy)]
pub struct RateCheck<'a> {
    /// Whose budget.
    pub key: RateKey<'a>,
    /// Its rate.
    pub spec: &'a RateSpec,
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

/// What a shared store's limiter does when the store cannot answer in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum FailurePolicy {
    /// Refuse the call (`RATE_LIMITED`, "rate limiter unavailable") (default): a limit that
    /// an outage lifts is no limit.
    #[default]
    Closed,
    /// Decide with an in-process limiter until the store returns. Each replica then
    /// enforces the limit on its own, so the fleet admits up to replicas × the limit.
    Open,
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

    /// Counts one call against `key` at once, when this store can decide without waiting (an
    /// in-memory store), so the caller need not box a future; `None` (the default) leaves the
    /// decision to [`check`](Self::check). A store that decides here decides every call here,
    /// as `check` would; the pipeline then checks several budgets in order, as the default
    /// [`check_all`](Self::check_all) does (a store that decides one budget here and not the
    /// next has broken this contract: the call is refused, `RATE_LIMITER_UNAVAILABLE`).
    fn check_at_once(
        &self,
        key: RateKey<'_>,
        spec: &RateSpec,
    ) -> Option<Result<RateDecision, RateLimitError>> {
        let _ = (key, spec);
        None
    }

    /// Counts one call against several budgets (a tool's and the caller's global one): the
    /// call is admitted only if every budget admits it.
    ///
    /// The default checks in order and stops at the first refusal, so a refused budget
    /// charges none after it (a call the tool's limit refuses does not use up the caller's
    /// global budget) but an earlier one may already have been charged. A store that can
    /// decide all at once, like [`RedisRateLimiter`], charges nothing unless all admit.
    fn check_all<'a>(
        &'a self,
        checks: &'a [RateCheck<'a>],
    ) -> BoxFuture<'a, Result<RateDecision, RateLimitError>> {
        Box::pin(async move {
            for check in checks {
                let decision = self.check(check.key, check.spec).await?;
                if decision != RateDecision::Allowed {
                    return Ok(decision);
                }
            }
            Ok(RateDecision::Allowed)
        })
    }
}
