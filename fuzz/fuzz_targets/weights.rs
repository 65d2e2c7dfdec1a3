//! Weights files: `load_weights` into a fixed small model must succeed only on a file holding
//! every weight with its shape, and be an error otherwise. With `SINEW_FUZZ_WRITE_SEED=<file>`,
//! the target saves that model's weights there, a seed, and exits.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sinew::prelude::*;

#[global_allocator]
static ALLOC: sinew_fuzz::BoundedAlloc = sinew_fuzz::BoundedAlloc;

fn model() -> Sequential {
    let mut m = Sequential::new();
    m.seed(1).input(&[3]);
    m.add(Dense::new(4).activation(Activation::Relu));
    m.add(Dense::new(2));
    m
}

fuzz_target!(
    init: {
        sinew_fuzz::limits();
        if let Some(p) = std::env::var_os("SINEW_FUZZ_WRITE_SEED") {
            model().save_weights(&p).unwrap();
            std::process::exit(0);
        }
    },
    |data: &[u8]| {
        let p = sinew_fuzz::scratch("weights.safetensors", data);
        let mut m = model();
        if m.load_weights(&p).is_ok() {
            assert!(m.get_weights().iter().all(|w| w.to_vec_f32().iter().all(|v| v.is_finite())));
        }
    }
);
