//! Links with link.x (QEMU's mps2-an386 memory map, the vector table first) and makes
//! `Reset` the entry point, so the linker keeps it and everything it reaches (the engine).
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:rustc-link-arg-bins=-T{dir}/link.x");
    println!("cargo:rerun-if-changed=link.x");
}
