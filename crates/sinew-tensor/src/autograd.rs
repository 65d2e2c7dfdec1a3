//! Reverse-mode autograd. Every op output that depends on a tensor requiring grad carries a
//! [`GradFn`]: the op, its inputs and a backward closure written next to the op's forward.
//! `backward` orders the recorded graph once (an iterative depth-first post-order), walks it from
//! the root, accumulates gradients in place, and drops each node's closure and saved buffers as
//! soon as the node is done.

use crate::shape::Shape;
use crate::storage::{with_dtype, Element, Storage};
use crate::tensor::{Tensor, TensorId};
use smallvec::SmallVec;
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::Arc;

/// What [`Tensor::backward_streamed`] hands each finished gradient to.
type OnFinal<'f> = dyn FnMut(TensorId, &Tensor) + 'f;

/// Declares the op registry: every recorded op has a variant, and `Op::ALL` lists them, so a test
/// can demand a gradient check for each.
macro_rules! op_registry {
    ($($v:ident => $name:literal),* $(,)?) => {
        /// Every op autograd can record. `Op::ALL` lists them; the gradient-check suite fails when
        /// one has no check.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Op { $($v),* }
        impl Op {
            pub const ALL: &'static [Op] = &[$(Op::$v),*];
            pub fn name(self) -> &'static str {
                match self { $(Op::$v => $name),* }
            }
        }
    };
}

op_registry! {
    Cast => "cast",
    // binary, broadcasting
    Add => "add", Sub => "sub", Mul => "mul", Div => "div", Maximum => "maximum", Minimum => "minimum",
    Pow => "pow",
    // unary
    Neg => "neg", Exp => "exp", Log => "log", Sqrt => "sqrt", Abs => "abs", Square => "square",
    Powf => "powf", Clamp => "clamp", Affine => "affine",
    Relu => "relu", LeakyRelu => "leaky_relu", Elu => "elu", Selu => "selu", Gelu => "gelu",
    GeluTanh => "gelu_tanh", Sigmoid => "sigmoid", HardSigmoid => "hard_sigmoid", Tanh => "tanh",
    Softplus => "softplus", Softsign => "softsign", Silu => "silu", Mish => "mish",
    // selection
    Where => "where", MaskedSelect => "masked_select",
    // reductions
    Sum => "sum", Mean => "mean", Max => "max", Min => "min", LogSumExp => "logsumexp",
    ReplicaSum => "replica_sum",
    // linear algebra
    Matmul => "matmul",
    // layout
    Reshape => "reshape", Permute => "permute", Narrow => "narrow", Pad => "pad", Concat => "concat",
    BroadcastTo => "broadcast_to",
    // indexing
    IndexSelect => "index_select", Gather => "gather", ScatterAdd => "scatter_add",
    // softmax family and fused losses
    Softmax => "softmax", LogSoftmax => "log_softmax", SoftmaxCrossEntropy => "softmax_cross_entropy",
    SparseSoftmaxCrossEntropy => "sparse_softmax_cross_entropy", SigmoidCrossEntropy => "sigmoid_cross_entropy",
    BiasAct => "bias_act",
    // images
    Conv2d => "conv2d", ConvTranspose2d => "conv_transpose2d", MaxPool2d => "max_pool2d",
    AvgPool2d => "avg_pool2d", UpsampleNearest2d => "upsample_nearest2d",
    UpsampleBilinear2d => "upsample_bilinear2d", Dropout => "dropout",
    // several outputs
    Split => "split",
    ConvBiasActPool => "conv2d_bias_act_pool",
    Recurrent => "recurrent",
}

/// Input gradients returned by a backward rule, one per input (`None`: no gradient).
pub(crate) type Grads = SmallVec<[Option<Tensor>; 2]>;

/// `(grad of output, output, inputs) -> input grads`. The output is passed in rather than
/// captured, so a closure never holds its own node (no reference cycles).
pub(crate) type BackwardFn = Box<dyn Fn(&Tensor, &Tensor, &[Tensor]) -> Grads + Send + Sync>;

