//! Gives the shared library a versioned soname (`libkausaldb.so.<major>`) on Linux, so
//! programs linked against it keep loading a compatible version after an upgrade, as with
//! any C library (`cargo xtask install` lays out the links).

fn main() {
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_default();
    if target_os == "linux" && !major.is_empty() {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libkausaldb.so.{major}");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
