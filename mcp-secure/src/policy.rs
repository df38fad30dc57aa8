//! The security policy `#[secure_server]` emits: one static [`ServerPolicy`] per server with a
//! [`ToolPolicy`] per tool. The pipeline enforces it on every call and the HTTP layer reads it
//! to answer `403 insufficient_scope` before a call is dispatched.

use std::time::Duration;

use crate::scope::ScopeSet;

/// The policy of one secured server, built at compile time.
#[derive(Debug)]
pub struct ServerPolicy {
    /// `serverInfo.name`.
    pub name: &'static str,
    /// `serverInfo.version`.
    pub version: &'static str,
    /// Instructions for clients, if any.
    pub instructions: Option<&'static str>,
    /// The declared scope catalogue (may be empty when the server declares none).
    pub catalogue: &'static [&'static str],
    /// `(higher, lower)`: holding `higher` grants `lower`.
    pub hierarchy: &'static [(&'static str, &'static str)],
    /// One entry per tool.
    pub tools: &'static [ToolPolicy],
    /// One entry per prompt (its `name` is the prompt's).
    pub prompts: &'static [ToolPolicy],
    /// One entry per resource or resource template.
    pub resources: &'static [ResourcePolicy],
}

/// The policy of one resource or resource template: its URI (or URI template) and who may
/// read it.
#[derive(Debug, PartialEq, Eq)]
pub struct ResourcePolicy {
    /// The resource's URI, or an RFC 6570 level-1 template (`test://items/{id}`).
    pub uri: &'static str,
    /// Whether `uri` is a template.
    pub template: bool,
    /// Who may read it (`name` is the resource's name).
    pub access: ToolPolicy,
}

impl ServerPolicy {
    /// The policy of the tool called `name`.
    pub fn tool(&self, name: &str) -> Option<&'static ToolPolicy> {
        let tools: &'static [ToolPolicy] = self.tools;
        tools.iter().find(|t| t.name == name)
    }

    /// The policy of the prompt called `name`.
    pub fn prompt(&self, name: &str) -> Option<&'static ToolPolicy> {
        let prompts: &'static [ToolPolicy] = self.prompts;
        prompts.iter().find(|t| t.name == name)
    }

    /// The policy of the resource serving `uri`: an exact resource first, then the first
    /// matching template.
    pub fn resource(&self, uri: &str) -> Option<&'static ResourcePolicy> {
        let resources: &'static [ResourcePolicy] = self.resources;
        resources
            .iter()
            .find(|r| !r.template && r.uri == uri)
            .or_else(|| {
                resources
                    .iter()
                    .find(|r| r.template && crate::resources::match_template(r.uri, uri).is_some())
            })
    }

    /// The least-privilege scopes a client should ask for first (the `scope` of a `401`
    /// challenge): the lowest scope of each hierarchy chain, i.e. every scope that another
    /// implies and that implies none. Empty when the server declares no hierarchy; step-up
    /// (`403 insufficient_scope`) asks for the rest.
    pub fn starting_scopes(&self) -> ScopeSet {
        let lowest = self
            .hierarchy
            .iter()
            .map(|(_, lower)| *lower)
            .filter(|lower| !self.hierarchy.iter().any(|(higher, _)| higher == lower));
        let mut set = ScopeSet::new();
        set.extend(lowest);
        set
    }

    /// Every scope the server mentions: the catalogue, the hierarchy and the tools' scopes.
    pub fn declared_scopes(&self) -> ScopeSet {
        let mut set = ScopeSet::new();
        set.extend(self.catalogue.iter().copied());
        set.extend(self.hierarchy.iter().flat_map(|(h, l)| [*h, *l]));
        set.extend(self.tools.iter().flat_map(|t| t.scopes.iter().copied()));
        set.extend(self.tools.iter().flat_map(|t| t.any_of.iter().copied()));
        let others = self
            .prompts
            .iter()
            .chain(self.resources.iter().map(|r| &r.access));
        set.extend(others.flat_map(|t| t.scopes.iter().chain(t.any_of).copied()));
        set
    }
}

/// The policy of one tool.
#[derive(Debug, PartialEq, Eq)]
pub struct ToolPolicy {
    /// The tool's MCP name.
    pub name: &'static str,
    /// Every scope listed here is required.
    pub scopes: &'static [&'static str],
    /// For each entry of `scopes`, the scopes that grant it through the hierarchy (the scope
    /// itself first). Computed by the macro.
    pub satisfiers: &'static [&'static [&'static str]],
    /// `scopes_any`: at least one of these is required too (empty: no such rule).
    pub any_of: &'static [&'static str],
    /// The scopes that grant at least one of `any_of` through the hierarchy. Computed by the
    /// macro.
    pub any_satisfiers: &'static [&'static str],
    /// Declared `public`: any authenticated caller.
    pub public: bool,
    /// Per-caller rate limit, if any.
    pub rate: Option<RateSpec>,
    /// Cap on the JSON arguments, overriding the server default.
    pub max_input_bytes: Option<u64>,
}

