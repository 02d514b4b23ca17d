//! A bare-metal program (thumbv7em-none-eabihf) that opens an engine on a static region and
//! a simulated disk, writes a block and an edge, and reads them back. There is no
//! `#[global_allocator]` and no `alloc` crate: if the core allocated, this would not link.
#![no_std]
#![no_main]

use core::panic::PanicInfo;
use core::ptr::addr_of_mut;
use kausaldb_core::vfs::sim::{SimConfig, SimVfs};
use kausaldb_core::{
    memory_bytes_required, BlockId, Config, Direction, Edge, EdgeFilter, EdgeType, Engine,
};

/// A firmware-sized store: 64 blocks, 256 edges, 16 KiB of payload.
const CONFIG: Config = Config {
    memtable_entries_max: 64,
    memtable_edges_max: 256,
    memtable_arena_bytes_max: 16 << 10,
    source_uri_bytes_max: 128,
    metadata_bytes_max: 256,
    content_bytes_max: 2048,
    wal_segment_bytes_max: 16 << 10,
    wal_segments_max: 4,
    wal_buffer_bytes: 4096,
    read_buffer_bytes: 4096,
    files_max: 10,
    tables_max: 4,
    table_memory_bytes: 4096,
    table_page_bytes: 1024,
    ..Config::DEFAULT
};
const SIM: SimConfig =
    SimConfig { files_max: 10, file_bytes_max: 16 << 10, pending_bytes_max: 8 << 10 };
const REGION_BYTES: usize = 80 << 10;
const DISK_BYTES: usize = 10 * 2 * (16 << 10) + (8 << 10);

static mut REGION: [u8; REGION_BYTES] = [0; REGION_BYTES];
static mut DISK: [u8; DISK_BYTES] = [0; DISK_BYTES];

fn run() -> Result<usize, kausaldb_core::Error> {
    if memory_bytes_required(&CONFIG) > REGION_BYTES || SIM.memory_bytes_required() > DISK_BYTES {
        return Err(kausaldb_core::Error::RegionTooSmall { bytes_required: 0, bytes_given: 0 });
    }
    // SAFETY: `run` is called once, from the reset handler, before anything else runs,
    // so these are the only references to the statics.
    let (region, disk) = unsafe { (&mut *addr_of_mut!(REGION), &mut *addr_of_mut!(DISK)) };
    let vfs = SimVfs::new(disk, SIM, 1).map_err(kausaldb_core::Error::Io)?;
    let mut engine = Engine::open(CONFIG, region, vfs)?;
    let main = BlockId::derive(b"fw", b"main");
    let init = BlockId::derive(b"fw", b"init");
    engine.put_block(main, b"main.c", b"{\"kind\":\"function\"}", b"int main(void);")?;
    engine.put_block(init, b"init.c", b"{\"kind\":\"function\"}", b"void init(void);")?;
    engine.put_edge(Edge { source: main, target: init, edge_type: EdgeType::CALLS })?;
    engine.sync()?;
    let mut callers = [Edge::EMPTY; 4];
    let count = engine.edges(init, Direction::Incoming, EdgeFilter::All, &mut callers)?;
    Ok(count.written)
}

#[no_mangle]
pub extern "C" fn Reset() -> ! {
    let _callers = run();
    loop {
        core::hint::spin_loop();
    }
}

#[panic_handler]
fn panic(_info: &PanicInfo) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
