//! The event hook of the C API: a host's callback receives the engine's flushes,
//! compactions and write stalls as `kausal_event`s, timed by the host's clock callback.
//! The hook's state lives in the region, after the handle (`HookSlot`), so the engine's
//! reference to it never overlaps the handle the API borrows on every call.

use crate::status::kausal_status;
use crate::{engine, kausal_db, status_at, Outcome};
use core::ffi::c_void;
use kausaldb_core::{Event, EventHook, EventKind};

/// `kausal_event.kind`: the log replay of an open begins (not sent: a C host sets its hook
/// after the open; the replay's counters are in `kausal_stats`).
pub const KAUSAL_EVENT_RECOVERY_START: u32 = 1;
/// The log replay of an open ended: `bytes` replayed.
pub const KAUSAL_EVENT_RECOVERY_END: u32 = 2;
/// A flush begins: `bytes` of in-memory payload.
pub const KAUSAL_EVENT_FLUSH_START: u32 = 3;
/// A flush wrote its tables (blocks and edges apart): `bytes` of table files, `tables` in the
/// store after it.
pub const KAUSAL_EVENT_FLUSH_END: u32 = 4;
/// A compaction step begins: `tables` tables of `bytes` bytes are merged.
pub const KAUSAL_EVENT_COMPACTION_START: u32 = 5;
/// A compaction step wrote its table: `bytes` of table file, `tables` after it.
pub const KAUSAL_EVENT_COMPACTION_END: u32 = 6;
/// A write found the memory or the log full and waits for a flush (and compaction).
pub const KAUSAL_EVENT_WRITE_STALL_START: u32 = 7;
/// The stalled write goes on; `duration_ns` is the stall.
pub const KAUSAL_EVENT_WRITE_STALL_END: u32 = 8;

/// One event, as the hook receives it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub struct kausal_event {
    /// `KAUSAL_EVENT_*`.
    pub kind: u32,
    /// Tables in the store after an end event; tables merged for a compaction's start.
    pub tables: u32,
    /// Bytes the step handled (see each kind; 0 for stalls).
    pub bytes: u64,
    /// For an end event, the clock callback's time since its start (0 without a clock).
    pub duration_ns: u64,
}

/// Called with each event (and the hook's context). It must not call into the store.
#[allow(non_camel_case_types)]
pub type kausal_event_fn = Option<unsafe extern "C" fn(*mut c_void, *const kausal_event)>;

/// The host's monotonic clock in nanoseconds (any origin), called with the hook's context.
#[allow(non_camel_case_types)]
pub type kausal_clock_fn = Option<unsafe extern "C" fn(*mut c_void) -> u64>;

fn kind_code(kind: EventKind) -> u32 {
    match kind {
        EventKind::RecoveryStart => KAUSAL_EVENT_RECOVERY_START,
        EventKind::RecoveryEnd => KAUSAL_EVENT_RECOVERY_END,
        EventKind::FlushStart => KAUSAL_EVENT_FLUSH_START,
        EventKind::FlushEnd => KAUSAL_EVENT_FLUSH_END,
        EventKind::CompactionStart => KAUSAL_EVENT_COMPACTION_START,
        EventKind::CompactionEnd => KAUSAL_EVENT_COMPACTION_END,
        EventKind::WriteStallStart => KAUSAL_EVENT_WRITE_STALL_START,
        EventKind::WriteStallEnd => KAUSAL_EVENT_WRITE_STALL_END,
    }
}

/// The hook's state in the region: the host's callbacks and their context.
#[derive(Debug)]
pub(crate) struct HookSlot {
    on_event: kausal_event_fn,
    now_ns: kausal_clock_fn,
    context: *mut c_void,
}

impl HookSlot {
    pub(crate) const EMPTY: HookSlot =
        HookSlot { on_event: None, now_ns: None, context: core::ptr::null_mut() };
}

// SAFETY: the slot holds the host's function pointers and its context pointer; the C API
// serialises every call on a handle (the header's contract), so the callbacks run on one
// thread at a time, as the host that gave them expects.
unsafe impl Send for HookSlot {}

impl EventHook for HookSlot {
    fn event(&mut self, event: &Event) {
        let Some(on_event) = self.on_event else {
            return;
        };
        let event = kausal_event {
            kind: kind_code(event.kind),
            tables: event.tables,
            bytes: event.bytes,
            duration_ns: event.duration_ns,
        };
        // SAFETY: the host's callback with its own context and an event that lives
        // through the call (the header's contract for kausal_set_event_hook).
        unsafe { on_event(self.context, &event) };
    }

    fn now_ns(&mut self) -> u64 {
        // SAFETY: as in `event`.
        self.now_ns.map_or(0, |now_ns| unsafe { now_ns(self.context) })
    }
}

/// Sets (or, with `on_event` NULL, removes) the store's event hook: `on_event(context,
/// event)` receives each flush, compaction and write stall as a start and an end event, in
/// order, on the calling thread; `now_ns(context)` (may be NULL: durations are then 0) is
/// the host's monotonic clock in nanoseconds, which also times `kausal_store_stats`'s
/// `write_stall_ns_*`. Neither may call into `db`. Replaces any earlier hook.
#[no_mangle]
pub unsafe extern "C" fn kausal_set_event_hook(
    db: *mut kausal_db,
    on_event: kausal_event_fn,
    now_ns: kausal_clock_fn,
    context: *mut c_void,
) -> kausal_status {
    let result: Outcome = (|| {
        // SAFETY: forwarded from the caller.
        let engine = unsafe { engine(db)? };
        // SAFETY: `engine` checked the handle: non-null, open.
        let slot = unsafe { (*db).hook };
        // The engine lets go of the slot before it changes, then borrows it afresh: at no
        // time do two live references to it exist.
        engine.set_event_hook(None);
        // SAFETY: the slot was placed in the region at open, aligned, and lives until
        // kausal_close; the engine holds no reference to it (just released).
        unsafe { slot.write(HookSlot { on_event, now_ns, context }) };
        if on_event.is_some() {
            // SAFETY: as above; this is the only reference until the next call here.
            engine.set_event_hook(Some(unsafe { &mut *slot }));
        }
        Ok(())
    })();
    // SAFETY: forwarded from the caller; the call's borrows have ended.
    unsafe { status_at(db, result) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_event_kind_has_its_own_code() {
        let kinds = [
            EventKind::RecoveryStart,
            EventKind::RecoveryEnd,
            EventKind::FlushStart,
            EventKind::FlushEnd,
            EventKind::CompactionStart,
            EventKind::CompactionEnd,
            EventKind::WriteStallStart,
            EventKind::WriteStallEnd,
        ];
        let codes: std::vec::Vec<u32> = kinds.iter().map(|&kind| kind_code(kind)).collect();
        assert_eq!(codes, (1..=8).collect::<std::vec::Vec<u32>>());
    }
}
