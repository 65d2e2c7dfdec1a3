//! The Keras functional API, the Rust way: a [`Functional`] builder hands out [`Node`]s (Keras
//! symbolic tensors). Calling a layer on nodes builds it at once, so a shape error names the
//! layer and the shapes right where it was called. A [`SharedLayer`] is one layer called several
//! times with one set of weights.
//!
//! ```
//! use sinew_train::{Functional, Model};
//! use sinew_nn::{Add, Dense, Activation};
//! let mut g = Functional::new();
//! let x = g.input(&[8]);
//! let h = g.call(Dense::new(8).activation(Activation::Relu), x).unwrap();
//! let skip = g.call(Add::new(), [x, h]).unwrap();
//! let out = g.call(Dense::new(1), skip).unwrap();
//! let model: Model = g.model([x], [out]).unwrap();
//! assert_eq!(model.output_shape(), Some(&[1][..]));
//! ```

use crate::error::{Error, Result};
use crate::graph::Call;
use crate::model::{unique_name, InputSpec, Model};
use crate::nested::NestedModel;
use sinew_nn::{Layer, LayerConfig};
use sinew_tensor::Rng;
use std::collections::HashMap;

/// A symbolic tensor of a [`Functional`] graph: a model input or the output of a layer call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Node(usize);

/// A layer that may be called several times, sharing its weights (Keras: calling one layer
/// object on several tensors). Built at its first call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SharedLayer(usize);

/// What a layer may be called on: one node or several (merge layers).
pub trait IntoNodes {
    fn into_nodes(self) -> Vec<Node>;
}
impl IntoNodes for Node {
    fn into_nodes(self) -> Vec<Node> {
        vec![self]
    }
}
impl<const N: usize> IntoNodes for [Node; N] {
    fn into_nodes(self) -> Vec<Node> {
        self.to_vec()
    }
}
impl IntoNodes for &[Node] {
    fn into_nodes(self) -> Vec<Node> {
        self.to_vec()
    }
}
impl IntoNodes for Vec<Node> {
    fn into_nodes(self) -> Vec<Node> {
        self
    }
}

/// What can be called on nodes: a configured layer (used once) or a [`SharedLayer`].
pub trait IntoLayerCall {
    #[doc(hidden)]
    fn into_slot(self, g: &mut Functional) -> usize;
}
impl<T: LayerConfig + 'static> IntoLayerCall for T {
    fn into_slot(self, g: &mut Functional) -> usize {
        g.shared(self).0
    }
}
/// A whole model called as a layer (Keras `decoder(encoder(x))`): the graph owns it from here;
/// the finished model hands it back with [`Model::submodel`].
impl IntoLayerCall for Model {
    fn into_slot(self, g: &mut Functional) -> usize {
        g.shared_model(self).0
    }
}
impl IntoLayerCall for SharedLayer {
    fn into_slot(self, _g: &mut Functional) -> usize {
        self.0
    }
}

enum Slot {
    Unbuilt(Box<dyn LayerConfig>),
    Built {
        layer: Box<dyn Layer>,
        input_shapes: Vec<Vec<usize>>,
    },
    /// Moved into a model.
    Taken,
}

/// Builds a functional [`Model`]: inputs, layer calls, then `model(inputs, outputs)`.
pub struct Functional {
    inputs: Vec<InputSpec>,
    /// Every node: `Err(i)` is input `i`, `Ok(c)` the output of call `c`.
    nodes: Vec<std::result::Result<usize, usize>>,
    slots: Vec<Slot>,
    calls: Vec<Call>,
    rng: Rng,
    counters: HashMap<String, usize>,
}

impl Default for Functional {
    fn default() -> Self {
        Self::new()
    }
}

