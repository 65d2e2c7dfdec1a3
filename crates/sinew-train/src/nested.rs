//! Models used as layers (Keras `Sequential([encoder, decoder])`, `gan = Sequential([generator,
//! discriminator])`, or a model called inside a functional graph). The outer model owns the
//! inner one: its layers, weights and compile state. Training the outer model updates those
//! weights in place, and the inner model stays reachable as a model
//! ([`Model::submodel`], [`Model::submodels_mut`]) to predict or train alone with its own
//! optimizer, as `encoder.predict` and `discriminator.train_on_batch` do in Keras.

use crate::error::{Error, Result};
use crate::graph::{Graph, Out};
use crate::model::Model;
use serde_json::Value;
use sinew_nn::{Activation, Ctx, Layer, LayerConfig, Param};
use sinew_tensor::{Rng, Tensor};
use std::sync::Mutex;

/// A model waiting to be built into an outer model: built once, at the outer model's build
/// (a deferred Sequential inner model takes its input shape from there).
pub(crate) struct NestedModel {
    model: Mutex<Option<Model>>,
    /// The name given with `set_name`, if any.
    name: Option<String>,
    class: &'static str,
}

impl NestedModel {
    pub(crate) fn new(model: Model) -> Self {
        let name = model.has_custom_name().then(|| model.name().to_string());
        NestedModel { class: class_of(&model), name, model: Mutex::new(Some(model)) }
    }
}

/// The class name a model shows as a layer (`summary`, saved configs).
fn class_of(m: &Model) -> &'static str {
    if m.is_functional() {
        "Functional"
    } else {
        "Sequential"
    }
}

impl LayerConfig for NestedModel {
    fn class_name(&self) -> &'static str {
        self.class
    }
    /// A model keeps the name it was given; the default names (`sequential`, `functional`)
    /// are numbered like layer names (`sequential_1`), as in Keras.
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build(&self, name: String, input_shape: &[usize], rng: &mut Rng) -> sinew_nn::Result<Box<dyn Layer>> {
        self.build_many(name, &[input_shape.to_vec()], rng)
    }
    fn build_many(&self, name: String, shapes: &[Vec<usize>], _rng: &mut Rng) -> sinew_nn::Result<Box<dyn Layer>> {
        let mut slot = self.model.lock().expect("not poisoned");
        let Some(mut model) = slot.take() else {
            return Err(sinew_nn::Error::invalid(format!(
                "{name}: this model was already built into a model; to call it twice, use Functional::shared_model"
            )));
        };
        let built = (|| -> Result<()> {
            if model.deferred() {
                if let [one] = shapes {
                    model.input(one);
                }
            }
            model.build()?;
            let want = model.input_shapes();
            if want.as_slice() != shapes {
                return Err(Error::new(format!(
                    "{} ({}): the model takes inputs of shape {want:?}, got {shapes:?}",
                    model.name(),
                    class_of(&model)
                )));
            }
            Ok(())
        })();
        if let Err(e) = built {
            *slot = Some(model);
            return Err(sinew_nn::Error::shape(e.to_string()));
        }
        if !model.has_custom_name() {
            model.set_name(name);
        }
        Ok(Box::new(ModelLayer { model }))
    }
}

/// A built model inside another model.
pub(crate) struct ModelLayer {
    pub(crate) model: Model,
}

impl ModelLayer {
    fn run(&mut self, xs: &[Tensor], ctx: &mut Ctx, logits: bool) -> Vec<Out> {
        let graph = Graph { calls: &self.model.calls, n_in: self.model.inputs.len(), outputs: &self.model.outputs };
        graph.run(&mut self.model.layers, ctx.rng, xs, ctx.training, logits).0
    }
}

