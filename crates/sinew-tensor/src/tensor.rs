//! The one concrete `Tensor` type: a cheap handle (an `Arc`) to a shape, a shared buffer and,
//! when autograd recorded it, the rule that produced it.

use crate::autograd::{self, GradFn};
use crate::dtype::{DType, Float};
use crate::shape::Shape;
use crate::storage::{with_dtype, Element, Storage};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Identity of a tensor variable, used to look up its gradient. Views and in-place updates of a
/// leaf keep the leaf's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TensorId(u64);

impl TensorId {
    pub(crate) fn fresh() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        TensorId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// An n-dimensional array of `f32` (or `f64`) with optional gradient tracking.
///
/// Cloning is cheap (a reference count). Tensors are immutable except through the explicit
/// in-place methods for leaves ([`Tensor::data_mut_f32`]), which optimizers use.
///
/// Ops panic on programmer error (mismatched shapes, bad axes) with the op name and the shapes
/// involved; they never return `Result`. See ARCHITECTURE.md, "Errors".
#[derive(Clone)]
pub struct Tensor(pub(crate) Arc<Inner>);

pub(crate) struct Inner {
    pub(crate) id: TensorId,
    pub(crate) shape: Shape,
    pub(crate) storage: Arc<Storage>,
    /// True for leaves created with `with_grad()` and for every recorded op output.
    pub(crate) requires_grad: bool,
    pub(crate) is_leaf: bool,
    /// Taken (set to `None`) by backward, which frees saved buffers as it goes.
    pub(crate) grad_fn: Mutex<Option<GradFn>>,
}

impl Tensor {
    pub(crate) fn from_storage(storage: Storage, shape: Shape) -> Tensor {
        Self::from_shared(Arc::new(storage), shape)
    }

    pub(crate) fn from_shared(storage: Arc<Storage>, shape: Shape) -> Tensor {
        debug_assert_eq!(storage.len(), shape.numel());
        Tensor(Arc::new(Inner {
            id: TensorId::fresh(),
            shape,
            storage,
            requires_grad: false,
            is_leaf: true,
            grad_fn: Mutex::new(None),
        }))
    }

    pub(crate) fn with_grad_fn(storage: Arc<Storage>, shape: Shape, grad_fn: GradFn) -> Tensor {
        Tensor(Arc::new(Inner {
            id: TensorId::fresh(),
            shape,
            storage,
            requires_grad: true,
            is_leaf: false,
            grad_fn: Mutex::new(Some(grad_fn)),
        }))
    }

    // ---- creation ----

    /// A tensor from row-major `f32` data. Panics if `data.len()` differs from the shape's size.
    pub fn from_vec(data: Vec<f32>, shape: impl Into<Shape>) -> Tensor {
        let shape = shape.into();
        assert!(
            data.len() == shape.numel(),
            "from_vec: {} values do not fill shape {shape:?} ({} elements)",
            data.len(),
            shape.numel()
        );
        Self::from_storage(Storage::F32(data), shape)
    }
    /// A tensor from row-major `f64` data.
    pub fn from_vec_f64(data: Vec<f64>, shape: impl Into<Shape>) -> Tensor {
        let shape = shape.into();
        assert!(
            data.len() == shape.numel(),
            "from_vec_f64: {} values do not fill shape {shape:?} ({} elements)",
            data.len(),
            shape.numel()
        );
        Self::from_storage(Storage::F64(data), shape)
    }
    /// A tensor of `dtype` from `f64` values (converted).
    pub fn from_f64_slice(data: &[f64], shape: impl Into<Shape>, dtype: DType) -> Tensor {
        match dtype {
            DType::F32 => Self::from_vec(data.iter().map(|&v| v as f32).collect(), shape),
            DType::F64 => Self::from_vec_f64(data.to_vec(), shape),
        }
    }
    /// A 0-d `f32` tensor.
    pub fn scalar(v: f32) -> Tensor {
        Self::from_vec(vec![v], Shape::scalar())
    }
    pub fn full(shape: impl Into<Shape>, value: f64, dtype: DType) -> Tensor {
        let shape = shape.into();
        let n = shape.numel();
        with_dtype!(dtype, T => Self::from_storage(T::wrap(vec![T::from_f64(value); n]), shape))
    }
    pub fn zeros(shape: impl Into<Shape>) -> Tensor {
        Self::full(shape, 0.0, DType::F32)
    }
    pub fn ones(shape: impl Into<Shape>) -> Tensor {
        Self::full(shape, 1.0, DType::F32)
    }
    pub fn zeros_like(&self) -> Tensor {
        Self::full(self.shape().clone(), 0.0, self.dtype())
    }
    pub fn ones_like(&self) -> Tensor {
        Self::full(self.shape().clone(), 1.0, self.dtype())
    }
    pub fn full_like(&self, v: f64) -> Tensor {
        Self::full(self.shape().clone(), v, self.dtype())
    }
    /// `start, start+step, ...` below `end` (NumPy `arange`), as a 1-d `f32` tensor.
    pub fn arange(start: f64, end: f64, step: f64) -> Tensor {
        assert!(step != 0.0 && step.is_finite(), "arange: step must be finite and non-zero, got {step}");
        let n = ((end - start) / step).ceil().max(0.0) as usize;
        Self::from_vec((0..n).map(|i| (start + i as f64 * step) as f32).collect(), [n])
    }

