//! A real crash: a child process writes and syncs on the POSIX backend and is killed with
//! SIGKILL at a random moment; the parent reopens the store and checks that every write
//! the child reported as synced is there, and that what is there is a whole prefix.
#![cfg(feature = "posix")]
// Test code: runs on 64-bit hosts only, and a test reads top to bottom as one scenario.
#![allow(clippy::cast_possible_truncation, clippy::too_many_lines)]

mod harness;

use kausaldb_core::vfs::posix::PosixVfs;
use kausaldb_core::vfs::sim::SimRng;
use kausaldb_core::{memory_bytes_required, BlockId, Config, Engine};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_DIRECTORY: &str = "KAUSAL_KILL_CHILD_DIRECTORY";
const SYNC_EVERY_WRITES: u64 = 4;

fn config() -> Config {
    Config {
        memtable_entries_max: 1 << 17,
        memtable_edges_max: 1 << 10,
        memtable_arena_bytes_max: 32 << 20,
        ..Config::DEFAULT
    }
}

fn id(n: u64) -> BlockId {
    BlockId::from_u128(u128::from(n))
}

fn content(n: u64) -> Vec<u8> {
    format!("block {n} {}", "x".repeat((n % 97) as usize)).into_bytes()
}

/// The child: continue the sequence of blocks after what is stored, syncing every few
/// writes and reporting each sync on stdout, until killed.
fn child(directory: &str) {
    let config = config();
    let mut region = vec![0u8; memory_bytes_required(&config)];
    let vfs = PosixVfs::open_dir(directory).expect("child: directory");
    let mut engine = Engine::open(config, &mut region, vfs).expect("child: open");
    let mut next = engine.stats().blocks_live + 1;
    let mut stdout = std::io::stdout();
    loop {
        if engine.put_block(id(next), b"kill.rs", b"{}", &content(next)).is_err() {
            // Full: wait to be killed rather than exit, so every round ends the same way.
            std::thread::sleep(Duration::from_secs(60));
        }
        if next.is_multiple_of(SYNC_EVERY_WRITES) {
            engine.sync().expect("child: sync");
            writeln!(stdout, "synced {next}").and_then(|()| stdout.flush()).expect("child: stdout");
        }
        next += 1;
    }
}

#[test]
fn sigkill_at_random_moments_loses_no_synced_write() {
    if let Ok(directory) = std::env::var(CHILD_DIRECTORY) {
        return child(&directory);
    }
    let directory = std::env::temp_dir().join(format!("kausaldb-kill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    let directory_text = directory.to_str().expect("UTF-8 temp path").to_string();
    let seeds = harness::seeds("sigkill_at_random_moments_loses_no_synced_write", 1);
    let mut rng = SimRng::new(seeds.start);
    let config = config();
    let mut region = vec![0u8; memory_bytes_required(&config)];
    let mut stored = 0;
    for round in 0..12 {
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args(["--exact", "sigkill_at_random_moments_loses_no_synced_write", "--nocapture"])
            .env(CHILD_DIRECTORY, &directory_text)
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn child");
        let lines = BufReader::new(child.stdout.take().expect("child stdout"));
        let kill_after = Duration::from_millis(20 + rng.below(120));
        let reader = std::thread::spawn(move || {
            let mut synced = 0;
            for line in lines.lines().map_while(Result::ok) {
                if let Some(number) = line.strip_prefix("synced ") {
                    synced = number.parse().expect("child reports numbers");
                }
            }
            synced
        });
        let started = Instant::now();
        while started.elapsed() < kill_after {
            std::thread::sleep(Duration::from_millis(1));
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reap child");
        let synced = reader.join().expect("reader thread");
        let vfs = PosixVfs::open_dir(&directory_text).expect("directory");
        let mut engine = Engine::open(config, &mut region, vfs).expect("reopen after SIGKILL");
        let live = engine.stats().blocks_live;
        assert!(live >= synced, "round {round}: {synced} writes were synced, {live} survived");
        assert!(live >= stored, "round {round}: the store shrank from {stored} to {live}");
        for n in 1..=live {
            let block = engine.find_block(id(n)).expect("find").expect("a prefix has no holes");
            assert_eq!(block.content, &content(n)[..], "round {round}: block {n} is damaged");
        }
        assert!(engine.find_block(id(live + 1)).expect("find").is_none());
        stored = live;
        engine.close().expect("close");
    }
    assert!(stored > 0, "the children wrote nothing");
    eprintln!("sigkill: 12 kills, {stored} blocks in the store, all intact");
    let _ = std::fs::remove_dir_all(&directory);
}

const LOCK_CHILD_DIRECTORY: &str = "KAUSAL_LOCK_CHILD_DIRECTORY";

/// The lock holder: opens the store, writes and syncs one block, says so, and waits to be
/// killed.
fn lock_holder(directory: &str) {
    let config = Config::DEFAULT;
    let mut region = vec![0u8; memory_bytes_required(&config)];
    let vfs = PosixVfs::open_dir(directory).expect("holder: directory");
    let mut engine = Engine::open(config, &mut region, vfs).expect("holder: open");
    engine.put_block(id(1), b"holder.rs", b"{}", b"held").expect("holder: put");
    engine.sync().expect("holder: sync");
    println!("opened {}", std::process::id());
    std::thread::sleep(Duration::from_secs(60));
}

/// Two processes on one store used to lose each other's writes silently. Now a second opener
/// is refused with the holder's pid while the holder lives, and opens as soon as the holder
/// is killed (SIGKILL: the kernel releases its lock with its files).
#[test]
fn a_store_is_refused_to_a_second_process_until_its_holder_dies() {
    if let Ok(directory) = std::env::var(LOCK_CHILD_DIRECTORY) {
        return lock_holder(&directory);
    }
    let directory = std::env::temp_dir().join(format!("kausaldb-lock-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    let directory_text = directory.to_str().expect("UTF-8 temp path").to_string();
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "a_store_is_refused_to_a_second_process_until_its_holder_dies"])
        .args(["--nocapture"])
        .env(LOCK_CHILD_DIRECTORY, &directory_text)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn holder");
    let mut lines = BufReader::new(child.stdout.take().expect("holder stdout")).lines();
    let holder: u32 = lines
        .find_map(|line| line.ok()?.strip_prefix("opened ")?.parse().ok())
        .expect("the holder opened the store");
    assert_eq!(holder, child.id());
    let config = Config::DEFAULT;
    let mut region = vec![0u8; memory_bytes_required(&config)];
    for _ in 0..2 {
        let vfs = PosixVfs::open_dir(&directory_text).expect("directory");
        let refused = Engine::open(config, &mut region, vfs).map(|_| ());
        assert_eq!(refused, Err(kausaldb_core::Error::Locked { pid: holder }));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap holder");
    let vfs = PosixVfs::open_dir(&directory_text).expect("directory");
    let mut engine = Engine::open(config, &mut region, vfs).expect("the holder's lock is free");
    assert_eq!(engine.find_block(id(1)).expect("find").expect("synced").content, b"held");
    engine.close().expect("close");
    let _ = std::fs::remove_dir_all(&directory);
}