/// `(grads of each output, None where no gradient reached it; inputs) -> input grads`: the one
/// backward of an op with several outputs.
pub(crate) type JointBackwardFn = Box<dyn Fn(&[Option<Tensor>], &[Tensor]) -> Grads + Send + Sync>;

/// How a recorded node turns the gradient of its output into gradients of its inputs.
pub(crate) enum Rule {
    /// A one-output op.
    One(BackwardFn),
    /// The hidden node of a multi-output op (an empty tensor): its inputs are the op's inputs,
    /// and it runs once, after every output has handed it its gradient.
    Joint(JointBackwardFn, usize),
    /// Output `i` of a multi-output op. Its only input is the op's joint node, and backward
    /// hands its gradient to slot `i` there instead of calling anything.
    Part(usize),
}

pub(crate) struct GradFn {
    pub(crate) op: crate::Op,
    pub(crate) inputs: SmallVec<[Tensor; 2]>,
    pub(crate) rule: Rule,
}

macro_rules! grads {
    ($($g:expr),* $(,)?) => { smallvec::smallvec![$($g),*] };
}
pub(crate) use grads;

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// Whether ops on this thread record gradients.
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(|g| g.get())
}

/// Disables gradient recording on this thread until dropped (`torch.no_grad()`).
pub struct NoGradGuard {
    prev: bool,
}

impl NoGradGuard {
    pub fn new() -> Self {
        NoGradGuard { prev: GRAD_ENABLED.with(|g| g.replace(false)) }
    }
}

