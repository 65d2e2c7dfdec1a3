//! The deep belief network as Hinton, Osindero and Teh (2006) pretrain it: a stack of RBMs
//! trained greedily, each on the hidden probabilities of the one below, then unrolled into a
//! `Sequential` MLP of sigmoid `Dense` layers holding the RBMs' weights, to be fine-tuned with
//! labels by the ordinary `fit`.

use crate::rbm::{Rbm, RbmEpoch, RbmOptions, VisibleUnits};
use sinew_data::{Error, Result};
use sinew_nn::{Activation, Dense};
use sinew_tensor::Tensor;
use sinew_train::Model;

/// A stack of RBMs over `visible` inputs: layer `i` has `layers[i]` hidden units and sees layer
/// `i − 1`'s hidden probabilities. The first RBM's visible units are the options' (Bernoulli or
/// Gaussian); the ones above are Bernoulli.
pub struct Dbn {
    rbms: Vec<Rbm>,
}

impl Dbn {
    /// Every RBM takes `opts` but for its hidden units; layer `i` is seeded `opts.seed + i`.
    pub fn new(visible: usize, layers: &[usize], opts: RbmOptions) -> Result<Dbn> {
        if layers.is_empty() {
            return Err(Error::invalid("Dbn: give at least one hidden layer"));
        }
        let mut rbms = Vec::with_capacity(layers.len());
        let mut below = visible;
        for (i, &h) in layers.iter().enumerate() {
            let mut o = opts.clone().hidden(h).seed(opts.seed.wrapping_add(i as u64));
            if i > 0 {
                o = o.visible_units(VisibleUnits::Bernoulli);
            }
            rbms.push(Rbm::new(below, o).map_err(|e| Error::invalid(format!("Dbn layer {i}: {e}")))?);
            below = h;
        }
        Ok(Dbn { rbms })
    }

    pub fn rbms(&self) -> &[Rbm] {
        &self.rbms
    }
    pub fn rbms_mut(&mut self) -> &mut [Rbm] {
        &mut self.rbms
    }

    /// Greedy layer-wise pretraining: `epochs` epochs of each RBM in turn, the first on `x`, each
    /// next one on the hidden probabilities of the one below. `on_epoch(layer, epoch)` sees
    /// every epoch's figures; they are also returned, per layer.
    pub fn pretrain(
        &mut self,
        x: &Tensor,
        epochs: usize,
        mut on_epoch: impl FnMut(usize, &RbmEpoch),
    ) -> Result<Vec<Vec<RbmEpoch>>> {
        let mut input = x.clone();
        let mut all = Vec::with_capacity(self.rbms.len());
        let last = self.rbms.len() - 1;
        for (i, rbm) in self.rbms.iter_mut().enumerate() {
            let mut layer = Vec::with_capacity(epochs);
            for _ in 0..epochs {
                let e = rbm.fit_epoch(&input).map_err(|e| Error::invalid(format!("Dbn layer {i}: {e}")))?;
                on_epoch(i, &e);
                layer.push(e);
            }
            all.push(layer);
            if i < last {
                input = rbm.transform(&input)?;
            }
        }
        Ok(all)
    }

    /// The stack as a `Sequential` MLP: one `Dense(hidden, sigmoid)` per RBM, its kernel the
    /// RBM's weights transposed (`[visible, hidden]`) and its bias the hidden bias. Add the
    /// output layer, compile and fit it as any model.
    pub fn to_sequential(&self) -> Result<Model> {
        let mut model = Model::new();
        model.input(&[self.rbms[0].visible()]);
        for rbm in &self.rbms {
            model.add(Dense::new(rbm.hidden()).activation(Activation::Sigmoid));
        }
        model.build().map_err(|e| Error::invalid(format!("Dbn.to_sequential: {e}")))?;
        let weights: Vec<Tensor> = self.rbms.iter().flat_map(|r| [r.weights().t(), r.hidden_bias()]).collect();
        model.set_weights(&weights).map_err(|e| Error::invalid(format!("Dbn.to_sequential: {e}")))?;
        Ok(model)
    }
}
