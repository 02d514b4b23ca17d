//! Whether the index still matches the tree: a walk of the tree (as the indexer walks it)
//! with one `stat` per file, compared with what the last index saw (modification time and
//! size). Cheap next to an index, which reads and hashes every file, but not free: it runs
//! at most once per interval, and only what it finds changed makes the indexer run (which
//! then decides by content hash).

use crate::error::Error;
use crate::indexer;
use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

/// What the server does about a tree that changed since its last index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Stale {
    /// Re-index what changed before answering (the default).
    Reindex,
    /// Answer from the index as it is, and say that it may be stale and how many files
    /// changed.
    Warn,
    /// Never look.
    Off,
}

/// A file as the last look saw it.
type Seen = (Option<SystemTime>, u64);

/// The tree as the last index saw it, and when it was last looked at.
#[derive(Debug)]
pub struct Freshness {
    pub mode: Stale,
    interval: Duration,
    last_look: Option<Instant>,
    /// `None` until the server has indexed once (then every file counts as changed).
    seen: Option<HashMap<String, Seen>>,
}

impl Freshness {
    pub fn new(mode: Stale, interval: Duration) -> Freshness {
        Freshness { mode, interval, last_look: None, seen: None }
    }

    /// Files added, changed or removed since the last `record`, if a look is due (at most
    /// one per interval); `Some(usize::MAX)` before any index by this server.
    pub fn changed(&mut self, root: &Path) -> Result<Option<usize>, Error> {
        if self.mode == Stale::Off {
            return Ok(None);
        }
        if self.last_look.is_some_and(|at| at.elapsed() < self.interval) {
            return Ok(None);
        }
        self.last_look = Some(Instant::now());
        let Some(seen) = &self.seen else { return Ok(Some(usize::MAX)) };
        let now = look(root)?;
        let changed = now.iter().filter(|(path, state)| seen.get(*path) != Some(*state)).count()
            + seen.keys().filter(|path| !now.contains_key(*path)).count();
        Ok(Some(changed))
    }

    /// Records the tree as it is now: what the index just saw.
    pub fn record(&mut self, root: &Path) -> Result<(), Error> {
        self.seen = Some(look(root)?);
        self.last_look = Some(Instant::now());
        Ok(())
    }
}

/// Every source file's modification time and size.
fn look(root: &Path) -> Result<HashMap<String, Seen>, Error> {
    let mut seen = HashMap::new();
    for (path, _) in indexer::source_files(root)? {
        // A file gone between the walk and the stat counts as changed (it has no entry).
        if let Ok(metadata) = std::fs::metadata(root.join(&path)) {
            seen.insert(path, (metadata.modified().ok(), metadata.len()));
        }
    }
    Ok(seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_added_or_removed_file_is_seen_once_a_look_is_due() {
        let root = std::env::temp_dir().join(format!("kausal-fresh-{}", std::process::id()));
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("a.c"), "int a;\n").unwrap();
        std::fs::write(root.join("b.c"), "int b;\n").unwrap();
        let mut fresh = Freshness::new(Stale::Reindex, Duration::ZERO);
        assert_eq!(fresh.changed(&root).unwrap(), Some(usize::MAX), "never indexed");
        fresh.record(&root).unwrap();
        assert_eq!(fresh.changed(&root).unwrap(), Some(0));
        std::fs::write(root.join("a.c"), "int a, aa;\n").unwrap();
        std::fs::write(root.join("c.c"), "int c;\n").unwrap();
        std::fs::remove_file(root.join("b.c")).unwrap();
        assert_eq!(fresh.changed(&root).unwrap(), Some(3));
        // Within the interval, no look at all.
        let mut slow = Freshness::new(Stale::Warn, Duration::from_secs(3600));
        slow.record(&root).unwrap();
        std::fs::write(root.join("c.c"), "int c, cc;\n").unwrap();
        assert_eq!(slow.changed(&root).unwrap(), None);
        let mut off = Freshness::new(Stale::Off, Duration::ZERO);
        assert_eq!(off.changed(&root).unwrap(), None);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
