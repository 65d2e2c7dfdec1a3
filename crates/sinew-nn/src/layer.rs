//! The layer machinery: configured layers ([`LayerConfig`]) build into layers ([`Layer`]), so an
//! unbuilt layer cannot be called. Both traits are object-safe: models hold `Box<dyn Layer>`.

use crate::activation::Activation;
use crate::error::Result;
use crate::regularizers::{Constraint, Regularizer};
use serde_json::Value;
use sinew_tensor::{Pool2dOpts, Rng, Tensor};

/// A weight of a layer, with its Keras name (`kernel`, `bias`, `gamma`, `moving_mean`, ...).
/// Non-trainable state (moving statistics) is a `Param` with `trainable = false`.
#[derive(Clone, Debug)]
pub struct Param {
    pub name: &'static str,
    pub value: Tensor,
    pub trainable: bool,
    /// A penalty on this weight added to the training loss (Keras `kernel_regularizer`, ...).
    pub regularizer: Option<Regularizer>,
    /// A projection applied after every optimizer step (Keras `kernel_constraint`, ...).
    pub constraint: Option<Constraint>,
}

impl Param {
    /// A trainable weight: its tensor requires grad.
    pub fn trainable(name: &'static str, value: Tensor) -> Self {
        Param { name, value: value.with_grad(), trainable: true, regularizer: None, constraint: None }
    }
    /// Non-trainable state.
    pub fn state(name: &'static str, value: Tensor) -> Self {
        Param { name, value, trainable: false, regularizer: None, constraint: None }
    }
    /// Applies the constraint, if any, in place.
    pub fn apply_constraint(&mut self) {
        if let Some(c) = self.constraint {
            let projected = c.apply(&self.value).to_vec_f32();
            self.value.data_mut_f32().copy_from_slice(&projected);
        }
    }
    /// Freezes or unfreezes the weight (Keras `layer.trainable`). The tensor keeps its id, so
    /// the optimizer's state for it survives a freeze and thaw (a GAN toggles its
    /// discriminator every step).
    pub fn set_trainable(&mut self, trainable: bool) {
        self.trainable = trainable;
        self.value.set_requires_grad(trainable);
    }
}

/// What a forward pass needs besides its input: the mode and a random source.
pub struct Ctx<'a> {
    /// Training mode: dropout drops, batch norm uses batch statistics.
    pub training: bool,
    pub rng: &'a mut Rng,
}

