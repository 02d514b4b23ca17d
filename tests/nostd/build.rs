//! Makes `Reset` the entry point, so the linker keeps it and everything it reaches (the
//! engine), instead of discarding the whole program as unreachable.
fn main() {
    println!("cargo:rustc-link-arg-bins=--entry=Reset");
}
