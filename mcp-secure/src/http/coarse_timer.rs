//! hyper's timer for the header-read timeout (slow-loris protection), coarse: one ticker per
//! server instead of a Tokio timer per request.
//!
//! hyper arms the header-read timer every time a connection starts reading a request head
//! (`Timer::sleep_until`, a new sleep per head: it drops the last one once a head is read).
//! With Tokio's timer that registers an entry in the runtime's timer wheel, and when the
//! worker that owns the time driver is parked the registration wakes it (an `eventfd` write and
//! a context switch): measured at about one such wake-up per four requests with one connection.
//! Here each connection has one slot, allocated and handed to the ticker once
//! ([`CoarseTimer::connection`]); arming it for a request head is an atomic store (and the box
//! hyper's API asks for), dropping the sleep disarms it. A ticker task, every
//! [`resolution`](CoarseTimer::resolution), wakes the connections whose deadline has passed, and
//! hyper, polled, sees the deadline and closes the connection. A slow client is cut off after
//! the timeout plus at most one tick.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex, Weak,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use futures::task::AtomicWaker;
use tokio_util::sync::CancellationToken;

/// The deadlines a ticker watches: one slot per connection waiting for a request head.
#[derive(Debug)]
struct Shared {
    start: Instant,
    slots: Mutex<Vec<Weak<Slot>>>,
}

impl Shared {
    /// `at` in milliseconds after `start`, rounded up (a deadline never fires early).
    fn millis(&self, at: Instant) -> u64 {
        let nanos = at.saturating_duration_since(self.start).as_nanos();
        u64::try_from(nanos.div_ceil(1_000_000)).unwrap_or(u64::MAX)
    }

    /// Milliseconds after `start` now, rounded down (compared with a deadline rounded up, so
    /// a sleep never ends before its instant).
    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

#[derive(Debug)]
struct Slot {
    /// Milliseconds after `Shared::start`; `u64::MAX` when no sleep is armed.
    deadline: AtomicU64,
    /// The deadline the ticker last woke the connection for: a deadline is woken for once.
    woken_for: AtomicU64,
    waker: AtomicWaker,
    /// Whether a sleep holds the slot (hyper keeps one at a time per connection; a second
    /// would get a slot of its own).
    armed: AtomicBool,
    /// Whether the ticker has the slot (added on the first wait).
    watched: AtomicBool,
}

impl Slot {
    fn new() -> Self {
        Self {
            deadline: AtomicU64::new(u64::MAX),
            woken_for: AtomicU64::new(u64::MAX),
            waker: AtomicWaker::new(),
            armed: AtomicBool::new(false),
            watched: AtomicBool::new(false),
        }
    }
}

/// A [`hyper::rt::Timer`] whose sleeps are checked by a ticker task (see the module docs).
#[derive(Debug, Clone)]
pub(super) struct CoarseTimer {
    shared: Arc<Shared>,
}

impl CoarseTimer {
    /// A timer for `timeout`s, its ticker running on the current runtime until `shutdown`.
    pub(super) fn start(timeout: Duration, shutdown: CancellationToken) -> Self {
        let timer = Self {
            shared: Arc::new(Shared {
                start: Instant::now(),
                slots: Mutex::new(Vec::new()),
            }),
        };
        let ticker = timer.clone();
        let every = Self::resolution(timeout);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    _ = tick.tick() => ticker.tick(),
                }
            }
        });
        timer
    }

    /// How often the ticker looks: an eighth of the timeout, between 10 ms and 1 s.
    pub(super) fn resolution(timeout: Duration) -> Duration {
        (timeout / 8).clamp(Duration::from_millis(10), Duration::from_secs(1))
    }

    /// Wakes every connection whose deadline has passed (once per deadline) and forgets the
    /// closed ones.
    fn tick(&self) {
        let now = self.shared.now();
        let mut due = Vec::new();
        self.shared
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|slot| match slot.upgrade() {
                None => false,
                Some(slot) => {
                    let deadline = slot.deadline.load(Ordering::Acquire);
                    if deadline <= now
                        && slot.woken_for.swap(deadline, Ordering::AcqRel) != deadline
                    {
                        due.push(slot);
                    }
                    true
                }
            });
        for slot in due {
            slot.waker.wake();
        }
    }

    /// The timer for one connection: its slot, allocated here once.
    pub(super) fn connection(&self) -> ConnectionTimer {
        ConnectionTimer {
            shared: self.shared.clone(),
            slot: Arc::new(Slot::new()),
        }
    }
}

/// One connection's [`hyper::rt::Timer`]: its sleeps arm the connection's slot.
#[derive(Debug, Clone)]
pub(super) struct ConnectionTimer {
    shared: Arc<Shared>,
    slot: Arc<Slot>,
}

