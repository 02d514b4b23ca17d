//! A merge's input tables, removed in steps. Removing a large table file in one call took up
//! to 103 ms in the scale run with the host compacting (`unlinkat` of a table of some
//! 100 MiB: the file system frees its extents and the page cache its pages within that
//! call), seven times the longest of the steps the rest of a compaction took. So with
//! compaction in steps (`Config::compaction_auto` off) a merge's inputs are put aside when
//! its table is installed, and each later step cuts at most `compaction_step_bytes` off one
//! of them (`Vfs::truncate`), removing it once what is left fits in a step.
//!
//! No manifest names a retired table, so a crash leaves it as an orphan the next open removes.
//! A new table is created only once none is retired (a flush or merge retires the rest at
//! once first): the files on disk stay within what `Config::files_max` was checked against.

use super::compaction::CompactionSteps;
use super::Store;
use crate::table::format::{table_name, TABLE_NAME_BYTES};
use crate::table::TableMeta;
use crate::vfs::{FileHandle, Vfs};

/// A table no manifest names any more, its file still open.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RetiredTable {
    file: FileHandle,
    number: u64,
    /// Bytes the file still has.
    bytes: u64,
}

impl RetiredTable {
    /// An unused slot of the region's list.
    pub(crate) const EMPTY: RetiredTable =
        RetiredTable { file: FileHandle(0), number: 0, bytes: 0 };
}

impl CompactionSteps<'_> {
    /// Adds `table` to the retired ones; gives it back if the list is full.
    fn push_retired(&mut self, table: RetiredTable) -> Result<(), RetiredTable> {
        let slot = self.retired.get_mut(self.retired_count).ok_or(table)?;
        *slot = table;
        self.retired_count += 1;
        Ok(())
    }

    /// Takes the last retired table off the list.
    fn pop_retired(&mut self) -> Option<RetiredTable> {
        self.retired_count = self.retired_count.checked_sub(1)?;
        self.retired.get(self.retired_count).copied()
    }
}

impl<'r> Store<'r> {
    /// Puts `table` (out of the tables: no read sees it) aside for `retire_step`, or, without
    /// a place for it (`compaction_auto`, whose merges run in one call), removes it now.
    pub(super) fn retire<V: Vfs>(&mut self, vfs: &mut V, table: &TableMeta) {
        let retired =
            RetiredTable { file: table.file, number: table.number, bytes: table.file_bytes };
        // The list holds `tables_max`, and a merge begins only once it is empty.
        let kept = self.steps_slot().map(|steps| steps.push_retired(retired));
        if !matches!(kept, Some(Ok(()))) {
            remove(vfs, &retired);
        }
    }

    /// One bounded piece of removing the retired tables: `budget` bytes (at least 1) cut off
    /// the end of one, or its removal when what is left fits. False if none is retired.
    /// A failed cut removes the file at once; a failed removal leaves an orphan, which the
    /// next open removes (as for any table a merge replaced).
    pub(crate) fn retire_step<V: Vfs>(&mut self, vfs: &mut V, budget: usize) -> bool {
        let Some(steps) = self.steps_slot() else {
            return false;
        };
        let Some(table) = steps.pop_retired() else {
            return false;
        };
        let budget = (budget as u64).max(1);
        if table.bytes > budget {
            let left = RetiredTable { bytes: table.bytes - budget, ..table };
            if vfs.truncate(table.file, left.bytes).is_ok() && steps.push_retired(left).is_ok() {
                return true;
            }
        }
        remove(vfs, &table);
        true
    }

    /// Removes every retired table at once: before a new table is created, and at close.
    pub(crate) fn retire_all<V: Vfs>(&mut self, vfs: &mut V) {
        while let Some(table) = self.steps_slot().and_then(CompactionSteps::pop_retired) {
            remove(vfs, &table);
        }
    }

    /// Closes the retired tables' files and leaves them on disk, orphans the next open
    /// removes: an engine dropped without a close (`Engine::abandon`) does no more.
    pub(crate) fn leave_retired<V: Vfs>(&mut self, vfs: &mut V) {
        while let Some(table) = self.steps_slot().and_then(CompactionSteps::pop_retired) {
            vfs.close(table.file);
        }
    }

    /// Whether a retired table is still on disk (`Stats::compaction_pending`).
    pub(crate) fn retiring(&self) -> bool {
        self.steps().is_some_and(|steps| steps.retired_count > 0)
    }
}

/// Closes a retired table's file and removes it; an error leaves an orphan for the next open.
fn remove<V: Vfs>(vfs: &mut V, table: &RetiredTable) {
    vfs.close(table.file);
    let mut name = [0u8; TABLE_NAME_BYTES];
    let _ = vfs.remove(table_name(table.number, &mut name));
}
