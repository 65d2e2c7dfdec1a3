//! Images (PNG and JPEG, chosen by the input's magic bytes): `load_image` must give a tensor of
//! the asked size or an error, and never decode more than the limit its header is checked
//! against.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sinew::data::load_image;

#[global_allocator]
static ALLOC: sinew_fuzz::BoundedAlloc = sinew_fuzz::BoundedAlloc;

fuzz_target!(init: sinew_fuzz::limits(), |data: &[u8]| {
    let name = if data.starts_with(&[0xff, 0xd8]) { "image.jpg" } else { "image.png" };
    let p = sinew_fuzz::scratch(name, data);
    for channels in [1, 3] {
        if let Ok(t) = load_image(&p, (8, 6), channels) {
            assert_eq!(t.dims(), &[8, 6, channels]);
        }
    }
});
