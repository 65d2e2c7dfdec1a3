//! A spec's model, built and compiled: a chain, a functional graph, an autoencoder's or a GAN's
//! two models, or a saved base with a new head; errors name the spec file and the layer's line.

use crate::spec::{LayerSpec, ModelKind, Spec};
use anyhow::{bail, Context, Result};
use sinew::prelude::*;
use sinew::train::LossSpec;

/// The optimizer a spec names (checked against [`Optimizer::NAMES`] when the spec was read),
/// with Keras' default learning rate unless the spec sets one, optionally cosine-decayed.
pub fn optimizer(c: &crate::spec::Compile) -> Result<Optimizer> {
    let name = c.optimizer.as_str();
    let default = Optimizer::from_name(name, None).map(|o| o.learning_rate());
    let initial = c.learning_rate.or(default);
    let rate = match (initial, c.cosine_decay) {
        (Some(initial), Some((decay_steps, alpha))) => Some(LearningRate::CosineDecay { initial, decay_steps, alpha }),
        (initial, _) => initial.map(LearningRate::Constant),
    };
    if c.momentum > 0.0 {
        let rate = rate.ok_or_else(|| anyhow::anyhow!("unknown optimizer {name:?}"))?;
        return Ok(Optimizer::sgd_momentum(rate, c.momentum as f32, false));
    }
    Optimizer::from_name(name, rate).ok_or_else(|| anyhow::anyhow!("unknown optimizer {name:?}"))
}

/// A Sequential model of `layers` for per-sample `input`, built here: a shape error names the
/// layer and points at the spec file and its first layer's line (`path:line: section`).
fn chain(
    layers: Vec<LayerSpec>,
    input: &[usize],
    seed: u64,
    name: Option<&str>,
    path: &str,
    section: &str,
) -> Result<Sequential> {
    let line = layers.first().map_or(1, |l| l.line);
    let mut m = Sequential::new();
    m.seed(seed).input(input);
    if let Some(n) = name {
        m.set_name(n);
    }
    for l in layers {
        m.add_boxed(l.config);
    }
    m.build().with_context(|| format!("{path}:{line}: {section}"))?;
    Ok(m)
}

