//! Links the example firmware with cortex-m-rt's linker script (`link.x`, which includes
//! the `memory.x` embassy-stm32 writes for the chip) when building for a bare-metal ARM
//! target. The library itself links nothing.

fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("thumb") {
        println!("cargo:rustc-link-arg-examples=-Tlink.x");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
