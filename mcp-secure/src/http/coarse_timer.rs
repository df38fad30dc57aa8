//! hyper's timer for the header-read timeout (slow-loris protection), coarse: one ticker per
//! server instead of a Tokio timer per request.
//!
//! hyper arms the header-read timer every time a connection starts reading a request head.
//! With Tokio's timer that re-registers an entry in the runtime's timer wheel, and when the
//! worker that owns the time driver is parked the registration wakes it (an `eventfd` write and
//! a context switch): measured at about one such wake-up per four requests with one connection.
//! Here arming or resetting the timer is an atomic store; a ticker task, every
//! [`resolution`](CoarseTimer::resolution), wakes the connections whose deadline has passed, and
//! hyper, polled, sees the deadline and closes the connection. A slow client is cut off after
//! the timeout plus at most one tick.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex, Weak,
        atomic::{AtomicU64, Ordering},
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

    fn now(&self) -> u64 {
        self.millis(Instant::now())
    }
}

#[derive(Debug)]
struct Slot {
    /// Milliseconds after `Shared::start`.
    deadline: AtomicU64,
    /// The deadline the ticker last woke the connection for: a deadline is woken for once.
    woken_for: AtomicU64,
    waker: AtomicWaker,
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

    fn sleep_at(&self, deadline: u64) -> CoarseSleep {
        CoarseSleep {
            slot: Arc::new(Slot {
                deadline: AtomicU64::new(deadline),
                woken_for: AtomicU64::new(u64::MAX),
                waker: AtomicWaker::new(),
            }),
            shared: self.shared.clone(),
            watched: false,
        }
    }
}

impl hyper::rt::Timer for CoarseTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        let deadline = self
            .shared
            .now()
            .saturating_add(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX));
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

/// One connection's header-read deadline.
#[derive(Debug)]
struct CoarseSleep {
    slot: Arc<Slot>,
    shared: Arc<Shared>,
    /// Whether the ticker has this slot (added on the first wait, once per connection).
    watched: bool,
}

impl Future for CoarseSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.shared.now() >= this.slot.deadline.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        this.slot.waker.register(cx.waker());
        if !this.watched {
            this.watched = true;
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
        let started = Instant::now();
        let mut sleep = timer.sleep(Duration::from_millis(50));
        // A reset before the deadline moves it (as hyper does for each request head).
        timer.reset(&mut sleep, Instant::now() + Duration::from_millis(150));
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
        assert!(timer.shared.slots.lock().unwrap().is_empty());
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
