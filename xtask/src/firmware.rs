//! `cargo xtask firmware` and `cargo xtask size`: the C firmware of examples/firmware on an
//! emulated Cortex-M4, and the engine's code size there.
//!
//! Both build `libkausaldb.a` for thumbv7em-none-eabihf without the POSIX backend and with
//! `small-code` (the small CRC table and a heapsort), in the `size` profile (opt "z", fat
//! LTO, one codegen unit: see the workspace Cargo.toml), then compile and link the firmware
//! with gcc-arm-none-eabi and newlib-nano (for memcpy and strcmp). `firmware` runs it on
//! QEMU's `mps2-an386`, which reports its region, stack per call, wear and power cuts
//! through semihosting; `size` reads the linker's map and sums what the library put in the
//! image. `crc_on_aarch64` (in CI) checks the ARMv8 CRC32C instruction path under
//! `qemu-aarch64`.

use crate::{apt_install, flag_value, root, run, runs, Result, NO_STD_TARGET};

/// The engine's budget of code (.text of the library in the firmware image, C excluded),
/// as issue 18 sets it: held by the image with the storage calls (`STORAGE`); each group
/// of graph-query calls adds its code on top (README.md, "Embedded", has the table).
const ENGINE_TEXT_BUDGET_BYTES: u64 = 64 << 10;
/// The ceiling the image with every call is held to: today's size rounded up to the next
/// 4 KiB, a ratchet that fails on growth and comes down with each reduction.
const ENGINE_TEXT_CEILING_BYTES: u64 = 76 << 10;
/// The memory routines the engine calls (the ARM run-time ABI's names, and `memcmp`),
/// taken from the firmware's C library: named before the C library, which comes before
/// libkausaldb.a, they are defined when the engine's objects are pulled in, so the Rust
/// library's own copies (compiler_builtins', weak) are never linked. Those were 3,584 bytes
/// of the image; newlib-nano's are about 900, and a C firmware links them anyway.
const C_LIBRARY_MEMORY_ROUTINES: [&str; 10] = [
    "__aeabi_memcpy",
    "__aeabi_memcpy4",
    "__aeabi_memcpy8",
    "__aeabi_memmove",
    "__aeabi_memmove4",
    "__aeabi_memmove8",
    "__aeabi_memclr",
    "__aeabi_memclr4",
    "__aeabi_memclr8",
    "memcmp",
];
/// Power-cut seeds a default run checks (CI runs this many: about 10 s under QEMU).
const SEEDS_DEFAULT: u32 = 2000;
/// Power-cut seeds each image with fewer calls runs (at most): their code is a subset of
/// the full image's, run to show the images measured are working firmware.
const PARTIAL_IMAGE_SEEDS: u32 = 200;

/// A firmware image: the storage calls, and the groups of graph-query calls `graph_calls`
/// names (firmware.c's `FIRMWARE_GRAPH_CALLS` mask).
#[derive(Clone, Copy)]
struct Image {
    name: &'static str,
    graph_calls: u32,
    /// The calls the image makes, for the report (a group's: what it adds to the storage
    /// calls).
    calls: &'static str,
}

/// Every call the firmware makes (19 of them): the image `firmware` runs over every seed.
const FULL: Image = Image { name: "firmware", graph_calls: 0b111, calls: "every call (19)" };
/// The storage calls only (open, writes, deletes, sync, flush, compaction, point and batch
/// reads, edge listings, stats, the last error, id derivation, close): what the engine costs
/// a firmware that asks no graph queries.
const STORAGE: Image = Image { name: "firmware-storage", graph_calls: 0, calls: "storage calls" };
/// The storage calls and one group of graph queries each: what each group costs.
const GROUPS: [Image; 3] = [
    Image {
        name: "firmware-traversals",
        graph_calls: 0b001,
        calls: "+ traversals (kausal_traverse, kausal_traverse_visit)",
    },
    Image {
        name: "firmware-queries",
        graph_calls: 0b010,
        calls: "+ named queries and paths (kausal_query, kausal_shortest_path)",
    },
    Image {
        name: "firmware-scans",
        graph_calls: 0b100,
        calls: "+ scans and their filters (kausal_scan)",
    },
];