impl Default for NoGradGuard {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for NoGradGuard {
    fn drop(&mut self) {
        let prev = self.prev;
        GRAD_ENABLED.with(|g| g.set(prev));
    }
}

/// Runs `f` with gradient recording on or off on this thread, restoring the mode after: what
/// a job moved to another thread uses to take its caller's mode along.
pub(crate) fn with_grad_mode<R>(on: bool, f: impl FnOnce() -> R) -> R {
    let _g = NoGradGuard { prev: GRAD_ENABLED.with(|g| g.replace(on)) };
    f()
}

/// Runs `f` with gradient recording disabled on this thread.
pub fn no_grad<R>(f: impl FnOnce() -> R) -> R {
    let _g = NoGradGuard::new();
    f()
}

/// Wraps an op's result, recording `backward` when grad mode is on and an input requires grad.
/// This is the single entry point every differentiable op goes through.
pub(crate) fn record<F>(op: crate::Op, storage: Storage, shape: Shape, inputs: &[&Tensor], backward: F) -> Tensor
where
    F: Fn(&Tensor, &Tensor, &[Tensor]) -> Grads + Send + Sync + 'static,
{
    debug_assert_eq!(storage.len(), shape.numel(), "{}: storage does not match shape", op.name());
    record_shared(op, Arc::new(storage), shape, inputs, backward)
}

/// As [`record`], for outputs that share an existing buffer (views).
pub(crate) fn record_shared<F>(
    op: crate::Op,
    storage: Arc<Storage>,
    shape: Shape,
    inputs: &[&Tensor],
    backward: F,
) -> Tensor
where
    F: Fn(&Tensor, &Tensor, &[Tensor]) -> Grads + Send + Sync + 'static,
{
    if is_grad_enabled() && inputs.iter().any(|t| t.requires_grad()) {
        let gf =
            GradFn { op, inputs: inputs.iter().map(|&t| t.clone()).collect(), rule: Rule::One(Box::new(backward)) };
        Tensor::with_grad_fn(storage, shape, gf)
    } else {
        Tensor::from_shared(storage, shape)
    }
}

/// As [`record`], for an output a kernel already wrapped in an untracked tensor: its buffer is
/// handed to the graph as it is, never copied.
pub(crate) fn record_tensor<F>(op: crate::Op, y: Tensor, inputs: &[&Tensor], backward: F) -> Tensor
where
    F: Fn(&Tensor, &Tensor, &[Tensor]) -> Grads + Send + Sync + 'static,
{
    debug_assert!(y.is_leaf() && !y.requires_grad(), "{}: record_tensor takes an untracked result", op.name());
    record_shared(op, y.storage().clone(), y.shape().clone(), inputs, backward)
}

/// Records an op with several outputs and one backward rule. `backward` receives the gradient
/// of each output (`None` for an output the loss does not depend on) and the inputs, and
/// returns one gradient per input. Each output is an ordinary tensor; behind them sits one
/// hidden joint node that backward visits once, after all of them.
pub(crate) fn record_multi<F>(
    op: crate::Op,
    outputs: Vec<(Storage, Shape)>,
    inputs: &[&Tensor],
    backward: F,
) -> Vec<Tensor>
where
    F: Fn(&[Option<Tensor>], &[Tensor]) -> Grads + Send + Sync + 'static,
{
    for (st, sh) in &outputs {
        debug_assert_eq!(st.len(), sh.numel(), "{}: storage does not match shape", op.name());
    }
    if !(is_grad_enabled() && inputs.iter().any(|t| t.requires_grad())) {
        return outputs.into_iter().map(|(st, sh)| Tensor::from_storage(st, sh)).collect();
    }
    let n = outputs.len();
    let dtype = outputs.first().map_or(crate::DType::F32, |(st, _)| st.dtype());
    let empty = with_dtype!(dtype, T => T::wrap(Vec::new()));
    let joint = Tensor::with_grad_fn(
        Arc::new(empty),
        Shape::new(&[0]),
        GradFn { op, inputs: inputs.iter().map(|&t| t.clone()).collect(), rule: Rule::Joint(Box::new(backward), n) },
    );
    outputs
        .into_iter()
        .enumerate()
        .map(|(i, (st, sh))| {
            let part = GradFn { op, inputs: smallvec::smallvec![joint.clone()], rule: Rule::Part(i) };
            Tensor::with_grad_fn(Arc::new(st), sh, part)
        })
        .collect()
}

/// Gradients of leaves, keyed by tensor id, as returned by [`Tensor::backward`].
#[derive(Default)]
pub struct Gradients {
    map: HashMap<TensorId, Tensor>,
}

impl Gradients {
    /// The gradient of `t`, if `t` is a leaf that the loss depends on.
    pub fn get(&self, t: &Tensor) -> Option<&Tensor> {
        self.map.get(&t.id())
    }
    pub fn get_by_id(&self, id: TensorId) -> Option<&Tensor> {
        self.map.get(&id)
    }
    /// Sets the gradient of the tensor `id` (a gradient reduced across processes, say).
    pub fn insert(&mut self, id: TensorId, g: Tensor) {
        self.map.insert(id, g);
    }
    /// Takes the gradient of `t` out of the store.
    pub fn remove(&mut self, t: &Tensor) -> Option<Tensor> {
        self.map.remove(&t.id())
    }
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = (&TensorId, &Tensor)> {
        self.map.iter()
    }
}

/// `slot += g`, in place when `slot` owns its buffer outright.
pub(crate) fn accumulate(slot: &mut Option<Tensor>, g: Tensor) {
    match slot {
        None => *slot = Some(g),
        Some(acc) => {
            assert_eq!(acc.shape(), g.shape(), "backward: gradient shapes differ");
            let done = with_dtype!(acc.dtype(), T => {
                if let Some(dst) = acc.try_unique_mut::<T>() {
                    for (d, s) in dst.iter_mut().zip(g.data::<T>()) {
                        *d += *s;
                    }
                    true
                } else {
                    false
                }
            });
            if !done {
                *acc = acc.add(&g);
            }
        }
    }
}

impl Tensor {
    /// Back-propagates from this scalar and returns the gradients of every leaf it depends on.
    /// Frees the graph as it goes: calling it twice on the same graph panics.
    pub fn backward(&self) -> Gradients {
        assert!(self.numel() == 1, "backward: expected a scalar loss, got shape {:?}", self.shape());
        self.backward_with(&self.ones_like(), false)
    }