/// A built layer. Shapes exclude the batch axis.
pub trait Layer: Send {
    /// The unique name within its model (`dense`, `dense_1`, ...).
    fn name(&self) -> &str;
    /// The Keras class name (`Dense`).
    fn class_name(&self) -> &'static str;
    /// Per-sample output shape, fixed at build time.
    fn output_shape(&self) -> &[usize];
    /// The per-sample shapes of every output (Keras: a layer called once may return a list).
    /// One for most layers; a recurrent layer with `return_state` adds its final states and
    /// `Bidirectional(merge_mode="none")` returns each direction's output.
    fn output_shapes(&self) -> Vec<&[usize]> {
        vec![self.output_shape()]
    }
    /// The forward pass on a batch.
    fn forward(&mut self, x: &Tensor, ctx: &mut Ctx) -> Tensor;
    /// The forward pass returning every output of [`Layer::output_shapes`], given all inputs
    /// and the first input's mask. The default runs [`Layer::forward_masked`] on a single input
    /// and [`Layer::forward_many`] on several.
    fn forward_outputs(&mut self, xs: &[Tensor], mask: Option<&Tensor>, ctx: &mut Ctx) -> Vec<Tensor> {
        vec![match xs {
            [x] => self.forward_masked(x, mask, ctx),
            _ => self.forward_many(xs, ctx),
        }]
    }
    /// The forward pass of a layer called on several tensors (merge layers). The default passes a
    /// single input to [`Layer::forward`]; layers that take more override it.
    fn forward_many(&mut self, xs: &[Tensor], ctx: &mut Ctx) -> Tensor {
        assert_eq!(xs.len(), 1, "{} ({}): expects 1 input, got {}", self.name(), self.class_name(), xs.len());
        self.forward(&xs[0], ctx)
    }
    /// When the layer ends in softmax or sigmoid, its output before that activation and the
    /// activation, so a cross-entropy loss can work on logits (stable and fused). `None` otherwise.
    fn forward_logits(&mut self, _x: &Tensor, _ctx: &mut Ctx) -> Option<(Tensor, Activation)> {
        None
    }
    /// Fusion with a max pooling layer that alone reads this layer's output, in training and in
    /// inference: the forward pass followed by `max_pool2d(pool)`, computed in one pass where
    /// the layer can (a `Conv2D` pools each image while its output is in cache). `None` where
    /// it cannot.
    fn forward_max_pooled(&mut self, _x: &Tensor, _pool: Pool2dOpts, _ctx: &mut Ctx) -> Option<Tensor> {
        None
    }
    /// The window of a 2-D max pooling layer, so the layer before it can absorb it through
    /// [`Layer::forward_max_pooled`]. `None` for every other layer.
    fn max_pool2d_opts(&self) -> Option<Pool2dOpts> {
        None
    }
    /// Keras `compute_mask`: the mask of this layer's output (`(batch, timesteps)`, 1 where a
    /// step is real), given its input and the input's mask. The default drops the mask; layers
    /// that keep the timestep axis pass it on (`Dense`, `Dropout`, `Activation`,
    /// `TimeDistributed`, a recurrent layer with `return_sequences`), and `Embedding(mask_zero)`
    /// and `Masking` make one.
    fn compute_mask(&self, _x: &Tensor, _mask: Option<&Tensor>) -> Option<Tensor> {
        None
    }
    /// The forward pass given the input's mask (see [`Layer::compute_mask`]). The default
    /// ignores it; recurrent layers skip masked steps (the state is carried and the output
    /// repeated, as in Keras).
    fn forward_masked(&mut self, x: &Tensor, _mask: Option<&Tensor>, ctx: &mut Ctx) -> Tensor {
        self.forward(x, ctx)
    }
    /// An `Embedding`'s table, so the layer after it can absorb the lookup through
    /// [`Layer::forward_embedded`]. `None` for every other layer.
    fn embedding_table(&self) -> Option<&Tensor> {
        None
    }
    /// Fusion with an `Embedding` that alone feeds this layer: the forward pass on the rows
    /// `ids` of `table`, without forming the embedded sequence (a recurrent layer projects the
    /// table once and gathers by id). `None` where the layer cannot.
    fn forward_embedded(
        &mut self,
        _ids: &Tensor,
        _table: &Tensor,
        _mask: Option<&Tensor>,
        _ctx: &mut Ctx,
    ) -> Option<Tensor> {
        None
    }
    /// A copy that runs inference on another thread, with the same weights (tensors are
    /// shared, not copied). `None` (the default) for a layer that cannot be copied; a model
    /// with one predicts one sub-batch at a time.
    fn replicate(&self) -> Option<Box<dyn Layer>> {
        None
    }
    /// The layer as `Any`, for the model crate to find its own layer types (a model used as a
    /// layer) behind `dyn Layer`. `None` for every layer of this crate.
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
    /// [`Layer::as_any`], mutable.
    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        None
    }
    /// Keras `layer.reset_states()`: a stateful recurrent layer forgets the states it carries
    /// from one batch to the next. A no-op for every other layer.
    fn reset_states(&mut self) {}
    /// Weights and state, in a fixed order.
    fn params(&self) -> Vec<&Param> {
        vec![]
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        vec![]
    }
    /// The name of each weight of [`Layer::params`], in the same order, as saved files write
    /// it under the layer's name: its Keras name (`kernel`); a model used as a layer prefixes
    /// its own layers' names (`dense/kernel`).
    fn param_paths(&self) -> Vec<String> {
        self.params().iter().map(|p| p.name.to_string()).collect()
    }
    /// The Keras-style config (class name, name and arguments), enough to rebuild the layer.
    fn config(&self) -> Value;
    /// The penalties to add to the loss: weight regularizers, plus any activity penalty of the last
    /// forward pass (taken, so it counts once). `None` when there are none.
    fn regularization_loss(&mut self) -> Option<Tensor> {
        self.params().iter().filter_map(|p| p.regularizer.map(|r| r.penalty(&p.value))).reduce(|a, b| a.add(&b))
    }
    /// Keras `layer.trainable`: false once [`Layer::set_trainable`] froze it. A layer without
    /// weights counts as trainable, as in Keras.
    fn trainable(&self) -> bool {
        let ps = self.params();
        ps.is_empty() || ps.iter().any(|p| p.trainable)
    }
    /// Freezes or unfreezes every weight (moving statistics stay non-trainable).
    fn set_trainable(&mut self, trainable: bool) {
        for p in self.params_mut() {
            if p.name != "moving_mean" && p.name != "moving_variance" {
                p.set_trainable(trainable);
            }
        }
    }
}

/// A configured, unbuilt layer: Keras arguments in `new()` and setters; `build` checks them
/// against the input shape and creates the weights.
pub trait LayerConfig: Send {
    fn class_name(&self) -> &'static str;
    /// The user-given name, if any.
    fn name(&self) -> Option<&str>;
    /// Builds the layer for per-sample `input_shape` (no batch axis).
    fn build(&self, name: String, input_shape: &[usize], rng: &mut Rng) -> Result<Box<dyn Layer>>;
    /// Builds the layer for the shapes of all its inputs (the functional API). The default takes
    /// exactly one input; merge layers override it.
    fn build_many(&self, name: String, input_shapes: &[Vec<usize>], rng: &mut Rng) -> Result<Box<dyn Layer>> {
        match input_shapes {
            [one] => self.build(name, one, rng),
            _ => Err(crate::Error::shape(format!(
                "{name} ({}): expects 1 input, got {}",
                self.class_name(),
                input_shapes.len()
            ))),
        }
    }
}

/// Keras-style default layer name: `Dense` -> `dense`, `MaxPooling2D` -> `max_pooling2d`.
pub fn snake_case(class: &str) -> String {
    let mut out = String::new();
    for (i, ch) in class.char_indices() {
        if ch.is_ascii_uppercase() {
            if i > 0 && !class[..i].ends_with(|c: char| c.is_ascii_digit() || c.is_ascii_uppercase()) {
                out.push('_');
            }
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn snake_case_matches_keras_names() {
        assert_eq!(super::snake_case("Dense"), "dense");
        assert_eq!(super::snake_case("MaxPooling2D"), "max_pooling2d");
        assert_eq!(super::snake_case("BatchNormalization"), "batch_normalization");
        // Custom layer names may be non-ASCII: slicing must use byte offsets (found by clippy).
        assert_eq!(super::snake_case("ÜberDense"), "Über_dense");
    }
}