    // ---- inspection ----

    pub fn shape(&self) -> &Shape {
        &self.0.shape
    }
    pub fn dims(&self) -> &[usize] {
        self.0.shape.dims()
    }
    pub fn rank(&self) -> usize {
        self.0.shape.rank()
    }
    pub fn numel(&self) -> usize {
        self.0.shape.numel()
    }
    pub fn dtype(&self) -> DType {
        self.0.storage.dtype()
    }
    pub fn id(&self) -> TensorId {
        self.0.id
    }
    /// Whether gradients flow to or through this tensor.
    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad
    }
    /// True unless autograd recorded this tensor as an op output.
    pub fn is_leaf(&self) -> bool {
        self.0.is_leaf
    }
    /// The op that produced this tensor, if autograd recorded one (and backward has not freed it).
    pub fn op(&self) -> Option<crate::Op> {
        self.0.grad_fn.lock().unwrap().as_ref().map(|g| g.op)
    }

    pub(crate) fn data<T: Element>(&self) -> &[T] {
        T::view(&self.0.storage)
    }
    pub(crate) fn storage(&self) -> &Arc<Storage> {
        &self.0.storage
    }

    /// The elements of an `f32` tensor. Panics for `f64`.
    pub fn as_slice_f32(&self) -> &[f32] {
        self.data::<f32>()
    }
    /// The elements of an `f64` tensor. Panics for `f32`.
    pub fn as_slice_f64(&self) -> &[f64] {
        self.data::<f64>()
    }
    /// The elements converted to `f32`.
    pub fn to_vec_f32(&self) -> Vec<f32> {
        match &*self.0.storage {
            Storage::F32(v) => v.clone(),
            Storage::F64(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }
    /// The elements converted to `f64`.
    pub fn to_vec_f64(&self) -> Vec<f64> {
        match &*self.0.storage {
            Storage::F32(v) => v.iter().map(|&x| x as f64).collect(),
            Storage::F64(v) => v.clone(),
        }
    }
    /// The single value of a one-element tensor.
    pub fn item(&self) -> f64 {
        assert!(self.numel() == 1, "item: expected a tensor with one element, got shape {:?}", self.shape());
        self.to_vec_f64()[0]
    }

    // ---- gradient flags ----

    /// A leaf that shares this tensor's data and requires grad (PyTorch `requires_grad_()`,
    /// a trainable Keras variable). It gets a fresh id.
    pub fn with_grad(&self) -> Tensor {
        Tensor(Arc::new(Inner {
            id: TensorId::fresh(),
            shape: self.shape().clone(),
            storage: self.0.storage.clone(),
            requires_grad: true,
            is_leaf: true,
            grad_fn: Mutex::new(None),
        }))
    }
    /// Turns gradient tracking of this leaf on or off in place, keeping its id, so state keyed
    /// by the id (an optimizer's slots) survives freezing and unfreezing a weight (Keras
    /// `layer.trainable = ...`). The data is shared, not copied. Panics for a recorded op output.
    pub fn set_requires_grad(&mut self, on: bool) {
        assert!(self.is_leaf(), "set_requires_grad: not a leaf (shape {:?})", self.shape());
        if self.0.requires_grad == on {
            return;
        }
        self.0 = Arc::new(Inner {
            id: self.0.id,
            shape: self.shape().clone(),
            storage: self.0.storage.clone(),
            requires_grad: on,
            is_leaf: true,
            grad_fn: Mutex::new(None),
        });
    }
    /// The same data, cut off from the graph (`stop_gradient`).
    pub fn detach(&self) -> Tensor {
        Self::from_shared(self.0.storage.clone(), self.shape().clone())
    }

    /// Mutable access to a leaf's `f32` elements, for optimizers and in-place initialisation.
    /// Copies the buffer first if another tensor shares it, and keeps the tensor's id, so its
    /// gradient can still be found. Panics for a recorded op output or an `f64` tensor.
    pub fn data_mut_f32(&mut self) -> &mut [f32] {
        self.make_mut_storage("data_mut_f32");
        f32::view_mut(Arc::get_mut(&mut Arc::get_mut(&mut self.0).unwrap().storage).unwrap())
    }
    /// As [`Tensor::data_mut_f32`], for `f64` tensors.
    pub fn data_mut_f64(&mut self) -> &mut [f64] {
        self.make_mut_storage("data_mut_f64");
        f64::view_mut(Arc::get_mut(&mut Arc::get_mut(&mut self.0).unwrap().storage).unwrap())
    }

    fn make_mut_storage(&mut self, op: &str) {
        assert!(self.is_leaf(), "{op}: in-place update of a tensor recorded by autograd (shape {:?})", self.shape());
        if Arc::get_mut(&mut self.0).is_none() {
            let i = &self.0;
            self.0 = Arc::new(Inner {
                id: i.id,
                shape: i.shape.clone(),
                storage: i.storage.clone(),
                requires_grad: i.requires_grad,
                is_leaf: true,
                grad_fn: Mutex::new(None),
            });
        }
        let inner = Arc::get_mut(&mut self.0).expect("unique after copy");
        Arc::make_mut(&mut inner.storage);
    }

    /// Mutable access when this handle owns its buffer outright (no clone, no view, not
    /// recorded). Used to accumulate gradients in place.
    pub(crate) fn try_unique_mut<T: Element>(&mut self) -> Option<&mut [T]> {
        let inner = Arc::get_mut(&mut self.0)?;
        if !inner.is_leaf {
            return None;
        }
        Arc::get_mut(&mut inner.storage).map(T::view_mut)
    }

    /// Converts to `dtype` (differentiable).
    pub fn to_dtype(&self, dtype: DType) -> Tensor {
        if dtype == self.dtype() {
            return self.clone();
        }
        let st = match dtype {
            DType::F32 => Storage::F32(self.to_vec_f32()),
            DType::F64 => Storage::F64(self.to_vec_f64()),
        };
        let src = self.dtype();
        autograd::record(crate::Op::Cast, st, self.shape().clone(), &[self], move |gy, _, _| {
            crate::autograd::grads![Some(gy.to_dtype(src))]
        })
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.to_vec_f64();
        let shown: Vec<String> = v.iter().take(8).map(|x| format!("{x:.4}")).collect();
        write!(
            f,
            "Tensor(shape={:?}, dtype={:?}, data=[{}{}]{})",
            self.shape(),
            self.dtype(),
            shown.join(", "),
            if v.len() > 8 { ", ..." } else { "" },
            if self.requires_grad() { ", requires_grad" } else { "" }
        )
    }
}
