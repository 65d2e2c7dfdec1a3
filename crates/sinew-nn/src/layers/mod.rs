//! Layer families, one file each.

pub mod core;