impl ToolPolicy {
    /// The required scopes `held` does not grant (empty when the call is authorized); when
    /// the `scopes_any` rule is not met, its first scope (the one a step-up asks for).
    pub fn missing_scopes(&self, held: &ScopeSet) -> Vec<&'static str> {
        let mut missing: Vec<&'static str> = self
            .scopes
            .iter()
            .zip(self.satisfiers)
            .filter(|(_, granted_by)| !held.contains_any(granted_by))
            .map(|(scope, _)| *scope)
            .collect();
        if !self.any_met(held) {
            missing.extend(self.any_of.first().copied());
        }
        missing
    }

    /// Whether the `scopes_any` rule is met (always, without one).
    fn any_met(&self, held: &ScopeSet) -> bool {
        self.any_of.is_empty() || held.contains_any(self.any_satisfiers)
    }

    /// Whether `held` grants every required scope and, with `scopes_any`, one of those.
    pub fn permits(&self, held: &ScopeSet) -> bool {
        self.satisfiers.iter().all(|g| held.contains_any(g)) && self.any_met(held)
    }

    /// What a `403` asks for (`WWW-Authenticate: scope="…"`): the required scopes, and the
    /// first of `scopes_any`.
    pub fn scope_string(&self) -> String {
        let mut scopes: Vec<&str> = self.scopes.to_vec();
        scopes.extend(self.any_of.first().copied());
        scopes.join(" ")
    }

    /// The refusal of a caller holding `held`.
    pub(crate) fn insufficient(&self, held: &ScopeSet) -> crate::error::Denial {
        crate::error::Denial::InsufficientScope {
            required: self.scopes.to_vec(),
            missing: self.missing_scopes(held),
            any_of: self.any_of.to_vec(),
        }
    }
}

/// `count` calls per `period_secs`, at most `burst` at once (GCRA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateSpec {
    /// Calls per period.
    pub count: u32,
    /// The period, in seconds.
    pub period_secs: u64,
    /// Calls allowed back to back; defaults to `count`.
    pub burst: u32,
}

impl RateSpec {
    /// A rate of `count` calls per `period`, with a burst of `burst`.
    ///
    /// # Panics
    /// Never: zero values are raised to one.
    pub const fn new(count: u32, period_secs: u64, burst: u32) -> Self {
        Self {
            count: if count == 0 { 1 } else { count },
            period_secs: if period_secs == 0 { 1 } else { period_secs },
            burst: if burst == 0 { 1 } else { burst },
        }
    }

    /// `count` per minute, burst `count`.
    pub const fn per_minute(count: u32) -> Self {
        Self::new(count, 60, count)
    }

    /// Time to earn back one call.
    pub fn replenish_interval(&self) -> Duration {
        Duration::from_secs(self.period_secs.max(1)) / self.count.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static WRITE: ToolPolicy = ToolPolicy {
        name: "write",
        scopes: &["data:write"],
        satisfiers: &[&["data:write", "admin:full"]],
        any_of: &[],
        any_satisfiers: &[],
        public: false,
        rate: None,
        max_input_bytes: None,
    };

    /// Callable by a billing clerk or an auditor (or an admin, above both).
    static REPORT: ToolPolicy = ToolPolicy {
        name: "report",
        scopes: &[],
        satisfiers: &[],
        any_of: &["billing:read", "audit:read"],
        any_satisfiers: &["billing:read", "audit:read", "admin:full"],
        public: false,
        rate: None,
        max_input_bytes: None,
    };

    #[test]
    fn any_of_a_set() {
        for held in [
            "billing:read",
            "audit:read",
            "admin:full",
            "audit:read other",
        ] {
            assert!(REPORT.permits(&ScopeSet::parse(held).unwrap()), "{held}");
        }
        let none = ScopeSet::parse("data:read").unwrap();
        assert!(!REPORT.permits(&none));
        assert_eq!(REPORT.missing_scopes(&none), vec!["billing:read"]);
        assert_eq!(REPORT.scope_string(), "billing:read");
    }

    #[test]
    fn hierarchy_satisfies() {
        let admin = ScopeSet::parse("admin:full").unwrap();
        assert!(WRITE.permits(&admin));
        let read = ScopeSet::parse("data:read").unwrap();
        assert!(!WRITE.permits(&read));
        assert_eq!(WRITE.missing_scopes(&read), vec!["data:write"]);
    }

    #[test]
    fn starting_scopes_are_the_lowest_of_each_chain() {
        static POLICY: ServerPolicy = ServerPolicy {
            name: "s",
            version: "1",
            instructions: None,
            catalogue: &[],
            hierarchy: &[
                ("admin:full", "data:write"),
                ("data:write", "data:read"),
                ("billing:admin", "billing:read"),
            ],
            tools: &[],
            prompts: &[],
            resources: &[],
        };
        assert_eq!(
            POLICY.starting_scopes().to_string(),
            "billing:read data:read"
        );
    }

    #[test]
    fn replenish_interval() {
        assert_eq!(
            RateSpec::per_minute(120).replenish_interval(),
            Duration::from_millis(500)
        );
    }
}
