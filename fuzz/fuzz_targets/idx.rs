//! IDX files (MNIST's format), raw or gzip-compressed: `read_idx_u8` must return an array whose
//! payload fills its dimensions, or an error; never panic or allocate on a size the file only
//! claims.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sinew::data::{read_idx_u8, read_maybe_gz};

#[global_allocator]
static ALLOC: sinew_fuzz::BoundedAlloc = sinew_fuzz::BoundedAlloc;

fuzz_target!(init: sinew_fuzz::limits(), |data: &[u8]| {
    let p = sinew_fuzz::scratch("idx", data);
    if let Ok(a) = read_idx_u8(&p) {
        assert_eq!(a.dims.iter().product::<usize>(), a.data.len(), "dims {:?}", a.dims);
    }
    let _ = read_maybe_gz(&p);
});