impl Functional {
    pub fn new() -> Self {
        Functional {
            inputs: vec![],
            nodes: vec![],
            slots: vec![],
            calls: vec![],
            rng: Rng::seed(0),
            counters: HashMap::new(),
        }
    }
    /// Seeds weight initialisation (and, in the model, dropout and shuffling).
    pub fn seed(mut self, seed: u64) -> Self {
        self.rng = Rng::seed(seed);
        self
    }
    /// A model input of per-sample `shape` (Keras `keras.Input(shape=...)`), named
    /// `input_layer`, `input_layer_1`, ...
    pub fn input(&mut self, shape: &[usize]) -> Node {
        let k = self.inputs.len();
        let name = if k == 0 { "input_layer".to_string() } else { format!("input_layer_{k}") };
        self.named_input(name, shape)
    }
    /// A model input with a name (Keras `keras.Input(shape, name=...)`).
    pub fn named_input(&mut self, name: impl Into<String>, shape: &[usize]) -> Node {
        self.inputs.push(InputSpec { name: name.into(), shape: shape.to_vec() });
        self.nodes.push(Err(self.inputs.len() - 1));
        Node(self.nodes.len() - 1)
    }
    /// A layer to call several times with shared weights.
    pub fn shared(&mut self, layer: impl LayerConfig + 'static) -> SharedLayer {
        self.slots.push(Slot::Unbuilt(Box::new(layer)));
        SharedLayer(self.slots.len() - 1)
    }
    /// A whole model to call several times with shared weights (a discriminator that scores
    /// real and generated images in one graph).
    pub fn shared_model(&mut self, model: Model) -> SharedLayer {
        self.shared_boxed(Box::new(NestedModel::new(model)))
    }
    /// [`Functional::shared`] for a boxed config (what loading a saved model uses).
    pub fn shared_boxed(&mut self, layer: Box<dyn LayerConfig>) -> SharedLayer {
        self.slots.push(Slot::Unbuilt(layer));
        SharedLayer(self.slots.len() - 1)
    }
    /// The per-sample shape of `n`.
    pub fn shape(&self, n: Node) -> &[usize] {
        match self.nodes[n.0] {
            Err(i) => &self.inputs[i].shape,
            Ok(c) => match &self.slots[self.calls[c].layer] {
                Slot::Built { layer, .. } => layer.output_shapes()[self.calls[c].output],
                _ => unreachable!("a called layer is built"),
            },
        }
    }

    /// Calls a layer on one node or a list of nodes (Keras `layer(x)` / `Add()([a, b])`) and
    /// returns its output node. The layer is built here, so shape errors surface at the call.
    /// A recurrent layer called on several nodes takes the others as its initial states
    /// (Keras `initial_state`). A layer with several outputs is called with
    /// [`Functional::call_outputs`].
    pub fn call(&mut self, layer: impl IntoLayerCall, inputs: impl IntoNodes) -> Result<Node> {
        let slot = layer.into_slot(self);
        let first = self.call_slot(slot, inputs.into_nodes())?;
        let Ok(c) = self.nodes[first.0] else { unreachable!("a call's node is a call") };
        let Slot::Built { layer, .. } = &self.slots[self.calls[c].layer] else {
            unreachable!("a called layer is built")
        };
        let n = layer.output_shapes().len();
        if n > 1 {
            return Err(Error::new(format!(
                "call: {} ({}) returns {n} tensors (its output and states, or each direction); use call_outputs",
                layer.name(),
                layer.class_name()
            )));
        }
        Ok(first)
    }

    /// Calls a layer that returns several tensors and returns a node for each (Keras
    /// `out, h, c = LSTM(8, return_state=True)(x)`). For a layer with one output, one node.
    pub fn call_outputs(&mut self, layer: impl IntoLayerCall, inputs: impl IntoNodes) -> Result<Vec<Node>> {
        let slot = layer.into_slot(self);
        let first = self.call_slot(slot, inputs.into_nodes())?;
        let Slot::Built { layer, .. } = &self.slots[slot] else { unreachable!("a called layer is built") };
        let n = layer.output_shapes().len();
        let mut nodes = vec![first];
        for k in 1..n {
            self.calls.push(Call { layer: slot, inputs: vec![first.0], output: k });
            self.nodes.push(Ok(self.calls.len() - 1));
            nodes.push(Node(self.nodes.len() - 1));
        }
        Ok(nodes)
    }

    /// Output `k` of the layer call whose first output is `first`: what loading a saved graph
    /// uses to restore the calls that hand on a layer's other outputs.
    pub(crate) fn output_of(&mut self, first: Node, k: usize) -> Result<Node> {
        let call = match self.nodes.get(first.0) {
            Some(Ok(c)) if self.calls[*c].output == 0 => *c,
            _ => return Err(Error::new(format!("output_of: node {} is not a layer call's first output", first.0))),
        };
        let slot = self.calls[call].layer;
        let Slot::Built { layer, .. } = &self.slots[slot] else { unreachable!("a called layer is built") };
        if k == 0 || k >= layer.output_shapes().len() {
            return Err(Error::new(format!("output_of: {} has no output {k}", layer.name())));
        }
        self.calls.push(Call { layer: slot, inputs: vec![first.0], output: k });
        self.nodes.push(Ok(self.calls.len() - 1));
        Ok(Node(self.nodes.len() - 1))
    }

