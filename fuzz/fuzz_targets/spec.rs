//! TOML specs: `spec::parse` must give a checked spec or an error naming the file and line, on
//! any text.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOC: sinew_fuzz::BoundedAlloc = sinew_fuzz::BoundedAlloc;

fuzz_target!(init: sinew_fuzz::limits(), |data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(e) = sinew_cli::spec::parse(text, std::path::Path::new("fuzz.toml")) {
            assert!(e.to_string().starts_with("fuzz.toml"), "an error without the file: {e}");
        }
    }
});
