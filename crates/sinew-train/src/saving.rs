//! Saving and loading models. One self-describing safetensors file holds the weights
//! (`layers/<layer>/<weight>`), the optimizer slots (`optimizer/<layer>/<weight>/<slot>`) and, in
//! the header metadata, the architecture and compile config as JSON, so `Model::load`
//! rebuilds a model with no source code (the Keras `.keras` idea in one file). Writes go to a
//! temporary file in the same folder that is renamed over the target, so a crash never leaves a
//! half-written model.

use crate::compile::LossSpec;
use crate::error::{Error, ErrorKind, Result};
use crate::functional::{Functional, Node, SharedLayer};
use crate::model::{Kind, Model};
use crate::nested::NestedModel;
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use serde_json::{json, Value};
use sinew_nn::{layer_from_config, loss_from_config, Layer, LayerConfig};
use sinew_optim::Optimizer;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

const FORMAT: &str = "sinew-model";
const VERSION: &str = "1";

fn io(path: &Path, what: &str, e: impl std::fmt::Display) -> Error {
    Error::with_kind(ErrorKind::Io, format!("{}: {what}: {e}", path.display()))
}

fn bytes_of(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Writes `bytes` to `path` atomically: a sibling temporary file, fsync, rename, then an fsync
/// of the folder, so the rename itself survives a power cut (where the system allows opening a
/// folder; elsewhere the rename is still atomic).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| io(path, "not a file path", "no file name"))?;
    let tmp = dir.join(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(path, "cannot write", e));
    }
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Reads and parses a safetensors file, with the file named in every error.
fn read(path: &Path) -> Result<(Vec<u8>, HashMap<String, String>)> {
    // Bounded like a data file: a model file is outside input too.
    let limit = sinew_data::max_input_bytes();
    let len = std::fs::metadata(path).map_err(|e| io(path, "cannot read", e))?.len();
    if len > limit {
        return Err(io(
            path,
            "too large",
            format!(
                "{len} bytes, past the limit of {limit} bytes on an input file (set SINEW_MAX_INPUT_BYTES to raise it)"
            ),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| io(path, "cannot read", e))?;
    let (_, meta) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| io(path, "not a valid model file (corrupt or truncated safetensors)", format!("{e:?}")))?;
    SafeTensors::deserialize(&bytes)
        .map_err(|e| io(path, "not a valid model file (corrupt or truncated safetensors)", format!("{e:?}")))?;
    let meta = meta.metadata().clone().unwrap_or_default();
    Ok((bytes, meta))
}

/// The f32 values of tensor `key` if its shape is `dims`.
fn tensor_f32(st: &SafeTensors, path: &Path, key: &str, dims: &[usize]) -> Result<Vec<f32>> {
    let t = st
        .tensor(key)
        .map_err(|_| Error::with_kind(ErrorKind::Io, format!("{}: weight {key} is missing", path.display())))?;
    if t.dtype() != Dtype::F32 || t.shape() != dims {
        return Err(Error::with_kind(
            ErrorKind::Io,
            format!(
                "{}: weight {key} is {:?} {:?}, the model expects F32 {dims:?}",
                path.display(),
                t.dtype(),
                t.shape()
            ),
        ));
    }
    Ok(t.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
}

/// Named weight buffers (`layers/<layer>/<weight>`), their shapes and values.
fn layer_weights(layers: &[Box<dyn Layer>]) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    layers
        .iter()
        .flat_map(|l| {
            l.params().into_iter().zip(l.param_paths()).map(move |(p, key)| {
                (format!("layers/{}/{key}", l.name()), p.value.dims().to_vec(), p.value.to_vec_f32())
            })
        })
        .collect()
}

fn encode(path: &Path, owned: &[(String, Vec<usize>, Vec<u8>)], meta: HashMap<String, String>) -> Result<Vec<u8>> {
    let views: Vec<(String, TensorView)> = owned
        .iter()
        .map(|(k, d, b)| (k.clone(), TensorView::new(Dtype::F32, d.clone(), b).expect("buffer length matches shape")))
        .collect();
    let mut bytes =
        safetensors::serialize(views, &Some(meta)).map_err(|e| io(path, "cannot encode", format!("{e:?}")))?;
    canonical_header(&mut bytes);
    Ok(bytes)
}

/// Rewrites the safetensors header with its keys in sorted order. `safetensors::serialize`
/// writes the metadata map in a `HashMap`'s order, which differs from process to process, so
/// two identical models would give different bytes; sorted, a seeded run's file is the same
/// bytes every time. The header keeps its length (the same JSON, reordered; spaces pad it, as
/// safetensors pads).
fn canonical_header(bytes: &mut [u8]) {
    let Some(n) = bytes.get(..8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize) else { return };
    let Some(header) = bytes.get(8..8 + n) else { return };
    let Ok(v) = serde_json::from_slice::<Value>(header) else { return };
    // serde_json's objects are sorted maps (the `preserve_order` feature is off).
    let Ok(sorted) = serde_json::to_vec(&v) else { return };
    if sorted.len() <= n {
        bytes[8..8 + sorted.len()].copy_from_slice(&sorted);
        bytes[8 + sorted.len()..8 + n].fill(b' ');
    }
}

/// Writes the weights of `layers` and, when given, the optimizer's slot buffers
/// (`optimizer/<layer>/<weight>/<slot>`), with `meta` as the header metadata, atomically.
pub(crate) fn write_state(
    layers: &[Box<dyn Layer>],
    opt: Option<&Optimizer>,
    meta: HashMap<String, String>,
    path: &Path,
) -> Result<()> {
    let mut owned: Vec<(String, Vec<usize>, Vec<u8>)> =
        layer_weights(layers).into_iter().map(|(k, d, v)| (k, d, bytes_of(&v))).collect();
    if let Some(o) = opt {
        for l in layers {
            for (p, key) in l.params().into_iter().zip(l.param_paths()) {
                for (i, slot) in o.slots(p.value.id()).unwrap_or(&[]).iter().enumerate() {
                    owned.push((format!("optimizer/{}/{key}/{i}", l.name()), p.value.dims().to_vec(), bytes_of(slot)));
                }
            }
        }
    }
    write_atomic(path, &encode(path, &owned, meta)?)
}

/// Writes a weights-only file for `layers` (what `save_weights` and ModelCheckpoint write).
pub(crate) fn save_layer_weights(layers: &[Box<dyn Layer>], path: &Path) -> Result<()> {
    let meta = HashMap::from([("format".to_string(), "sinew-weights".to_string()), ("version".into(), VERSION.into())]);
    write_state(layers, None, meta, path)
}

/// Reads a file written by [`write_state`]: its bytes and header metadata, validated.
pub(crate) fn read_state_file(path: &Path) -> Result<(Vec<u8>, HashMap<String, String>)> {
    read(path)
}

/// Restores the weights of `layers` from `st` (every weight checked before any is written) and,
/// when given, the optimizer's slot buffers that the file holds.
pub(crate) fn restore_state(
    layers: &mut [Box<dyn Layer>],
    opt: Option<&mut Optimizer>,
    st: &SafeTensors,
    path: &Path,
) -> Result<()> {
    let wanted: Vec<(String, Vec<usize>)> = layer_weights(layers).into_iter().map(|(k, d, _)| (k, d)).collect();
    let values = wanted.iter().map(|(k, d)| tensor_f32(st, path, k, d)).collect::<Result<Vec<_>>>()?;
    if let Some(bad) = values.iter().flatten().find(|v| !v.is_finite()) {
        return Err(io(path, "weights contain non-finite values", bad));
    }
    let mut it = values.into_iter();
    for l in layers.iter_mut() {
        for p in l.params_mut() {
            p.value.data_mut_f32().copy_from_slice(&it.next().expect("one value per weight"));
        }
    }
    if let Some(o) = opt {
        let slots = o.slot_count();
        for l in layers.iter() {
            for (p, key) in l.params().into_iter().zip(l.param_paths()) {
                let keys: Vec<String> = (0..slots).map(|i| format!("optimizer/{}/{key}/{i}", l.name())).collect();
                if slots > 0 && keys.iter().all(|k| st.tensor(k).is_ok()) {
                    let bufs =
                        keys.iter().map(|k| tensor_f32(st, path, k, p.value.dims())).collect::<Result<Vec<_>>>()?;
                    o.set_slots(p.value.id(), bufs);
                }
            }
        }
    }
    Ok(())
}

/// A layer's configuration from its saved config: a layer through the registry, or a model
/// used as a layer, rebuilt from its own architecture.
fn config_of(l: &Value, path: &Path) -> Result<Box<dyn LayerConfig>> {
    if l["class_name"] == "Sequential" || l["class_name"] == "Functional" {
        return Ok(Box::new(NestedModel::new(Model::from_architecture(l, path)?)));
    }
    layer_from_config(l).map_err(|e| io(path, "bad layer config", e))
}

fn shape_of(v: &Value) -> Option<Vec<usize>> {
    v.as_array().and_then(|a| a.iter().map(|d| d.as_u64().map(|d| d as usize)).collect())
}

fn ids_of(v: &Value) -> Option<Vec<usize>> {
    shape_of(v)
}

impl Model {
    /// Keras' generation model: a copy of this Sequential sequence model that reads one step
    /// at a time (input `[1, ...]`), every recurrent layer `stateful`, with the same weights (in
    /// Keras, rebuilt by hand with `stateful=True` and batch 1, then `set_weights`). After
    /// `reset_states()`, feed it one step per call; [`Model::generate`] does.
    pub fn stepper(&self) -> Result<Model> {
        if self.kind != Kind::Sequential || self.input_shape().map_or(true, <[usize]>::is_empty) {
            return Err(Error::state("stepper: needs a built Sequential model whose input has a timestep axis"));
        }
        let mut arch = self.architecture();
        arch["input_shape"][0] = json!(1);
        for l in arch["layers"].as_array_mut().into_iter().flatten() {
            if l["layer"].get("stateful").is_some() {
                return Err(Error::state(format!(
                    "stepper: {} reads the whole sequence backwards too; it cannot run one step at a time",
                    l["name"]
                )));
            }
            if l["go_backwards"] == json!(true) {
                return Err(Error::state(format!(
                    "stepper: {} reads its sequence backwards; it cannot run one step at a time",
                    l["name"]
                )));
            }
            if l.get("stateful").is_some() {
                l["stateful"] = json!(true);
            }
        }
        let mut m = Model::from_architecture(&arch, Path::new("(stepper)"))?;
        m.set_weights(&self.get_weights())?;
        Ok(m)
    }

    /// The architecture as JSON: layer configs and, for functional models, the wiring. A
    /// model used as a layer is written as its own architecture in the layer list.
    pub(crate) fn architecture(&self) -> Value {
        let layers: Vec<Value> = self.layers.iter().map(|l| l.config()).collect();
        let frozen: Vec<&str> = self.layers.iter().filter(|l| !l.trainable()).map(|l| l.name()).collect();
        let mut arch = match self.kind {
            Kind::Sequential => {
                json!({"class_name": "Sequential", "name": self.name, "input_shape": self.input_shape(), "layers": layers})
            }
            Kind::Functional => json!({
                "class_name": "Functional",
                "name": self.name,
                "inputs": self.inputs.iter().map(|i| json!({"name": i.name, "shape": i.shape})).collect::<Vec<_>>(),
                "layers": layers,
                "calls": self.calls.iter().map(|c| match c.output {
                    0 => json!({"layer": c.layer, "inputs": c.inputs}),
                    k => json!({"layer": c.layer, "inputs": c.inputs, "output": k}),
                }).collect::<Vec<_>>(),
                "outputs": self.outputs,
            }),
        };
        arch["frozen"] = json!(frozen);
        if !self.trainable() {
            arch["trainable"] = json!(false);
        }
        if let Some(p) = &self.preprocessing {
            arch["preprocessing"] = p.clone();
        }
        arch
    }

    /// Rebuilds the (uncompiled) model an [`Model::architecture`] describes.
    fn from_architecture(model: &Value, path: &Path) -> Result<Model> {
        let configs = model["layers"].as_array().ok_or_else(|| io(path, "architecture has no layer list", ""))?;
        let mut m = if model["class_name"] == "Functional" {
            let mut g = Functional::new();
            let inputs = model["inputs"].as_array().ok_or_else(|| io(path, "architecture has no input list", ""))?;
            let mut ins = vec![];
            for i in inputs {
                let shape = shape_of(&i["shape"]).ok_or_else(|| io(path, "an input has no valid shape", i))?;
                ins.push(g.named_input(i["name"].as_str().unwrap_or("input_layer"), &shape));
            }
            let shared: Vec<SharedLayer> =
                configs.iter().map(|l| Ok(g.shared_boxed(config_of(l, path)?))).collect::<Result<_>>()?;
            let mut nodes: Vec<Node> = ins.clone();
            for c in model["calls"].as_array().ok_or_else(|| io(path, "architecture has no call list", ""))? {
                let layer = c["layer"].as_u64().map(|l| l as usize).filter(|&l| l < shared.len());
                let inputs = ids_of(&c["inputs"]).filter(|ids| ids.iter().all(|&i| i < nodes.len()));
                let (Some(layer), Some(inputs)) = (layer, inputs) else {
                    return Err(io(path, "a layer call has a bad layer or input index", c));
                };
                let args: Vec<Node> = inputs.iter().map(|&i| nodes[i]).collect();
                match c["output"].as_u64().unwrap_or(0) as usize {
                    0 => nodes.push(g.call_outputs(shared[layer], args)?[0]),
                    k => match args[..] {
                        [first] => nodes.push(g.output_of(first, k)?),
                        _ => return Err(io(path, "a call of a layer's other output has one input", c)),
                    },
                }
            }
            let outs = ids_of(&model["outputs"])
                .filter(|o| !o.is_empty() && o.iter().all(|&i| i < nodes.len()))
                .ok_or_else(|| io(path, "architecture has no valid outputs", &model["outputs"]))?;
            g.model(ins, outs.iter().map(|&i| nodes[i]).collect::<Vec<_>>())?
        } else {
            let input = shape_of(&model["input_shape"])
                .ok_or_else(|| io(path, "architecture has no valid input_shape", &model["input_shape"]))?;
            let mut m = Model::new();
            m.input(&input);
            for l in configs {
                m.pending_push(config_of(l, path)?);
            }
            m.build()?;
            m
        };
        if let Some(n) = model["name"].as_str() {
            m.set_name(n);
        }
        if !model["preprocessing"].is_null() {
            m.preprocessing = Some(model["preprocessing"].clone());
        }
        if model["trainable"] == json!(false) {
            m.set_trainable(false);
        }
        for name in model["frozen"].as_array().into_iter().flatten() {
            let name = name.as_str().ok_or_else(|| io(path, "a frozen layer name is not a string", name))?;
            m.get_layer_mut(name).map_err(|e| io(path, "a frozen layer is not in the model", e))?.set_trainable(false);
        }
        Ok(m)
    }

    /// Attaches a fitted preprocessing recipe (such as `sinew_data::FittedPreprocessor::to_json`)
    /// that [`Model::save`] stores in the model file, so that raw rows can be predicted after
    /// [`Model::load`] without the training code.
    pub fn set_preprocessing(&mut self, recipe: Value) {
        self.preprocessing = Some(recipe);
    }
    /// The recipe given to [`Model::set_preprocessing`] or loaded with the model.
    pub fn preprocessing(&self) -> Option<&Value> {
        self.preprocessing.as_ref()
    }

    /// Saves the whole model (Keras `model.save`): architecture, compile config, weights and
    /// optimizer state, in one file written atomically.
    pub fn save(&mut self, path: impl AsRef<Path>) -> Result<()> {
        self.build()?;
        let path = path.as_ref();
        let mut model = self.architecture();
        model["compile"] = match self.compiled.as_ref() {
            Some(c) => {
                let mut v = json!({"optimizer": c.optimizer.config(), "optimizer_iterations": c.optimizer.iterations(),
                   "losses": c.losses.iter().map(|l| l.config()).collect::<Vec<_>>(),
                   "loss_weights": c.loss_weights, "metrics": c.metric_names});
                if let Some(o) = &c.output_metrics {
                    v["output_metrics"] = json!(o);
                }
                v
            }
            None => Value::Null,
        };
        let meta = HashMap::from([
            ("format".to_string(), FORMAT.to_string()),
            ("version".into(), VERSION.into()),
            ("model".into(), model.to_string()),
        ]);
        write_state(&self.layers, self.compiled.as_ref().map(|c| &c.optimizer), meta, path)
    }

    /// Loads a model written by [`Model::save`] (Keras `load_model`): predictions are
    /// identical, and a compiled model resumes training with its optimizer state.
    pub fn load(path: impl AsRef<Path>) -> Result<Model> {
        let path = path.as_ref();
        let (bytes, meta) = read(path)?;
        if meta.get("format").map(String::as_str) != Some(FORMAT) {
            return Err(io(
                path,
                "not a sinew model file",
                format!("header format is {:?}, expected {FORMAT:?}", meta.get("format")),
            ));
        }
        let model: Value = serde_json::from_str(
            meta.get("model").ok_or_else(|| io(path, "model file without architecture", "no `model` metadata"))?,
        )
        .map_err(|e| io(path, "architecture JSON is corrupt", e))?;
        let mut m = Model::from_architecture(&model, path)?;
        let c = &model["compile"];
        if !c.is_null() {
            let opt = Optimizer::from_config(&c["optimizer"]).map_err(|e| io(path, "bad optimizer config", e))?;
            let losses = c["losses"].as_array().ok_or_else(|| io(path, "compile config has no loss list", c))?;
            let losses = losses
                .iter()
                .map(|l| loss_from_config(l).map(LossSpec::Custom).map_err(|e| io(path, "bad loss config", e)))
                .collect::<Result<Vec<_>>>()?;
            let metrics: Vec<String> = c["metrics"]
                .as_array()
                .map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect())
                .unwrap_or_default();
            let refs: Vec<&str> = metrics.iter().map(String::as_str).collect();
            m.compile(opt, LossSpec::PerOutput(losses), &refs)?;
            if let Some(w) = c["loss_weights"].as_array() {
                let w: Vec<f64> = w.iter().filter_map(Value::as_f64).collect();
                m.set_loss_weights(&w).map_err(|e| io(path, "bad loss_weights", e))?;
            }
            if let Some(lists) = c["output_metrics"].as_array() {
                let lists: Vec<Vec<&str>> = lists
                    .iter()
                    .map(|l| l.as_array().into_iter().flatten().filter_map(Value::as_str).collect())
                    .collect();
                m.set_output_metrics(&lists).map_err(|e| io(path, "bad output_metrics", e))?;
            }
        }
        let st = SafeTensors::deserialize(&bytes).map_err(|e| io(path, "corrupt tensors", format!("{e:?}")))?;
        let iterations = c["optimizer_iterations"].as_u64().unwrap_or(0);
        let opt = m.compiled.as_mut().map(|comp| &mut comp.optimizer);
        restore_state(&mut m.layers, opt, &st, path)?;
        if let Some(comp) = m.compiled.as_mut() {
            comp.optimizer.set_iterations(iterations);
        }
        Ok(m)
    }

    /// Saves only the weights (Keras `save_weights`), atomically.
    pub fn save_weights(&mut self, path: impl AsRef<Path>) -> Result<()> {
        self.build()?;
        save_layer_weights(&self.layers, path.as_ref())
    }

    /// Loads weights saved by `save_weights` or `save` into this (built) model. Every weight is
    /// checked before any is written, so a mismatched file leaves the model unchanged.
    pub fn load_weights(&mut self, path: impl AsRef<Path>) -> Result<()> {
        self.build()?;
        let path = path.as_ref();
        let (bytes, _) = read(path)?;
        let st = SafeTensors::deserialize(&bytes).map_err(|e| io(path, "corrupt tensors", format!("{e:?}")))?;
        restore_state(&mut self.layers, None, &st, path)
    }
}