/// Builds and compiles the spec's model for samples of `features` values when the spec gives no
/// input shape (errors name the spec file and the layer's line).
pub fn build_model(spec: &mut Spec, features: usize) -> Result<Model> {
    let shape = spec.input_shape.clone().unwrap_or_else(|| vec![features]);
    let lines: Vec<usize> = spec.layers.iter().map(|l| l.line).collect();
    let path = spec.path.display().to_string();
    let kind = std::mem::replace(&mut spec.kind, ModelKind::Plain);
    let opt = || optimizer(&spec.compile);
    let mut m = if let ModelKind::Gan { discriminator, codings, range } = kind {
        // The notes' GAN: `Sequential([generator, discriminator])`, the discriminator compiled
        // on its own and frozen before the whole is compiled.
        let layers = std::mem::take(&mut spec.layers);
        let generator = chain(layers, &[codings], spec.seed, Some("generator"), &path, "model.generator")?;
        let image = generator.output_shape().unwrap_or_default().to_vec();
        let d_line = discriminator.first().map_or(1, |l| l.line);
        let mut d = chain(discriminator, &image, spec.seed + 1, Some("discriminator"), &path, "model.discriminator")?;
        if d.output_shape() != Some(&[1][..]) {
            bail!(
                "{path}:{d_line}: model.discriminator: must end in one unit (real or generated), got output shape {:?}",
                d.output_shape().unwrap_or_default()
            );
        }
        d.compile(opt()?, spec.compile.loss.as_str(), &[]).with_context(|| format!("{path}: compile"))?;
        d.set_trainable(false);
        spec.kind = ModelKind::Gan { discriminator: vec![], codings, range };
        let mut m = Sequential::new();
        m.seed(spec.seed).add_model(generator).add_model(d);
        m
    } else if let ModelKind::Autoencoder { decoder } = kind {
        // The notes' autoencoder: `Sequential([encoder, decoder])`, each a model of its own.
        let layers = std::mem::take(&mut spec.layers);
        let encoder = chain(layers, &shape, spec.seed, Some("encoder"), &path, "model.encoder")?;
        let code = encoder.output_shape().unwrap_or_default().to_vec();
        let decoder_line = decoder.first().map_or(1, |l| l.line);
        let dec = chain(decoder, &code, spec.seed + 1, Some("decoder"), &path, "model.decoder")?;
        if dec.output_shape() != Some(&shape[..]) {
            bail!(
                "{path}:{decoder_line}: model.decoder: an autoencoder gives back its input, of shape {shape:?}, but the decoder outputs {:?}",
                dec.output_shape().unwrap_or_default()
            );
        }
        let mut m = Sequential::new();
        m.seed(spec.seed).add_model(encoder).add_model(dec);
        m
    } else if let Some(b) = spec.base.clone() {
        // Keras transfer learning: the saved model (its top popped) as a frozen first block.
        let at = format!("{path}:{}: model.base {}", b.line, b.path.display());
        let mut base = Model::load(&b.path).with_context(|| at.clone())?;
        for _ in 0..b.pop {
            base.pop().with_context(|| format!("{at}: base_pop = {}", b.pop))?;
        }
        let expects = base.input_shape().unwrap_or_default().to_vec();
        if expects != shape {
            bail!("{at}: the base takes inputs of shape {expects:?}, the data gives {shape:?}; set model.input_shape = {expects:?}");
        }
        // What fine-tuning will unfreeze must be there, before hours of training.
        for name in spec.fine_tune.iter().flat_map(|f| &f.unfreeze) {
            base.get_layer(name).with_context(|| format!("{path}: fine_tune.unfreeze"))?;
        }
        base.set_name("base").set_trainable(b.trainable);
        let line = spec.layers.first().map_or(b.line, |l| l.line);
        let mut m = Sequential::new();
        m.seed(spec.seed).input(&shape).add_model(base);
        for l in std::mem::take(&mut spec.layers) {
            m.add_boxed(l.config);
        }
        m.build().with_context(|| format!("{path}:{line}: model.layers"))?;
        m
    } else if spec.functional {
        let mut g = Functional::new().seed(spec.seed);
        let input = g.input(&shape);
        let mut nodes: Vec<(String, Node)> = vec![("input".into(), input)];
        let mut last = input;
        for (i, l) in spec.layers.drain(..).enumerate() {
            let ins: Vec<Node> =
                if l.inputs.is_empty() { vec![last] } else { l.inputs.iter().map(|n| node_named(&nodes, n)).collect() };
            let layer = g.shared_boxed(l.config);
            last = g.call(layer, ins).with_context(|| format!("{path}:{}: model.layers: layer {}", lines[i], i + 1))?;
            if let Some(id) = l.id {
                nodes.push((id, last));
            }
        }
        // `outputs` names the nodes a multi-output model gives, in order; else the last layer.
        let outs: Vec<Node> = if spec.outputs.is_empty() {
            vec![last]
        } else {
            spec.outputs.iter().map(|o| node_named(&nodes, o)).collect()
        };
        g.model(input, outs).with_context(|| format!("{path}: model"))?
    } else {
        chain(std::mem::take(&mut spec.layers), &shape, spec.seed, None, &path, "model")?
    };
    m.set_name(&spec.name);
    let metrics: Vec<&str> = spec.compile.metrics.iter().map(String::as_str).collect();
    let opt = optimizer(&spec.compile)?;
    let loss: LossSpec = if spec.compile.losses.len() > 1 {
        LossSpec::PerOutput(spec.compile.losses.iter().map(|l| LossSpec::from(l.as_str())).collect())
    } else {
        spec.compile.loss.as_str().into()
    };
    m.compile(opt, loss, &metrics).with_context(|| format!("{}: compile", spec.path.display()))?;
    if !spec.compile.output_metrics.is_empty() {
        // In output order; an output the table leaves out gets none.
        let per: Vec<Vec<&str>> = m
            .output_names()
            .iter()
            .map(|o| {
                let list = spec.compile.output_metrics.iter().find(|(k, _)| k == o);
                list.map(|(_, v)| v.iter().map(String::as_str).collect()).unwrap_or_default()
            })
            .collect();
        m.set_output_metrics(&per).with_context(|| format!("{}: compile.metrics", spec.path.display()))?;
    }
    if !spec.compile.loss_weights.is_empty() {
        m.set_loss_weights(&spec.compile.loss_weights)
            .with_context(|| format!("{}: compile.loss_weights", spec.path.display()))?;
    }
    Ok(m)
}

/// The latest node of a functional graph named `name` (the spec reader checked it exists).
fn node_named(nodes: &[(String, Node)], name: &str) -> Node {
    nodes.iter().rev().find(|(k, _)| k == name).map(|p| p.1).expect("checked by the spec")
}