    /// Back-propagates `grad` (the gradient of some scalar with respect to this tensor).
    /// With `retain_graph`, the graph is kept for another backward pass.
    pub fn backward_with(&self, grad: &Tensor, retain_graph: bool) -> Gradients {
        self.backward_impl(grad, retain_graph, None)
    }

    /// [`Tensor::backward`], handing each leaf's gradient to `on_final` as soon as it is final
    /// (the last op that reads the leaf has run its backward), while the rest of the pass goes
    /// on: what lets a data-parallel step send the last layers' gradients while the first
    /// layers' are still being computed. Every leaf with a gradient is handed over once, in an
    /// order fixed by the graph; the returned [`Gradients`] hold them all as well.
    pub fn backward_streamed(&self, on_final: &mut dyn FnMut(TensorId, &Tensor)) -> Gradients {
        assert!(self.numel() == 1, "backward: expected a scalar loss, got shape {:?}", self.shape());
        self.backward_impl(&self.ones_like(), false, Some(on_final))
    }

    fn backward_impl(&self, grad: &Tensor, retain_graph: bool, mut on_final: Option<&mut OnFinal>) -> Gradients {
        assert_eq!(
            grad.shape(),
            self.shape(),
            "backward: gradient shape {:?} differs from tensor shape {:?}",
            grad.shape(),
            self.shape()
        );
        assert!(self.requires_grad(), "backward: tensor of shape {:?} does not require grad", self.shape());
        let _guard = NoGradGuard::new();
        let mut out = Gradients::default();
        if self.is_leaf() {
            out.map.insert(self.id(), grad.clone());
            if let Some(f) = on_final {
                f(self.id(), grad);
            }
            return out;
        }
        let order = topo_order(self);
        let index: HashMap<*const (), usize> =
            order.iter().enumerate().map(|(i, t)| (Arc::as_ptr(&t.0) as *const (), i)).collect();
        // For streaming: the leaves whose last reader is node i (their gradient is final once
        // node i is done).
        let final_after: Vec<SmallVec<[TensorId; 2]>> = match on_final {
            None => Vec::new(),
            Some(_) => last_readers(&order),
        };
        let mut hand_over = |done: usize, out: &Gradients| {
            if let (Some(f), Some(ids)) = (on_final.as_mut(), final_after.get(done)) {
                for id in ids {
                    if let Some(g) = out.map.get(id) {
                        f(*id, g);
                    }
                }
            }
        };
        let mut pending: Vec<Option<Tensor>> = vec![None; order.len()];
        pending[0] = Some(grad.clone());
        // Gradients handed by the outputs of multi-output ops, keyed by their joint node.
        let mut parts: HashMap<usize, Vec<Option<Tensor>>> = HashMap::new();
        for (i, node) in order.iter().enumerate() {
            if i > 0 {
                hand_over(i - 1, &out);
            }
            if pending[i].is_none() && !parts.contains_key(&i) {
                continue;
            }
            let gf_guard = node.0.grad_fn.lock().unwrap();
            let mut taken = None;
            // A multi-output op whose outputs did not all reach this loss keeps its backward, so
            // a later backward from another output still finds it (`for p in x.split(..) {
            // p.f().backward() }`).
            let mut keep = false;
            let gf: &GradFn = if retain_graph {
                gf_guard.as_ref().unwrap_or_else(|| panic!("backward: the graph was already freed"))
            } else {
                drop(gf_guard);
                taken = node.0.grad_fn.lock().unwrap().take();
                taken.as_ref().unwrap_or_else(|| {
                    panic!("backward: the graph was already freed by an earlier backward (use backward_with(.., retain_graph = true))")
                })
            };
            let grads = match &gf.rule {
                Rule::One(f) => f(&pending[i].take().expect("checked above"), node, &gf.inputs),
                Rule::Part(k) => {
                    let joint = index[&(Arc::as_ptr(&gf.inputs[0].0) as *const ())];
                    let slots = parts.entry(joint).or_default();
                    if slots.len() <= *k {
                        slots.resize(k + 1, None);
                    }
                    accumulate(&mut slots[*k], pending[i].take().expect("a part is reached only through its gradient"));
                    continue;
                }
                Rule::Joint(f, n) => {
                    let mut gys = parts.remove(&i).expect("a joint node is reached only through its parts");
                    gys.resize(*n, None);
                    keep = !retain_graph && gys.iter().any(Option::is_none);
                    f(&gys, &gf.inputs)
                }
            };
            debug_assert_eq!(
                grads.len(),
                gf.inputs.len(),
                "{}: backward returned the wrong number of grads",
                gf.op.name()
            );
            for (inp, g) in gf.inputs.iter().zip(grads) {
                let Some(g) = g else { continue };
                if !inp.requires_grad() {
                    continue;
                }
                assert!(
                    g.shape() == inp.shape(),
                    "{} backward: gradient shape {:?} differs from input shape {:?}",
                    gf.op.name(),
                    g.shape(),
                    inp.shape()
                );
                if inp.is_leaf() {
                    let mut slot = out.map.remove(&inp.id());
                    accumulate(&mut slot, g);
                    out.map.insert(inp.id(), slot.unwrap());
                } else {
                    let j = index[&(Arc::as_ptr(&inp.0) as *const ())];
                    accumulate(&mut pending[j], g);
                }
            }
            if keep {
                *node.0.grad_fn.lock().unwrap() = taken;
            }
        }
        hand_over(order.len() - 1, &out);
        out
    }

