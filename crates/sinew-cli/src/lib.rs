//! What the `sinew` binary shares with other crates: the spec reader (`spec::parse`, which the
//! fuzz targets drive) and `saved`, what a model file keeps for `predict`. The commands
//! themselves live in the binary (`main.rs` and its modules).

pub mod classic_spec;
pub mod saved;
pub mod search_spec;
pub mod spec;
mod spec_data;
mod spec_fit;
mod spec_table;
pub mod transfer_spec;
