//! `sqlx::migrate!` embeds `../migrations` at compile time; without this, adding a
//! migration file would not rebuild the crate and a stale set would be embedded.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