impl Layer for ModelLayer {
    fn name(&self) -> &str {
        self.model.name()
    }
    fn class_name(&self) -> &'static str {
        class_of(&self.model)
    }
    fn output_shape(&self) -> &[usize] {
        self.model.node_shape(self.model.outputs[0])
    }
    fn output_shapes(&self) -> Vec<&[usize]> {
        self.model.outputs.iter().map(|&o| self.model.node_shape(o)).collect()
    }
    fn forward(&mut self, x: &Tensor, ctx: &mut Ctx) -> Tensor {
        self.forward_many(std::slice::from_ref(x), ctx)
    }
    fn forward_many(&mut self, xs: &[Tensor], ctx: &mut Ctx) -> Tensor {
        self.forward_outputs(xs, None, ctx).remove(0)
    }
    fn forward_outputs(&mut self, xs: &[Tensor], _mask: Option<&Tensor>, ctx: &mut Ctx) -> Vec<Tensor> {
        let n = self.model.inputs.len();
        assert_eq!(xs.len(), n, "{} ({}): expects {n} inputs, got {}", self.name(), self.class_name(), xs.len());
        crate::graph::values(self.run(xs, ctx, false))
    }
    /// The inner model's output as logits where its last layer ends in softmax or sigmoid (a
    /// GAN's loss through the discriminator is then computed from its logits); otherwise the
    /// value itself, as the logits of the identity.
    fn forward_logits(&mut self, x: &Tensor, ctx: &mut Ctx) -> Option<(Tensor, Activation)> {
        if self.model.inputs.len() != 1 || self.model.outputs.len() != 1 {
            return None;
        }
        Some(match self.run(std::slice::from_ref(x), ctx, true).remove(0) {
            Out::Logits(z, act) => (z, act),
            Out::Value(v) => (v, Activation::Linear),
        })
    }
    fn replicate(&self) -> Option<Box<dyn Layer>> {
        let layers = self.model.layers.iter().map(|l| l.replicate()).collect::<Option<Vec<_>>>()?;
        Some(Box::new(ModelLayer { model: self.model.with_layers(layers) }))
    }
    fn reset_states(&mut self) {
        self.model.reset_states();
    }
    fn params(&self) -> Vec<&Param> {
        self.model.layers.iter().flat_map(|l| l.params()).collect()
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.model.layers.iter_mut().flat_map(|l| l.params_mut()).collect()
    }
    fn param_paths(&self) -> Vec<String> {
        self.model
            .layers
            .iter()
            .flat_map(|l| l.param_paths().into_iter().map(move |p| format!("{}/{p}", l.name())))
            .collect()
    }
    fn config(&self) -> Value {
        self.model.architecture()
    }
    fn regularization_loss(&mut self) -> Option<Tensor> {
        self.model.layers.iter_mut().filter_map(|l| l.regularization_loss()).reduce(|a, b| a.add(&b))
    }
    fn trainable(&self) -> bool {
        self.model.trainable()
    }
    fn set_trainable(&mut self, trainable: bool) {
        self.model.set_trainable(trainable);
    }
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        Some(self)
    }
}

/// The model a layer holds, when the layer is a model used as a layer.
pub fn as_model(layer: &dyn Layer) -> Option<&Model> {
    layer.as_any()?.downcast_ref::<ModelLayer>().map(|m| &m.model)
}

/// [`as_model`], mutable.
pub fn as_model_mut(layer: &mut dyn Layer) -> Option<&mut Model> {
    layer.as_any_mut()?.downcast_mut::<ModelLayer>().map(|m| &mut m.model)
}

impl Model {
    /// Keras `Sequential([..., model, ...])` / `model.add(other_model)`: appends a whole model
    /// as one layer. The outer model owns it; training the outer model trains its weights
    /// (unless it is frozen with [`Model::set_trainable`]), and [`Model::submodel`] hands it
    /// back as a model, to `predict` with or to train alone.
    /// As first layer of a Sequential model without an input shape, a model that has one gives
    /// it (Keras builds `Sequential([encoder, decoder])` at once when the encoder has an input).
    pub fn add_model(&mut self, model: Model) -> &mut Self {
        if let ([shape], true) = (model.input_shapes().as_slice(), self.is_empty_chain()) {
            self.input(shape);
        }
        self.pending_push(Box::new(NestedModel::new(model)));
        self
    }

    /// The model used as a layer under `name` (Keras: `encoder = autoencoder.layers[0]`).
    pub fn submodel(&self, name: &str) -> Result<&Model> {
        let layer = self.get_layer(name)?;
        as_model(layer)
            .ok_or_else(|| Error::new(format!("submodel: layer {name:?} is a {}, not a model", layer.class_name())))
    }
    /// [`Model::submodel`], mutable: to train the inner model alone (`discriminator.train_on_batch`)
    /// or freeze it.
    pub fn submodel_mut(&mut self, name: &str) -> Result<&mut Model> {
        let layer = self.get_layer_mut(name)?;
        let class = layer.class_name();
        as_model_mut(layer.as_mut())
            .ok_or_else(|| Error::new(format!("submodel_mut: layer {name:?} is a {class}, not a model")))
    }
    /// Every model used as a layer, in layer order (Keras: `generator, discriminator = gan.layers`).
    pub fn submodels(&self) -> Vec<&Model> {
        self.layers.iter().filter_map(|l| as_model(l.as_ref())).collect()
    }
    /// [`Model::submodels`], mutable.
    pub fn submodels_mut(&mut self) -> Vec<&mut Model> {
        self.layers.iter_mut().filter_map(|l| as_model_mut(l.as_mut())).collect()
    }
}
