//! Layer wrappers: variants of a layer that reuse its forward pass rather than branching inside
//! it (STYLE.md: a variant is a wrapper).

use super::declare::{declare_layer, named_config, Declared};
use crate::activation::Activation;
use crate::error::Result;
use crate::layer::{Ctx, Layer, LayerConfig, Param};
use crate::layers::core::{Dense, DenseLayer};
use serde_json::Value;
use sinew_tensor::{Rng, Tensor};

declare_layer! {
    /// Weight normalization (Salimans & Kingma 2016) of a Dense layer: the kernel is
    /// `v * (g / ||v||)`, with one norm per output unit, so its direction (`v`) and length (`g`)
    /// are learned separately. At build, `g = ||v||`, so the wrapped layer starts as the plain one.
    ///
    /// Weights: `kernel` (the direction `v`), `g` (`[units]`), and `bias` if the Dense has one.
    pub struct WeightNormalization("WeightNormalization") {
        new(layer: Dense),
    }
}

impl LayerConfig for WeightNormalization {
    fn class_name(&self) -> &'static str {
        Self::CLASS
    }
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build(&self, name: String, input: &[usize], rng: &mut Rng) -> Result<Box<dyn Layer>> {
        let dense = DenseLayer::build_concrete(&self.layer, format!("{name}/dense"), input, rng)?;
        let v = dense.kernel().value.detach();
        let g = v.square().sum(&[0], false).sqrt();
        let layer = WeightNormLayer { cfg: self.clone(), name, g: Param::trainable("g", g), dense, out: vec![] };
        Ok(Box::new(layer.with_out(input)))
    }
}

/// A built [`WeightNormalization`].
#[derive(Clone)]
pub struct WeightNormLayer {
    cfg: WeightNormalization,
    name: String,
    g: Param,
    dense: DenseLayer,
    out: Vec<usize>,
}

impl WeightNormLayer {
    fn with_out(mut self, input: &[usize]) -> Self {
        self.out = input.to_vec();
        *self.out.last_mut().expect("Dense checked the input rank") = self.dense.units();
        self
    }
    fn kernel(&self) -> Tensor {
        let v = &self.dense.kernel().value;
        v.mul(&self.g.value.div(&v.square().sum(&[0], true).sqrt()))
    }
}

impl Layer for WeightNormLayer {
    fn replicate(&self) -> Option<Box<dyn Layer>> {
        Some(Box::new(self.clone()))
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &'static str {
        WeightNormalization::CLASS
    }
    fn output_shape(&self) -> &[usize] {
        &self.out
    }
    fn forward(&mut self, x: &Tensor, _ctx: &mut Ctx) -> Tensor {
        let k = self.kernel();
        self.dense.forward_with_kernel(x, &k)
    }
    fn forward_logits(&mut self, x: &Tensor, _ctx: &mut Ctx) -> Option<(Tensor, Activation)> {
        let k = self.kernel();
        self.dense.logits_with_kernel(x, &k)
    }
    fn regularization_loss(&mut self) -> Option<Tensor> {
        self.dense.regularization_loss()
    }
    fn params(&self) -> Vec<&Param> {
        let mut p = vec![self.dense.kernel(), &self.g];
        p.extend(self.dense.bias());
        p
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        let mut p = vec![&mut self.g];
        p.extend(self.dense.params_mut());
        // Keep the documented order: kernel, g, bias.
        p.swap(0, 1);
        p
    }
    fn config(&self) -> Value {
        let mut v = named_config(self.cfg.args(), WeightNormalization::CLASS, &self.name);
        // The built inner layer's config, with the name it was given.
        v["layer"] = self.dense.config();
        v
    }
}

/// Any layer as an argument of another (`TimeDistributed`'s `layer`): its config with
/// `class_name` (a spec may write `class`), rebuilt through the layer registry at build.
#[derive(Clone, Debug, PartialEq)]
pub struct InnerLayer(pub Value);