impl ConnectionTimer {
    fn sleep_at(&self, deadline: u64) -> CoarseSleep {
        let slot = if self.slot.armed.swap(true, Ordering::AcqRel) {
            // A second sleep while one is armed (hyper 1 keeps one): a slot of its own.
            let slot = Arc::new(Slot::new());
            slot.armed.store(true, Ordering::Release);
            slot
        } else {
            self.slot.clone()
        };
        slot.woken_for.store(u64::MAX, Ordering::Release);
        slot.deadline.store(deadline, Ordering::Release);
        CoarseSleep {
            slot,
            shared: self.shared.clone(),
        }
    }
}

impl hyper::rt::Timer for ConnectionTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        let deadline = Instant::now()
            .checked_add(duration)
            .map_or(u64::MAX, |at| self.shared.millis(at));
        Box::pin(self.sleep_at(deadline))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(self.sleep_at(self.shared.millis(deadline)))
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: Instant) {
        let deadline = self.shared.millis(new_deadline);
        match sleep.as_mut().downcast_mut_pin::<CoarseSleep>() {
            Some(sleep) => sleep
                .get_mut()
                .slot
                .deadline
                .store(deadline, Ordering::Release),
            None => *sleep = Box::pin(self.sleep_at(deadline)),
        }
    }

    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// One armed header-read deadline; dropping it disarms the slot.
#[derive(Debug)]
struct CoarseSleep {
    slot: Arc<Slot>,
    shared: Arc<Shared>,
}

impl Drop for CoarseSleep {
    fn drop(&mut self) {
        self.slot.deadline.store(u64::MAX, Ordering::Release);
        self.slot.armed.store(false, Ordering::Release);
    }
}

impl Future for CoarseSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.shared.now() >= this.slot.deadline.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        this.slot.waker.register(cx.waker());
        if !this.slot.watched.swap(true, Ordering::AcqRel) {
            this.shared
                .slots
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(Arc::downgrade(&this.slot));
        }
        Poll::Pending
    }
}

impl hyper::rt::Sleep for CoarseSleep {}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::rt::Timer;

    #[tokio::test(flavor = "current_thread")]
    async fn a_sleep_ends_after_its_deadline_and_a_reset_moves_it() {
        let timer = CoarseTimer::start(Duration::from_millis(80), CancellationToken::new());
        let connection = timer.connection();
        let started = Instant::now();
        let mut sleep = connection.sleep(Duration::from_millis(50));
        // A reset before the deadline moves it.
        connection.reset(&mut sleep, Instant::now() + Duration::from_millis(150));
        sleep.as_mut().await;
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(150), "{waited:?}");
        assert!(
            waited < Duration::from_millis(150) + Duration::from_secs(1),
            "{waited:?}"
        );
        // Closed connections are forgotten at the next tick.
        drop(sleep);
        timer.tick();
        assert_eq!(timer.shared.slots.lock().unwrap().len(), 1);
        drop(connection);
        timer.tick();
        assert!(timer.shared.slots.lock().unwrap().is_empty());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_connection_reuses_its_slot_and_a_dropped_sleep_is_disarmed() {
        let timer = CoarseTimer::start(Duration::from_millis(80), CancellationToken::new());
        let connection = timer.connection();
        // The first head: armed, waited on (the ticker takes the slot), read in time.
        let mut first = connection.sleep(Duration::from_millis(20));
        assert!(futures::poll!(first.as_mut()).is_pending());
        drop(first);
        assert_eq!(connection.slot.deadline.load(Ordering::Acquire), u64::MAX);
        // Past the old deadline, the ticker has nothing to wake.
        tokio::time::sleep(Duration::from_millis(40)).await;
        timer.tick();
        assert_eq!(connection.slot.woken_for.load(Ordering::Acquire), u64::MAX);
        // The next head arms the same slot, which the ticker still has, and it fires.
        let started = Instant::now();
        let second = connection.sleep(Duration::from_millis(30));
        assert_ne!(connection.slot.deadline.load(Ordering::Acquire), u64::MAX);
        second.await;
        assert!(started.elapsed() >= Duration::from_millis(30));
        assert_eq!(timer.shared.slots.lock().unwrap().len(), 1);
        // Two sleeps at once: the second gets a slot of its own, both end.
        let a = connection.sleep(Duration::from_millis(20));
        let b = connection.sleep(Duration::from_millis(20));
        futures::future::join(a, b).await;
    }

    #[test]
    fn resolution_is_an_eighth_of_the_timeout_within_bounds() {
        assert_eq!(
            CoarseTimer::resolution(Duration::from_secs(10)),
            Duration::from_secs(1)
        );
        assert_eq!(
            CoarseTimer::resolution(Duration::from_secs(2)),
            Duration::from_millis(250)
        );
        assert_eq!(
            CoarseTimer::resolution(Duration::from_millis(1)),
            Duration::from_millis(10)
        );
    }
}