/// Builds the library and links the firmware `image`; returns the ELF's path.
fn build(image: Image) -> Result<std::path::PathBuf> {
    // Only the static library: with the rlib and cdylib beside it, rustc skips fat LTO
    // (the engine measured 128 KiB of code that way, against the figure in the README).
    let library_args = [
        "rustc",
        "--crate-type",
        "staticlib",
        "-p",
        "kausaldb-ffi",
        "--target",
        NO_STD_TARGET,
        "--profile",
        "size",
        "--no-default-features",
        "--features",
        "small-code",
    ];
    run("cargo", &library_args, &[])?;
    let out = root().join("target/firmware");
    std::fs::create_dir_all(&out).map_err(|error| error.to_string())?;
    let library = root().join(format!("target/{NO_STD_TARGET}/size/libkausaldb.a"));
    let elf = out.join(format!("{}.elf", image.name));
    let map = out.join(format!("{}.map", image.name));
    let source = root().join("examples/firmware");
    let path = |path: &std::path::Path| path.to_str().map(str::to_string).ok_or("non-UTF-8 path");
    let mut args: Vec<String> = [
        "-mcpu=cortex-m4",
        "-mthumb",
        "-mfloat-abi=hard",
        "-mfpu=fpv4-sp-d16",
        "-Os",
        "-g",
        "-std=gnu11",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-ffunction-sections",
        "-fdata-sections",
        "-nostartfiles",
        "--specs=nano.specs",
        "-Wl,--gc-sections",
        "-Wl,--no-warn-execstack",
    ]
    .iter()
    .map(|arg| arg.to_string())
    .collect();
    args.push(format!("-DFIRMWARE_GRAPH_CALLS={}", image.graph_calls));
    args.push(format!("-I{}", path(&root().join("include"))?));
    args.push(format!("-T{}", path(&source.join("link.ld"))?));
    args.push(format!("-Wl,-Map={}", path(&map)?));
    for file in ["startup.c", "flash_vfs.c", "firmware.c"] {
        args.push(path(&source.join(file))?);
    }
    // The C library first, its memory routines named, then the engine (see
    // `C_LIBRARY_MEMORY_ROUTINES`); the C library again for what the engine calls besides.
    args.extend(C_LIBRARY_MEMORY_ROUTINES.iter().map(|name| format!("-Wl,--undefined={name}")));
    args.extend(["-lc".to_string(), path(&library)?, "-lc".to_string(), "-lgcc".to_string()]);
    args.extend(["-o".to_string(), path(&elf)?]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run("arm-none-eabi-gcc", &args, &[])?;
    Ok(elf)
}

/// `cargo xtask firmware [--first S] [--seeds N]`: builds and runs the firmware on QEMU over
/// power-cut seeds S..S+N (default 1 and 500); fails if the firmware reports a failure.
pub(crate) fn firmware(args: &[String]) -> Result {
    let first: u32 = flag_value(args, "--first")?
        .map_or(Ok(1), str::parse)
        .map_err(|e| format!("--first: {e}"))?;
    let seeds: u32 = flag_value(args, "--seeds")?
        .map_or(Ok(SEEDS_DEFAULT), str::parse)
        .map_err(|e| format!("--seeds: {e}"))?;
    install_tools()?;
    let elf = build(FULL)?;
    let elf = elf.to_str().ok_or("non-UTF-8 path")?;
    run_on_qemu(elf, &["firmware".to_string(), first.to_string(), seeds.to_string()])?;
    // The images with fewer calls are measured, so they are run too (fewer seeds).
    let partial_seeds = seeds.min(PARTIAL_IMAGE_SEEDS);
    for image in core::iter::once(STORAGE).chain(GROUPS) {
        let elf = build(image)?;
        let elf = elf.to_str().ok_or("non-UTF-8 path")?;
        run_on_qemu(elf, &["firmware".to_string(), first.to_string(), partial_seeds.to_string()])?;
    }
    size_report()
}

/// Runs a Cortex-M4 program on QEMU's mps2-an386 with semihosting (its output and exit
/// status) and the command line `arguments`; fails if it exits with an error.
pub(crate) fn run_on_qemu(elf: &str, arguments: &[String]) -> Result {
    let mut semihosting = "enable=on,target=native".to_string();
    for argument in arguments {
        semihosting.push_str(&format!(",arg={argument}"));
    }
    // A hung program (an endless loop would be a bug too) ends the run after 10 minutes.
    let qemu = [
        "600",
        "qemu-system-arm",
        "-M",
        "mps2-an386",
        "-nographic",
        "-monitor",
        "none",
        "-serial",
        "none",
        "-semihosting-config",
        &semihosting,
        "-kernel",
        elf,
    ];
    run("timeout", &qemu, &[])
}

/// `cargo xtask size`: the engine's code and read-only data in the firmware image, from the
/// linker's map, with every call and by group of calls; fails if the storage calls' code is
/// over `ENGINE_TEXT_BUDGET_BYTES` or every call's over `ENGINE_TEXT_CEILING_BYTES`.
pub(crate) fn size() -> Result {
    install_tools()?;
    for image in [FULL, STORAGE].into_iter().chain(GROUPS) {
        build(image)?;
    }
    size_report()
}

/// The library's bytes in a built image's map: (.text, .rodata).
fn image_bytes(image: Image) -> Result<(u64, u64)> {
    let map = root().join(format!("target/firmware/{}.map", image.name));
    let map = std::fs::read_to_string(&map).map_err(|e| format!("{}: {e}", map.display()))?;
    Ok(library_bytes(&map))
}

fn size_report() -> Result {
    let (text, rodata) = image_bytes(FULL)?;
    let (storage_text, storage_rodata) = image_bytes(STORAGE)?;
    eprintln!("xtask: engine in the firmware image, by the calls it makes (.text, .rodata):");
    eprintln!(
        "xtask:   {:<66} {storage_text:>6} {storage_rodata:>6} (budget {ENGINE_TEXT_BUDGET_BYTES})",
        STORAGE.calls
    );
    for group in GROUPS {
        let (group_text, group_rodata) = image_bytes(group)?;
        let added_text = group_text.saturating_sub(storage_text);
        let added_rodata = group_rodata.saturating_sub(storage_rodata);
        eprintln!("xtask:   {:<66} {:>+6} {:>+6}", group.calls, added_text, added_rodata);
    }
    eprintln!(
        "xtask:   {:<66} {text:>6} {rodata:>6} (ceiling {ENGINE_TEXT_CEILING_BYTES})",
        FULL.calls
    );
    if storage_text > ENGINE_TEXT_BUDGET_BYTES {
        return Err(format!(
            "the storage calls' code is {storage_text} bytes, over its budget of \
             {ENGINE_TEXT_BUDGET_BYTES}"
        ));
    }
    if text > ENGINE_TEXT_CEILING_BYTES {
        return Err(format!(
            "the engine's code is {text} bytes, over its ceiling of {ENGINE_TEXT_CEILING_BYTES}"
        ));
    }
    Ok(())
}

/// Bytes of `.text*` and `.rodata*` input sections the map says the image kept from
/// libkausaldb.a (GNU ld's map: a section name, then on the same or the next line its
/// address, size and input file).
fn library_bytes(map: &str) -> (u64, u64) {
    let (mut text, mut rodata) = (0, 0);
    let mut section = String::new();
    // Before this heading the map lists the sections the linker discarded.
    let kept = map.split_once("Linker script and memory map").map_or("", |(_, kept)| kept);
    for line in kept.lines() {
        let mut fields = line.split_whitespace();
        let Some(first) = fields.next() else { continue };
        let rest: Vec<&str> = if first.starts_with('.') && line.starts_with(' ') {
            section = first.to_string();
            fields.collect()
        } else if first.starts_with("0x") && line.starts_with("                ") {
            std::iter::once(first).chain(fields).collect()
        } else {
            continue;
        };
        let [_address, size, file, ..] = rest.as_slice() else { continue };
        let Some(size) = size.strip_prefix("0x").and_then(|s| u64::from_str_radix(s, 16).ok())
        else {
            continue;
        };
        if !file.contains("libkausaldb.a") {
            continue;
        }
        if section.starts_with(".text") {
            text += size;
        } else if section.starts_with(".rodata") {
            rodata += size;
        }
    }
    (text, rodata)
}

/// The CRC tests on an ARMv8 CPU with the CRC32C instructions (aarch64 Linux under
/// `qemu-aarch64`, built with `+crc`), so the instruction path is checked against the
/// bit-by-bit reference and both table sizes as the x86-64 one is.
pub(crate) fn crc_on_aarch64() -> Result {
    apt_install_missing(&[
        ("aarch64-linux-gnu-gcc", &["gcc-aarch64-linux-gnu", "libc6-dev-arm64-cross"]),
        ("qemu-aarch64", &["qemu-user"]),
    ])?;
    run("rustup", &["target", "add", "aarch64-unknown-linux-gnu"], &[])?;
    let runner = "qemu-aarch64 -L /usr/aarch64-linux-gnu";
    let envs = [
        ("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER", "aarch64-linux-gnu-gcc"),
        ("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER", runner),
        ("RUSTFLAGS", "-C target-feature=+crc"),
    ];
    let args = [
        "test",
        "-q",
        "-p",
        "kausaldb-core",
        "--lib",
        "--target",
        "aarch64-unknown-linux-gnu",
        "--target-dir",
        "target/aarch64-crc",
        "--",
        "crc32c",
    ];
    run("cargo", &args, &envs)
}

/// Installs with apt the packages of every program in `needed` that does not run.
fn apt_install_missing(needed: &[(&str, &[&'static str])]) -> Result {
    let missing: Vec<&str> = needed
        .iter()
        .filter(|(program, _)| !runs(program, &["--version"]))
        .flat_map(|(_, packages)| packages.iter().copied())
        .collect();
    apt_install(&missing)
}

/// Installs the bare-metal Rust target, and the cross compiler, newlib and QEMU with apt
/// unless they run already.
pub(crate) fn install_tools() -> Result {
    run("rustup", &["target", "add", NO_STD_TARGET], &[])?;
    apt_install_missing(&[
        ("arm-none-eabi-gcc", &["gcc-arm-none-eabi", "libnewlib-arm-none-eabi"]),
        ("qemu-system-arm", &["qemu-system-arm"]),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_map_is_summed_by_section_kind_for_the_library_only() {
        let map = "\
Discarded input sections
 .text.unused   0x00000000      0x999 /x/libkausaldb.a(k.o)
Linker script and memory map
 .text.kausal_open_vfs
                0x00001000      0x120 /x/target/thumbv7em-none-eabihf/size/libkausaldb.a(k.o)
 .text.main     0x00002000       0x40 /tmp/firmware.o
 .rodata.TABLE  0x00003000      0x400 /x/libkausaldb.a(k.o)
 .data.x        0x20000000       0x10 /x/libkausaldb.a(k.o)
";
        assert_eq!(library_bytes(map), (0x120, 0x400));
    }
}