impl<C: super::declare::Declared + LayerConfig> super::declare::ArgInto<InnerLayer> for C {
    fn arg_into(self) -> InnerLayer {
        InnerLayer(named_config(self.args(), C::CLASS, self.name().unwrap_or_default()))
    }
}

impl super::declare::ArgValue for InnerLayer {
    fn to_json(&self) -> Value {
        self.0.clone()
    }
    fn from_json(v: &Value) -> std::result::Result<Self, String> {
        let mut v = v.clone();
        let Some(obj) = v.as_object_mut() else {
            return Err("must be a layer config (an object with class_name)".into());
        };
        if let Some(class) = obj.remove("class") {
            obj.insert("class_name".into(), class);
        }
        if !obj.contains_key("name") {
            obj.insert("name".into(), Value::String(String::new()));
        }
        crate::layers::layer_from_config(&v).map_err(|e| e.message)?;
        Ok(InnerLayer(v))
    }
}

declare_layer! {
    /// Keras `TimeDistributed`: `layer` applied to every step of a sequence, with the same
    /// weights: input `[timesteps, ...]`, output `[timesteps, ...layer's output]`. The steps are
    /// folded into the batch, so the layer runs once on `batch · timesteps` samples.
    pub struct TimeDistributed("TimeDistributed") {
        new(layer: InnerLayer),
    }
}

impl LayerConfig for TimeDistributed {
    fn class_name(&self) -> &'static str {
        Self::CLASS
    }
    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn build(&self, name: String, input: &[usize], rng: &mut Rng) -> Result<Box<dyn Layer>> {
        let Some((&steps, step)) = input.split_first() else {
            return Err(crate::error::Error::shape(format!(
                "Input 0 of layer {name} is incompatible: TimeDistributed needs [timesteps, ...], got {input:?}"
            )));
        };
        let inner_cfg = crate::layers::layer_from_config(&self.layer.0)?;
        let inner_name = match inner_cfg.name() {
            Some(n) if !n.is_empty() => n.to_string(),
            _ => crate::layer::snake_case(inner_cfg.class_name()),
        };
        let inner = inner_cfg.build(format!("{name}/{inner_name}"), step, rng)?;
        let mut out = vec![steps];
        out.extend_from_slice(inner.output_shape());
        let config = named_config(self.args(), Self::CLASS, &name);
        Ok(Box::new(TimeDistributedLayer { config, name, inner, out }))
    }
}

/// A built [`TimeDistributed`].
pub struct TimeDistributedLayer {
    config: Value,
    name: String,
    inner: Box<dyn Layer>,
    out: Vec<usize>,
}

impl Layer for TimeDistributedLayer {
    fn replicate(&self) -> Option<Box<dyn Layer>> {
        let inner = self.inner.replicate()?;
        Some(Box::new(TimeDistributedLayer {
            config: self.config.clone(),
            name: self.name.clone(),
            inner,
            out: self.out.clone(),
        }))
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn class_name(&self) -> &'static str {
        TimeDistributed::CLASS
    }
    fn output_shape(&self) -> &[usize] {
        &self.out
    }
    fn forward(&mut self, x: &Tensor, ctx: &mut Ctx) -> Tensor {
        let (b, t) = (x.dims()[0], x.dims()[1]);
        let mut folded = vec![b * t];
        folded.extend_from_slice(&x.dims()[2..]);
        let y = self.inner.forward(&x.reshape(folded), ctx);
        let mut dims = vec![b, t];
        dims.extend_from_slice(&y.dims()[1..]);
        y.reshape(dims)
    }
    fn regularization_loss(&mut self) -> Option<Tensor> {
        self.inner.regularization_loss()
    }
    fn params(&self) -> Vec<&Param> {
        self.inner.params()
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.inner.params_mut()
    }
    fn reset_states(&mut self) {
        self.inner.reset_states();
    }
    fn compute_mask(&self, _x: &Tensor, mask: Option<&Tensor>) -> Option<Tensor> {
        mask.cloned()
    }
    fn config(&self) -> Value {
        self.config.clone()
    }
}
