//! `uniffi-bindgen`, pinned to the workspace's uniffi version so the generated Kotlin and Swift always
//! match the scaffolding compiled into `apig-uniffi`: `cargo run -p apig-uniffi-bindgen -- generate …`.

fn main() {
    uniffi::uniffi_bindgen_main();
}
