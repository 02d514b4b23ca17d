//! KausalDB for programs with `std`: [`Store`] opens a store directory in one call and owns
//! everything the engine needs (its memory region and its files), so it can live in a
//! struct, move to another thread with its owner (`Send`; calls take `&mut`), and closes
//! when dropped.
//!
//! The engine itself is [`kausaldb_core`] (re-exported here as [`core`]): `no_std`, it never
//! allocates and borrows a region the host hands it. This crate is the host for `std`
//! programs: it allocates that region once, on the heap, at open.
//!
//! ```
//! use kausaldb::{BlockId, Edge, EdgeType, Store};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let directory = std::env::temp_dir().join(format!("kausaldb-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&directory)?;
//! let mut store = Store::open(&directory)?; // Config::DEFAULT: a ~17.8 MiB region
//! let (main, parse) = (BlockId::derive(b"repo", b"main"), BlockId::derive(b"repo", b"parse"));
//! store.with(|db| -> Result<(), kausaldb::Error> {
//!     db.put_block(main, b"src/main.rs", b"{}", b"fn main() { parse() }")?;
//!     db.put_block(parse, b"src/parse.rs", b"{}", b"fn parse() {}")?;
//!     db.put_edge(Edge { source: main, target: parse, edge_type: EdgeType::CALLS })?;
//!     db.sync()
//! })?;
//! let content = store.with(|db| db.find_block(parse).map(|view| view.map(|v| v.content.to_vec())))?;
//! assert_eq!(content.as_deref(), Some(&b"fn parse() {}"[..]));
//! store.close()?; // or drop it: dropping closes too, close() reports errors
//! # std::fs::remove_dir_all(&directory)?;
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs)]

use kausaldb_core::vfs::posix::PosixVfs;
use kausaldb_core::vfs::VfsError;
use ouroboros::self_referencing;
use std::path::Path;

pub use kausaldb_core as core;
pub use kausaldb_core::{
    BlockId, BlockView, Config, Direction, Edge, EdgeFilter, EdgeType, Engine, Error, Event,
    EventHook, EventKind, FieldName, Stats,
};

/// The engine over the store directory, as `Store::with` lends it.
pub type Db<'r> = Engine<'r, PosixVfs>;

/// The region, the event hook, and the engine carved from the one and calling the other.
/// `None` only inside `close`.
#[self_referencing]
struct Owned {
    region: Box<[u8]>,
    hook: Box<dyn EventHook + Send>,
    #[borrows(mut region, mut hook)]
    #[not_covariant]
    engine: Option<Engine<'this, PosixVfs>>,
}

/// The hook of a store opened without one: it ignores every event.
struct NoHook;

impl EventHook for NoHook {
    fn event(&mut self, _: &Event) {}
}

/// An open store that owns its memory and its directory handle. Dropping it closes the
/// store as [`Store::close`] would (best effort: `close` reports errors).
pub struct Store {
    owned: Owned,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.owned.with_engine(|engine| f.debug_struct("Store").field("engine", engine).finish())
    }
}

impl Store {
    /// Opens (creating if needed) the store in `directory` with `Config::DEFAULT`. The
    /// directory must exist. `Error::Locked` if another process has it open.
    pub fn open(directory: impl AsRef<Path>) -> Result<Store, Error> {
        Store::open_with(directory, Config::DEFAULT)
    }

    /// Opens the store in `directory` with `config`, allocating the region it needs
    /// (`memory_bytes_required(&config)` bytes) once.
    pub fn open_with(directory: impl AsRef<Path>, config: Config) -> Result<Store, Error> {
        Store::open_observed(directory, config, Box::new(NoHook))
    }

    /// `open_with`, the engine calling `hook` with its recovery, flushes, compactions and
    /// write stalls (`kausaldb_core::event`), timed by the hook's clock.
    pub fn open_observed(
        directory: impl AsRef<Path>,
        config: Config,
        hook: Box<dyn EventHook + Send>,
    ) -> Result<Store, Error> {
        config.validate()?;
        let path = directory.as_ref().to_str().ok_or(Error::Io(VfsError::NameInvalid))?;
        let vfs = PosixVfs::open_dir(path)?;
        let region = vec![0u8; kausaldb_core::memory_bytes_required(&config)].into_boxed_slice();
        let owned = OwnedTryBuilder {
            region,
            hook,
            engine_builder: |region: &mut Box<[u8]>, hook: &mut Box<dyn EventHook + Send>| {
                Engine::open_observed(config, region, vfs, hook.as_mut())
                    .map(Some)
                    .map_err(|(error, _)| error)
            },
        }
        .try_build()?;
        Ok(Store { owned })
    }

    /// Lends the engine to `call`: every read, write and query of [`Engine`]. Views the
    /// engine returns live as long as the borrow inside `call`; copy what you keep.
    pub fn with<R>(&mut self, call: impl FnOnce(&mut Db<'_>) -> R) -> R {
        self.owned.with_engine_mut(|slot| match slot {
            Some(engine) => call(engine),
            // `close` takes the engine out only as it consumes the store.
            None => unreachable!("a Store always holds its engine until close"),
        })
    }

    /// The engine's counters.
    pub fn stats(&self) -> Stats {
        self.owned.with_engine(|slot| match slot {
            Some(engine) => engine.stats(),
            None => unreachable!("a Store always holds its engine until close"),
        })
    }

    /// Syncs and closes the store, reporting what dropping would swallow.
    pub fn close(mut self) -> Result<(), Error> {
        self.owned.with_engine_mut(|slot| slot.take().map_or(Ok(()), Engine::close))
    }
}
// A store moves to another thread with its owner (it is not shared: `with` takes `&mut`).
const _: fn() = || {
    fn send<T: Send>() {}
    send::<Store>();
};
