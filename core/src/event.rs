//! Structured events for a host's hook: the engine's long steps (recovery at open, flush,
//! compaction) and the writes they stall, each as a start and an end with the bytes and
//! tables involved and, if the host gives a clock, the time it took. The seed's "observable
//! performance through structured logging", without a logger: no allocation, no formatting
//! in the engine; the host decides what to print or count. A recovery, flush or compaction
//! that fails emits its start and no end; a write stall always ends (counted and timed in
//! `Stats`), whether its flush succeeded or the write then fails with the flush's error.

/// What an event reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// Open begins replaying the log.
    RecoveryStart,
    /// Open replayed the log: `bytes` of it.
    RecoveryEnd,
    /// A flush begins: `bytes` of memtable payload (block contents, uris, metadata).
    FlushStart,
    /// A flush wrote its tables (blocks and edges apart): `bytes` of table files; `tables`
    /// in the store after it.
    FlushEnd,
    /// A compaction step begins: `tables` tables of `bytes` bytes are merged.
    CompactionStart,
    /// A compaction step wrote its table: `bytes` of table file; `tables` after it.
    CompactionEnd,
    /// A write found the memtable or the log full and flushes (and compacts) before it is
    /// applied: the host's call waits for that work.
    WriteStallStart,
    /// The stalled write goes on (or fails, if its flush did); `duration_ns` is the stall.
    WriteStallEnd,
}

/// One event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// Bytes the step handled (see each `EventKind`; 0 for stalls).
    pub bytes: u64,
    /// Tables in the store after an end event; tables merged for `CompactionStart`.
    pub tables: u32,
    /// For an end event, the host clock's time since its start (`EventHook::now_ns`; 0 for
    /// start events and without a clock).
    pub duration_ns: u64,
}

/// A host's hook: called with each event, in order, on the thread calling the engine. It
/// must not call into the engine. `now_ns` is the host's monotonic clock (the core has
/// none); without one, durations are 0.
pub trait EventHook {
    /// Receives one event.
    fn event(&mut self, event: &Event);

    /// Nanoseconds on a monotonic clock (any origin).
    fn now_ns(&mut self) -> u64 {
        0
    }
}

/// The engine's side: the host's hook, if any, and what it measured of stalls.
pub(crate) struct Events<'r> {
    hook: Option<&'r mut (dyn EventHook + Send)>,
    pub(crate) write_stalls: u64,
    pub(crate) write_stall_ns_total: u64,
    pub(crate) write_stall_ns_max: u64,
}

impl core::fmt::Debug for Events<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Events")
            .field("hook", &self.hook.is_some())
            .field("write_stalls", &self.write_stalls)
            .finish_non_exhaustive()
    }
}

impl<'r> Events<'r> {
    pub(crate) fn new(hook: Option<&'r mut (dyn EventHook + Send)>) -> Events<'r> {
        Events { hook, write_stalls: 0, write_stall_ns_total: 0, write_stall_ns_max: 0 }
    }

    /// Replaces the hook.
    pub(crate) fn set_hook(&mut self, hook: Option<&'r mut (dyn EventHook + Send)>) {
        self.hook = hook;
    }

    /// Emits a start event; returns the clock after it, for `end`.
    pub(crate) fn start(&mut self, kind: EventKind, bytes: u64, tables: u32) -> u64 {
        let Some(hook) = self.hook.as_deref_mut() else {
            return 0;
        };
        hook.event(&Event { kind, bytes, tables, duration_ns: 0 });
        hook.now_ns()
    }

    /// Emits the end event of a step started at `started`; returns its duration.
    pub(crate) fn end(&mut self, kind: EventKind, bytes: u64, tables: u32, started: u64) -> u64 {
        let Some(hook) = self.hook.as_deref_mut() else {
            return 0;
        };
        let duration_ns = hook.now_ns().saturating_sub(started);
        hook.event(&Event { kind, bytes, tables, duration_ns });
        duration_ns
    }

    /// Counts a write stall that took `duration_ns`.
    pub(crate) fn count_stall(&mut self, duration_ns: u64) {
        self.write_stalls += 1;
        self.write_stall_ns_total = self.write_stall_ns_total.saturating_add(duration_ns);
        self.write_stall_ns_max = self.write_stall_ns_max.max(duration_ns);
    }
}
