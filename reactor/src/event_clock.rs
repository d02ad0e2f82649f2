//! The time of the I/O event being delivered, read from the clock once per event.
//!
//! Delivering one readiness event can cause several things worth a timestamp: a response's
//! first byte, its end, the connection going back to the pool. Each would otherwise read the
//! clock, which in a virtual machine costs more than parsing the response head. While the
//! reactor delivers an event, the first caller of [`EventClock::read`] reads the clock and the
//! others get the same reading: the time the event was taken up. A `call_soon` call (such as
//! the first read of a new connection) is delivered the same way. Elsewhere (timers, code the
//! reactor did not call) every read is fresh.

use std::cell::Cell;

/// Where the reactor is in delivering one I/O event.
#[derive(Clone, Copy, Debug)]
enum EventTime {
    /// Not delivering an I/O event: reads go to the clock.
    Outside,
    /// Delivering one, and nobody has asked for the time yet.
    Unread,
    /// Delivering one, first asked for the time at this reading.
    Read(f64),
}

/// The reactor's record of the event being delivered.
#[derive(Debug)]
pub(crate) struct EventClock {
    time: Cell<EventTime>,
}

impl Default for EventClock {
    fn default() -> EventClock {
        EventClock {
            time: Cell::new(EventTime::Outside),
        }
    }
}

/// The delivery of one event; ends when dropped, also when a handler panics.
pub(crate) struct Delivery<'a> {
    clock: &'a EventClock,
}

impl Drop for Delivery<'_> {
    fn drop(&mut self) {
        self.clock.time.set(EventTime::Outside);
    }
}

impl EventClock {
    /// The reactor starts delivering an event.
    pub(crate) fn deliver(&self) -> Delivery<'_> {
        self.time.set(EventTime::Unread);
        Delivery { clock: self }
    }

    /// The time of the event being delivered (`now` read once per event), or `now()` outside
    /// a delivery.
    pub(crate) fn read(&self, now: impl FnOnce() -> f64) -> f64 {
        match self.time.get() {
            EventTime::Outside => now(),
            EventTime::Read(t) => t,
            EventTime::Unread => {
                let t = now();
                self.time.set(EventTime::Read(t));
                t
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::EventClock;
    use std::cell::Cell;

    #[test]
    fn one_reading_per_delivery_and_fresh_ones_outside() {
        let clock = EventClock::default();
        let ticks = Cell::new(0.0);
        let tick = || {
            ticks.set(ticks.get() + 1.0);
            ticks.get()
        };
        assert_eq!(clock.read(tick), 1.0);
        assert_eq!(clock.read(tick), 2.0);
        {
            let _delivery = clock.deliver();
            assert_eq!(clock.read(tick), 3.0);
            assert_eq!(clock.read(tick), 3.0);
        }
        assert_eq!(clock.read(tick), 4.0);
        let _delivery = clock.deliver();
        assert_eq!(clock.read(tick), 5.0, "each delivery reads the clock anew");
    }

    #[test]
    fn a_panicking_handler_ends_the_delivery() {
        let clock = EventClock::default();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _delivery = clock.deliver();
            clock.read(|| 1.0);
            panic!("handler failed");
        }));
        assert!(caught.is_err());
        assert_eq!(clock.read(|| 2.0), 2.0);
    }
}