    fn call_slot(&mut self, slot: usize, inputs: Vec<Node>) -> Result<Node> {
        if let Some(bad) = inputs.iter().find(|n| n.0 >= self.nodes.len()) {
            return Err(Error::new(format!("call: node {} does not belong to this graph", bad.0)));
        }
        let shapes: Vec<Vec<usize>> = inputs.iter().map(|&n| self.shape(n).to_vec()).collect();
        match std::mem::replace(&mut self.slots[slot], Slot::Taken) {
            Slot::Unbuilt(cfg) => {
                let name = unique_name(&mut self.counters, cfg.as_ref());
                let clash = self.slots.iter().any(|s| matches!(s, Slot::Built { layer, .. } if layer.name() == name))
                    || self.inputs.iter().any(|i| i.name == name);
                if clash {
                    self.slots[slot] = Slot::Unbuilt(cfg);
                    return Err(Error::new(format!("call: layer name {name:?} is used twice; names must be unique")));
                }
                match cfg.build_many(name, &shapes, &mut self.rng) {
                    Ok(layer) => self.slots[slot] = Slot::Built { layer, input_shapes: shapes },
                    Err(e) => {
                        self.slots[slot] = Slot::Unbuilt(cfg);
                        return Err(e.into());
                    }
                }
            }
            Slot::Built { layer, input_shapes } => {
                let same = input_shapes == shapes;
                let msg = (!same).then(|| {
                    format!(
                        "call: shared layer {} was built for input shapes {input_shapes:?} and cannot be called on {shapes:?}",
                        layer.name()
                    )
                });
                self.slots[slot] = Slot::Built { layer, input_shapes };
                if let Some(m) = msg {
                    return Err(Error::new(m));
                }
            }
            Slot::Taken => unreachable!("slots are only taken by `model`, which consumes the builder"),
        }
        self.calls.push(Call::new(slot, inputs.iter().map(|n| n.0).collect()));
        self.nodes.push(Ok(self.calls.len() - 1));
        Ok(Node(self.nodes.len() - 1))
    }

    /// The model from `inputs` to `outputs` (Keras `keras.Model(inputs, outputs)`). Calls that
    /// no output needs are left out; an output that needs an input not listed is an error.
    pub fn model(mut self, inputs: impl IntoNodes, outputs: impl IntoNodes) -> Result<Model> {
        let (inputs, outputs) = (inputs.into_nodes(), outputs.into_nodes());
        if outputs.is_empty() {
            return Err(Error::new("model: at least one output is needed"));
        }
        let mut input_ids = vec![];
        for n in &inputs {
            match self.nodes.get(n.0) {
                Some(Err(i)) => input_ids.push(*i),
                _ => return Err(Error::new(format!("model: inputs must be nodes made by `input`, got node {}", n.0))),
            }
        }
        // Walk back from the outputs to find the calls they need.
        let mut needed = vec![false; self.calls.len()];
        let mut stack: Vec<usize> = outputs.iter().map(|n| n.0).collect();
        while let Some(node) = stack.pop() {
            match self.nodes.get(node) {
                None => return Err(Error::new(format!("model: node {node} does not belong to this graph"))),
                Some(Err(i)) if !input_ids.contains(i) => {
                    return Err(Error::new(format!(
                        "model: graph disconnected: the outputs need input {:?}, which is not among the model inputs",
                        self.inputs[*i].name
                    )));
                }
                Some(Err(_)) => {}
                Some(Ok(c)) if !needed[*c] => {
                    needed[*c] = true;
                    stack.extend(self.calls[*c].inputs.iter().copied());
                }
                Some(Ok(_)) => {}
            }
        }
        // Renumber: model inputs first (in the given order), then the needed calls in order;
        // layers in order of their first needed call.
        let mut node_map: HashMap<usize, usize> = inputs.iter().enumerate().map(|(k, n)| (n.0, k)).collect();
        let mut layer_map: HashMap<usize, usize> = HashMap::new();
        let (mut layers, mut calls): (Vec<Box<dyn Layer>>, Vec<Call>) = (vec![], vec![]);
        let call_node: HashMap<usize, usize> =
            self.nodes.iter().enumerate().filter_map(|(n, k)| k.ok().map(|c| (c, n))).collect();
        for (c, call) in self.calls.iter().enumerate().filter(|(c, _)| needed[*c]) {
            let layer = *layer_map.entry(call.layer).or_insert_with(|| {
                match std::mem::replace(&mut self.slots[call.layer], Slot::Taken) {
                    Slot::Built { layer, .. } => layers.push(layer),
                    _ => unreachable!("called layers are built"),
                }
                layers.len() - 1
            });
            let ins = call.inputs.iter().map(|i| node_map[i]).collect();
            calls.push(Call { layer, inputs: ins, output: call.output });
            node_map.insert(call_node[&c], inputs.len() + calls.len() - 1);
        }
        let specs = input_ids.iter().map(|&i| self.inputs[i].clone()).collect();
        let outs = outputs.iter().map(|n| node_map[&n.0]).collect();
        Ok(Model::from_graph(specs, layers, calls, outs, self.rng))
    }
}
