//! The web app (`web/dist`) is built into the gateway with `include_dir!`,
//! which cargo does not know to watch: rebuild whenever any file there changes.

fn main() {
    println!("cargo::rerun-if-changed=../web/dist");
}
