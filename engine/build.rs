//! `sqlx::migrate!` embeds the migrations when the crate is compiled; a new or changed
//! migration alone would not make cargo compile it again, so tell it to (as sqlx advises).

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