    /// The ops recorded in the graph behind this tensor (each once), for tests and debugging.
    pub fn graph_ops(&self) -> Vec<crate::Op> {
        let mut ops: Vec<crate::Op> = topo_order(self).iter().filter_map(|t| t.op()).collect();
        ops.sort_by_key(|o| o.name());
        ops.dedup();
        ops
    }
}

/// For each node of a backward `order`, the leaves requiring grad whose last reader in that
/// order it is.
fn last_readers(order: &[Tensor]) -> Vec<SmallVec<[TensorId; 2]>> {
    let leaves = |node: &Tensor| -> SmallVec<[TensorId; 4]> {
        match node.0.grad_fn.lock().unwrap().as_ref() {
            Some(gf) => gf.inputs.iter().filter(|t| t.is_leaf() && t.requires_grad()).map(Tensor::id).collect(),
            None => SmallVec::new(),
        }
    };
    let mut last: HashMap<TensorId, usize> = HashMap::new();
    for (i, node) in order.iter().enumerate() {
        for id in leaves(node) {
            last.insert(id, i);
        }
    }
    // In the order the node lists its inputs, so the hand-over order is the graph's.
    let mut out = vec![SmallVec::new(); order.len()];
    for (i, node) in order.iter().enumerate() {
        for id in leaves(node) {
            if last.get(&id) == Some(&i) && !out[i].contains(&id) {
                out[i].push(id);
            }
        }
    }
    out
}

/// Non-leaf nodes reachable from `root`, root first, each after every node that consumes it.
fn topo_order(root: &Tensor) -> Vec<Tensor> {
    let mut post = Vec::new();
    if root.is_leaf() {
        return post;
    }
    let mut visited: std::collections::HashSet<*const ()> = Default::default();
    let mut stack: Vec<(Tensor, bool)> = vec![(root.clone(), false)];
    while let Some((t, expanded)) = stack.pop() {
        if expanded {
            post.push(t);
            continue;
        }
        if !visited.insert(Arc::as_ptr(&t.0) as *const ()) {
            continue;
        }
        let inputs: SmallVec<[Tensor; 4]> = match t.0.grad_fn.lock().unwrap().as_ref() {
            Some(gf) => gf.inputs.iter().filter(|i| !i.is_leaf() && i.requires_grad()).cloned().collect(),
            None => SmallVec::new(),
        };
        stack.push((t, true));
        for i in inputs {
            if !visited.contains(&(Arc::as_ptr(&i.0) as *const ())) {
                stack.push((i, false));
            }
        }
    }
    post.reverse();
    post
}
