//! Model files: `Model::load` must give a model or an error on any bytes (a safetensors header
//! whose JSON, architecture, shapes or offsets lie). With `SINEW_FUZZ_WRITE_SEED=<file>`, the
//! target writes a small trained model there, a seed, and exits.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sinew::prelude::*;

#[global_allocator]
static ALLOC: sinew_fuzz::BoundedAlloc = sinew_fuzz::BoundedAlloc;

fn write_seed(path: &std::ffi::OsStr) {
    let mut m = Sequential::new();
    m.seed(1).input(&[3]);
    m.add(Dense::new(4).activation(Activation::Relu));
    m.add(Dropout::new(0.1));
    m.add(Dense::new(2).activation(Activation::Softmax));
    m.compile(Optimizer::adam(0.01), "sparse_categorical_crossentropy", &["accuracy"]).unwrap();
    let x = Tensor::from_vec(vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [2, 3]);
    let y = Tensor::from_vec(vec![0.0, 1.0], [2, 1]);
    m.train_on_batch(&x, &y).unwrap();
    m.save(path).unwrap();
}

fuzz_target!(
    init: {
        sinew_fuzz::limits();
        if let Some(p) = std::env::var_os("SINEW_FUZZ_WRITE_SEED") {
            write_seed(&p);
            std::process::exit(0);
        }
    },
    |data: &[u8]| {
        let p = sinew_fuzz::scratch("model.sinew", data);
        if let Ok(mut m) = Model::load(&p) {
            let _ = m.summary();
        }
    }
);
