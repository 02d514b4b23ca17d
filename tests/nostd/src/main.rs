//! A bare-metal program (thumbv7em-none-eabihf) that opens an engine on a static region and
//! a simulated disk, writes blocks and an edge, syncs, reopens after a crash, and reads them
//! back; `cargo xtask check` runs it on QEMU's Cortex-M4 (mps2-an386), where it reports
//! through semihosting and exits with status 0 only if every answer was right. There is no
//! `#[global_allocator]` and no `alloc` crate: if the core allocated, this would not link.
//! An engine the optimiser removed could not give the answers, so it cannot pass either.
#![no_std]
#![no_main]

use core::panic::PanicInfo;
use core::ptr::addr_of_mut;
use kausaldb_core::vfs::sim::{SimConfig, SimVfs};
use kausaldb_core::{
    memory_bytes_required, BlockId, Config, Direction, Edge, EdgeFilter, EdgeType, Engine,
};

/// A firmware-sized store: 24 blocks, 48 edges, 2 KiB of payload (the C firmware's config).
const CONFIG: Config = Config {
    memtable_entries_max: 24,
    memtable_edges_max: 48,
    memtable_arena_bytes_max: 2048,
    source_uri_bytes_max: 32,
    metadata_bytes_max: 64,
    content_bytes_max: 256,
    wal_segment_bytes_max: 4096,
    wal_segments_max: 2,
    wal_buffer_bytes: 512,
    read_buffer_bytes: 512,
    files_max: 8,
    tables_max: 4,
    table_memory_bytes: 1024,
    table_page_bytes: 256,
    query_nodes_max: 16,
    ..Config::DEFAULT
};
const SIM: SimConfig =
    SimConfig { files_max: 8, file_bytes_max: 16 << 10, pending_bytes_max: 8 << 10 };
const REGION_BYTES: usize = 16 << 10;
const DISK_BYTES: usize = 8 * 2 * (16 << 10) + (8 << 10);

static mut REGION: [u8; REGION_BYTES] = [0; REGION_BYTES];
static mut DISK: [u8; DISK_BYTES] = [0; DISK_BYTES];

/// Writes, syncs, crashes, reopens and reads back; `Ok(true)` if every answer was right.
fn run() -> Result<bool, kausaldb_core::Error> {
    if memory_bytes_required(&CONFIG) > REGION_BYTES || SIM.memory_bytes_required() > DISK_BYTES {
        return Ok(false);
    }
    // SAFETY: `run` is called once, from the reset handler, before anything else runs,
    // so these are the only references to the statics.
    let (region, disk) = unsafe { (&mut *addr_of_mut!(REGION), &mut *addr_of_mut!(DISK)) };
    let mut sim = SimVfs::new(disk, SIM, 1).map_err(kausaldb_core::Error::Io)?;
    let mut engine = Engine::open(CONFIG, &mut *region, &mut sim)?;
    let main = BlockId::derive(b"fw", b"main");
    let init = BlockId::derive(b"fw", b"init");
    engine.put_block(main, b"main.c", b"{\"kind\":\"function\"}", b"int main(void);")?;
    engine.put_block(init, b"init.c", b"{\"kind\":\"function\"}", b"void init(void);")?;
    engine.put_edge(Edge { source: main, target: init, edge_type: EdgeType::CALLS })?;
    engine.sync()?;
    engine.put_block(init, b"init.c", b"{}", b"lost in the crash")?;
    // The power fails: the unsynced put is lost, the synced writes are not.
    engine.abandon();
    sim.crash();
    let mut engine = Engine::open(CONFIG, &mut *region, &mut sim)?;
    let mut callers = [Edge::EMPTY; 4];
    let count = engine.edges(init, Direction::Incoming, EdgeFilter::All, &mut callers)?;
    let synced = engine.find_block(init)?.is_some_and(|view| view.content == b"void init(void);");
    Ok(count.written == 1 && callers[0].source == main && synced)
}

/// Semihosting (the debugger channel QEMU implements): SYS_WRITE0 and SYS_EXIT.
fn semihost(operation: u32, argument: usize) {
    // SAFETY: `bkpt 0xAB` is the semihosting call; QEMU reads r0 (the operation) and r1 (a
    // pointer to a NUL-terminated string, or an exit reason) and touches nothing else.
    unsafe {
        core::arch::asm!("bkpt 0xAB", inout("r0") operation => _, in("r1") argument);
    }
}

fn print(text: &core::ffi::CStr) {
    semihost(0x04, text.as_ptr() as usize);
}

/// Ends the run: QEMU exits with status 0 for an application exit, 1 for an error.
fn exit(passed: bool) -> ! {
    semihost(0x18, if passed { 0x20026 } else { 0x20023 });
    loop {
        core::hint::spin_loop();
    }
}

#[no_mangle]
pub extern "C" fn Reset() -> ! {
    // The core is built for the hard-float ABI: turn on the FPU (CP10, CP11) first.
    // SAFETY: CPACR is a memory-mapped system register of every Cortex-M4 with an FPU.
    unsafe {
        let cpacr = 0xE000_ED88 as *mut u32;
        cpacr.write_volatile(cpacr.read_volatile() | 0xF << 20);
        core::arch::asm!("dsb", "isb");
    }
    let passed = matches!(run(), Ok(true));
    print(if passed { c"nostd: the engine ran: ok\n" } else { c"nostd: FAILED\n" });
    exit(passed)
}

/// The vector table after the initial stack pointer (link.x puts that first): reset.
#[link_section = ".vectors"]
#[used]
static VECTORS: [extern "C" fn() -> !; 1] = [Reset];

#[panic_handler]
fn panic(_info: &PanicInfo) -> ! {
    print(c"nostd: panic\n");
    exit(false)
}
