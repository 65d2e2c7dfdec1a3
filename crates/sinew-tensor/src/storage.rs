//! Typed, contiguous buffers behind a tensor, and the glue that lets generic kernels reach them.

use crate::dtype::{DType, Float};

/// The elements of a tensor. Shared between views (`reshape` and friends) through an `Arc`.
#[derive(Clone, Debug)]
pub(crate) enum Storage {
    F32(Vec<f32>),
    F64(Vec<f64>),
}

impl Storage {
    pub(crate) fn dtype(&self) -> DType {
        match self {
            Storage::F32(_) => DType::F32,
            Storage::F64(_) => DType::F64,
        }
    }
    pub(crate) fn len(&self) -> usize {
        match self {
            Storage::F32(v) => v.len(),
            Storage::F64(v) => v.len(),
        }
    }
}

/// A [`Float`] that can be stored in a [`Storage`]. Kernels are written once over `T: Element`.
pub(crate) trait Element: Float {
    fn view(s: &Storage) -> &[Self];
    fn view_mut(s: &mut Storage) -> &mut [Self];
    fn wrap(v: Vec<Self>) -> Storage;
}

impl Element for f32 {
    fn view(s: &Storage) -> &[f32] {
        match s {
            Storage::F32(v) => v,
            Storage::F64(_) => panic!("expected an f32 tensor, got f64"),
        }
    }
    fn view_mut(s: &mut Storage) -> &mut [f32] {
        match s {
            Storage::F32(v) => v,
            Storage::F64(_) => panic!("expected an f32 tensor, got f64"),
        }
    }
    fn wrap(v: Vec<f32>) -> Storage {
        Storage::F32(v)
    }
}

impl Element for f64 {
    fn view(s: &Storage) -> &[f64] {
        match s {
            Storage::F64(v) => v,
            Storage::F32(_) => panic!("expected an f64 tensor, got f32"),
        }
    }
    fn view_mut(s: &mut Storage) -> &mut [f64] {
        match s {
            Storage::F64(v) => v,
            Storage::F32(_) => panic!("expected an f64 tensor, got f32"),
        }
    }
    fn wrap(v: Vec<f64>) -> Storage {
        Storage::F64(v)
    }
}

/// Runs `$body` with `$T` bound to the Rust type of `$dtype`.
macro_rules! with_dtype {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            $crate::dtype::DType::F32 => {
                #[allow(dead_code)]
                type $T = f32;
                $body
            }
            $crate::dtype::DType::F64 => {
                #[allow(dead_code)]
                type $T = f64;
                $body
            }
        }
    };
}
pub(crate) use with_dtype;

/// Elementwise loops go parallel above this many elements; below it rayon's fork/join costs more.
pub(crate) const PAR_THRESHOLD: usize = 1 << 15;
/// Chunk length used by parallel elementwise loops.
pub(crate) const PAR_CHUNK: usize = 1 << 13;
