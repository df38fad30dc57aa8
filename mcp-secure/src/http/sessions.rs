//! Binding stateful sessions to the principal that created them.
//!
//! A session id is a handle, not a credential: every request is authenticated by its bearer
//! token. But a session carries state (the client's pending server-initiated requests, the
//! standalone `GET` stream, resumable responses), so a session may be used only by the
//! principal that opened it: same issuer, same subject, same OAuth client. A request on a
//! session by anyone else is answered exactly as a request on a session that does not exist
//! (`404`), so a leaked or guessed id tells its holder nothing.
//!
//! The bindings are bounded: each principal keeps at most [`PER_PRINCIPAL`] sessions (opening
//! one more forgets its least recently used one, which then answers `404` and its client opens
//! a new session, as the protocol says it must), all principals together at most `max`
//! (past that, `initialize` is refused with `503` until bindings idle for [`IDLE`] are swept).

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::principal::Principal;

/// The sessions one principal may hold at once.
pub(super) const PER_PRINCIPAL: usize = 64;

/// Sessions bound at once by default, all principals together.
pub(super) const DEFAULT_MAX: usize = 10_000;

/// A binding unused this long is forgotten (rmcp ends an idle session after five minutes).
pub(super) const IDLE: Duration = Duration::from_secs(30 * 60);

/// How often at most a full table is swept.
const SWEEP_INTERVAL: Duration = Duration::from_secs(10);

/// Who opened a session.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Owner {
    issuer: Option<String>,
    subject: String,
    client_id: Option<String>,
}

impl Owner {
    fn of(principal: &Principal) -> Self {
        Self {
            issuer: principal.issuer().map(str::to_owned),
            subject: principal.subject().to_owned(),
            client_id: principal.client_id().map(str::to_owned),
        }
    }
}

/// Why a request on a session is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    /// No session with this id is bound (never opened here, ended or forgotten).
    Unknown,
    /// The session belongs to another principal.
    OtherPrincipal,
}

impl Refusal {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown_session",
            Self::OtherPrincipal => "other_principal",
        }
    }
}

#[derive(Default)]
struct Table {
    by_id: HashMap<String, (Owner, Instant)>,
    by_owner: HashMap<Owner, Vec<String>>,
    last_sweep: Option<Instant>,
}

/// The principal each live session belongs to.
pub(super) struct SessionOwners {
    table: Mutex<Table>,
    max: usize,
}

impl std::fmt::Debug for SessionOwners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionOwners")
            .field("bound", &self.len())
            .field("max", &self.max)
            .finish()
    }
}

impl SessionOwners {
    pub(super) fn new(max: usize) -> Self {
        Self {
            table: Mutex::new(Table::default()),
            max: max.max(1),
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sessions bound now.
    pub(super) fn len(&self) -> usize {
        self.table().by_id.len()
    }

    /// Whether `principal` may use session `id` (and marks it used).
    pub(super) fn check(&self, id: &str, principal: &Principal) -> Result<(), Refusal> {
        let mut table = self.table();
        let Some((owner, last)) = table.by_id.get_mut(id) else {
            return Err(Refusal::Unknown);
        };
        if *owner != Owner::of(principal) {
            return Err(Refusal::OtherPrincipal);
        }
        *last = Instant::now();
        Ok(())
    }

    /// Whether a new session can be bound (sweeps idle bindings when the table is full).
    pub(super) fn has_room(&self) -> bool {
        let mut table = self.table();
        if table.by_id.len() < self.max {
            return true;
        }
        let now = Instant::now();
        if table
            .last_sweep
            .is_none_or(|at| now.saturating_duration_since(at) >= SWEEP_INTERVAL)
        {
            table.last_sweep = Some(now);
            sweep(&mut table, now);
        }
        table.by_id.len() < self.max
    }

    /// Binds a session the server just opened to the principal that opened it.
    pub(super) fn bind(&self, id: &str, principal: &Principal) {
        let owner = Owner::of(principal);
        let now = Instant::now();
        let mut table = self.table();
        if table.by_id.len() >= self.max {
            // Raced past `has_room`: the session stays unbound and answers 404.
            return;
        }
        let mut evicted = None;
        {
            let ids = table.by_owner.entry(owner.clone()).or_default();
            if ids.len() >= PER_PRINCIPAL {
                evicted = Some(ids.remove(0));
            }
            ids.push(id.to_owned());
        }
        if let Some(old) = evicted {
            table.by_id.remove(&old);
        }
        table.by_id.insert(id.to_owned(), (owner, now));
    }

    /// Forgets a session its owner ended.
    pub(super) fn unbind(&self, id: &str) {
        let mut table = self.table();
        if let Some((owner, _)) = table.by_id.remove(id) {
            forget(&mut table, &owner, id);
        }
    }
}

fn forget(table: &mut Table, owner: &Owner, id: &str) {
    if let Some(ids) = table.by_owner.get_mut(owner) {
        ids.retain(|i| i != id);
        if ids.is_empty() {
            table.by_owner.remove(owner);
        }
    }
}

fn sweep(table: &mut Table, now: Instant) {
    let idle: Vec<(String, Owner)> = table
        .by_id
        .iter()
        .filter(|(_, (_, last))| now.saturating_duration_since(*last) >= IDLE)
        .map(|(id, (owner, _))| (id.clone(), owner.clone()))
        .collect();
    for (id, owner) in idle {
        table.by_id.remove(&id);
        forget(table, &owner, &id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::ScopeSet;

    fn principal(sub: &str, client: &str) -> Principal {
        Principal::bearer(sub)
            .issuer("https://issuer.example")
            .client_id(client)
            .scopes(ScopeSet::default())
            .build()
    }

    #[test]
    fn a_session_answers_only_its_owner() {
        let owners = SessionOwners::new(10);
        let alice = principal("alice", "app");
        owners.bind("s1", &alice);
        assert_eq!(owners.check("s1", &alice), Ok(()));
        assert_eq!(
            owners.check("s1", &principal("bob", "app")),
            Err(Refusal::OtherPrincipal)
        );
        // Same user through another OAuth client: another principal.
        assert_eq!(
            owners.check("s1", &principal("alice", "other-app")),
            Err(Refusal::OtherPrincipal)
        );
        assert_eq!(owners.check("s2", &alice), Err(Refusal::Unknown));
        owners.unbind("s1");
        assert_eq!(owners.check("s1", &alice), Err(Refusal::Unknown));
        assert_eq!(owners.len(), 0);
    }

    #[test]
    fn one_principal_holds_a_bounded_number_of_sessions() {
        let owners = SessionOwners::new(1_000);
        let alice = principal("alice", "app");
        for i in 0..PER_PRINCIPAL + 10 {
            owners.bind(&format!("s{i}"), &alice);
        }
        assert_eq!(owners.len(), PER_PRINCIPAL);
        // The least recently opened went first.
        assert_eq!(owners.check("s0", &alice), Err(Refusal::Unknown));
        assert_eq!(
            owners.check(&format!("s{}", PER_PRINCIPAL + 9), &alice),
            Ok(())
        );
    }

    #[test]
    fn a_full_table_has_no_room_until_bindings_idle_out() {
        let owners = SessionOwners::new(3);
        for i in 0..3 {
            owners.bind(&format!("s{i}"), &principal(&format!("u{i}"), "app"));
        }
        assert!(!owners.has_room());
        owners.bind("s9", &principal("u9", "app"));
        assert_eq!(owners.len(), 3);
        // Age every binding past IDLE, then a sweep makes room.
        {
            let mut table = owners.table();
            let long_ago = Instant::now()
                .checked_sub(IDLE + Duration::from_secs(1))
                .unwrap_or_else(Instant::now);
            for (_, last) in table.by_id.values_mut() {
                *last = long_ago;
            }
            table.last_sweep = None;
        }
        assert!(owners.has_room());
        assert_eq!(owners.len(), 0);
    }
}
