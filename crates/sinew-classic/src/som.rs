//! The self-organizing map (Kohonen), with MiniSom's semantics so its users' settings carry
//! over: an `x` by `y` grid of neurons, each a weight vector of the input's length; a sample
//! pulls its best-matching unit (the nearest neuron, Euclidean) and that unit's neighbours
//! towards it. The learning rate and the neighbourhood's radius decay as MiniSom's default,
//! `v / (1 + t / (T / 2))` at step `t` of `T`. Neighbourhoods: Gaussian or bubble; grids:
//! rectangular or hexagonal (odd rows, counted from the last, shifted half a cell, rows
//! `√3/2` apart, as MiniSom lays them out).
//!
//! Weights are f64: the same samples in the same order from the same initial map give MiniSom's
//! map (checked against a fixture from MiniSom 2.3.6, `tests/fixtures/gen/gen_minisom.py`).

use sinew_data::{Error, Result};
use sinew_tensor::{Rng, Tensor};

/// How far a sample's pull reaches around its best-matching unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Neighborhood {
    /// `exp(-dx² / 2σ²) · exp(-dy² / 2σ²)` over the grid's coordinates.
    Gaussian,
    /// 1 within `σ` of the unit along each grid axis (strictly), 0 elsewhere.
    Bubble,
}

/// How the neurons are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Topology {
    Rectangular,
    Hexagonal,
}

/// MiniSom's constructor arguments, with its defaults (`SomOptions::new()`): sigma 1.0,
/// learning rate 0.5, Gaussian, rectangular, seed 0.
#[derive(Clone, Debug, PartialEq)]
pub struct SomOptions {
    pub sigma: f64,
    pub learning_rate: f64,
    pub neighborhood: Neighborhood,
    pub topology: Topology,
    pub seed: u64,
}

impl Default for SomOptions {
    fn default() -> Self {
        SomOptions {
            sigma: 1.0,
            learning_rate: 0.5,
            neighborhood: Neighborhood::Gaussian,
            topology: Topology::Rectangular,
            seed: 0,
        }
    }
}

impl SomOptions {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn sigma(mut self, s: f64) -> Self {
        self.sigma = s;
        self
    }
    pub fn learning_rate(mut self, lr: f64) -> Self {
        self.learning_rate = lr;
        self
    }
    pub fn neighborhood(mut self, n: Neighborhood) -> Self {
        self.neighborhood = n;
        self
    }
    pub fn topology(mut self, t: Topology) -> Self {
        self.topology = t;
        self
    }
    pub fn seed(mut self, s: u64) -> Self {
        self.seed = s;
        self
    }
}

/// MiniSom's row spacing on a hexagonal grid: `1.5 / √3`.
const HEX_ROW: f64 = 0.866_025_403_784_438_6;

/// `Σ (a - b)²` with eight independent partial sums (vectorisable without reassociating).
#[inline(always)]
fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            let d = x[l] - y[l];
            acc[l] += d * d;
        }
    }
    let tail: f64 = ra.iter().zip(rb).map(|(x, y)| (x - y) * (x - y)).sum();
    acc.iter().sum::<f64>() + tail
}

/// A self-organizing map (MiniSom `MiniSom(x, y, input_len, ...)`).
pub struct Som {
    x: usize,
    y: usize,
    dim: usize,
    opts: SomOptions,
    /// `x · y · dim`, neuron `(i, j)` at `(i · y + j) · dim`.
    weights: Vec<f64>,
    /// Each neuron's position on the plane (shifted rows on a hexagonal grid).
    coords: Vec<(f64, f64)>,
    rng: Rng,
}

impl Som {
    /// A map of `x` by `y` neurons over inputs of `dim` values, its weights drawn uniformly in
    /// [-1, 1) and scaled to unit length (MiniSom's initialisation).
    pub fn new(x: usize, y: usize, dim: usize, opts: SomOptions) -> Result<Som> {
        if x == 0 || y == 0 || dim == 0 {
            return Err(Error::invalid(format!("Som: the grid {x}x{y} and the input length {dim} must be positive")));
        }
        let positive = |v: f64| v > 0.0 && v.is_finite();
        if !(positive(opts.sigma) && positive(opts.learning_rate)) {
            return Err(Error::invalid(format!(
                "Som: sigma ({}) and learning_rate ({}) must be positive and finite",
                opts.sigma, opts.learning_rate
            )));
        }
        let mut rng = Rng::seed(opts.seed);
        let mut weights: Vec<f64> = (0..x * y * dim).map(|_| rng.next_f64() * 2.0 - 1.0).collect();
        for w in weights.chunks_mut(dim) {
            let norm = w.iter().map(|v| v * v).sum::<f64>().sqrt().max(f64::MIN_POSITIVE);
            w.iter_mut().for_each(|v| *v /= norm);
        }
        let coords = (0..x * y)
            .map(|k| {
                let (i, j) = (k / y, k % y);
                match opts.topology {
                    Topology::Rectangular => (i as f64, j as f64),
                    // MiniSom shifts every second row counted back from the last one.
                    Topology::Hexagonal => {
                        let shift = if (y - 1 - j) % 2 == 0 { 0.5 } else { 0.0 };
                        (i as f64 - shift, j as f64 * HEX_ROW)
                    }
                }
            })
            .collect();
        Ok(Som { x, y, dim, opts, weights, coords, rng })
    }

    /// The grid's size and the input length.
    pub fn shape(&self) -> (usize, usize, usize) {
        (self.x, self.y, self.dim)
    }

    /// The weights as a `[x, y, dim]` f64 tensor.
    pub fn weights(&self) -> Tensor {
        Tensor::from_vec_f64(self.weights.clone(), [self.x, self.y, self.dim])
    }

    /// Replaces the weights (a `[x, y, dim]` tensor, or any tensor of that many values).
    pub fn set_weights(&mut self, w: &Tensor) -> Result<()> {
        if w.numel() != self.weights.len() {
            return Err(Error::invalid(format!(
                "Som.set_weights: {} values (shape {:?}) for a {}x{} map of {} inputs",
                w.numel(),
                w.dims(),
                self.x,
                self.y,
                self.dim
            )));
        }
        self.weights = w.to_vec_f64();
        Ok(())
    }

    /// MiniSom `random_weights_init`: each neuron starts as a sample of `data` drawn at random.
    pub fn random_weights_init(&mut self, data: &Tensor) -> Result<()> {
        let (n, rows) = self.rows("Som.random_weights_init", data)?;
        for k in 0..self.x * self.y {
            let r = self.rng.below(n);
            self.weights[k * self.dim..(k + 1) * self.dim].copy_from_slice(&rows[r * self.dim..(r + 1) * self.dim]);
        }
        Ok(())
    }

    /// The samples of `data` (`[n, dim]`) as f64, checked.
    fn rows(&self, what: &str, data: &Tensor) -> Result<(usize, Vec<f64>)> {
        if data.rank() != 2 || data.dims()[1] != self.dim || data.dims()[0] == 0 {
            return Err(Error::invalid(format!(
                "{what}: expected [samples, {}] with at least one sample, got shape {:?}",
                self.dim,
                data.dims()
            )));
        }
        let v = data.to_vec_f64();
        if let Some(i) = v.iter().position(|v| !v.is_finite()) {
            return Err(Error::invalid(format!(
                "{what}: sample {}, value {} is not finite",
                i / self.dim,
                i % self.dim
            )));
        }
        Ok((data.dims()[0], v))
    }

    /// Squared distances from `x` to every neuron, in the widest vector instructions the CPU
    /// has: eight running sums per neuron, so the compiler can keep them in lanes.
    fn distances(&self, x: &[f64]) -> Vec<f64> {
        let dim = self.dim;
        sinew_tensor::runtime::vectorized(
            #[inline(always)]
            || self.weights.chunks(dim).map(|w| squared_distance(w, x)).collect(),
        )
    }

    fn bmu(&self, x: &[f64]) -> usize {
        let d = self.distances(x);
        // The first of equal minima, as numpy's argmin.
        (0..d.len()).fold(0, |best, k| if d[k] < d[best] { k } else { best })
    }

    /// The grid position `(i, j)` of the best-matching unit of the sample `x` (MiniSom `winner`).
    pub fn winner(&self, x: &[f32]) -> Result<(usize, usize)> {
        if x.len() != self.dim {
            return Err(Error::invalid(format!("Som.winner: {} values for inputs of {}", x.len(), self.dim)));
        }
        let x: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
        let k = self.bmu(&x);
        Ok((k / self.y, k % self.y))
    }

    /// MiniSom `train(data, num_iteration, random_order)`: `iterations` single-sample updates,
    /// taking the samples in turn (sample `t mod n` at step `t`), or in an order shuffled once
    /// from the map's seed.
    pub fn train(&mut self, data: &Tensor, iterations: usize, random_order: bool) -> Result<()> {
        let (n, rows) = self.rows("Som.train", data)?;
        if iterations == 0 {
            return Err(Error::invalid("Som.train: iterations must be at least 1"));
        }
        let mut order: Vec<usize> = (0..iterations).map(|t| t % n).collect();
        if random_order {
            self.rng.shuffle(&mut order);
        }
        let half = iterations as f64 / 2.0;
        for (t, &s) in order.iter().enumerate() {
            let decay = 1.0 + t as f64 / half;
            let (eta, sigma) = (self.opts.learning_rate / decay, self.opts.sigma / decay);
            let x = &rows[s * self.dim..(s + 1) * self.dim];
            let c = self.bmu(x);
            self.pull(x, c, eta, sigma);
        }
        Ok(())
    }

    /// The neighbourhood weight of unit `k` around unit `c` at radius `sigma`.
    #[inline]
    fn neighbourhood(&self, c: usize, k: usize, sigma: f64) -> f64 {
        match self.opts.neighborhood {
            Neighborhood::Gaussian => {
                let d = 2.0 * sigma * sigma;
                let ((cx, cy), (px, py)) = (self.coords[c], self.coords[k]);
                (-(px - cx).powi(2) / d).exp() * (-(py - cy).powi(2) / d).exp()
            }
            Neighborhood::Bubble => {
                let (ci, cj) = ((c / self.y) as f64, (c % self.y) as f64);
                let (i, j) = ((k / self.y) as f64, (k % self.y) as f64);
                let inside = i > ci - sigma && i < ci + sigma && j > cj - sigma && j < cj + sigma;
                f64::from(u8::from(inside))
            }
        }
    }

    /// Every neuron moves towards `x` by `eta` times its neighbourhood weight around unit `c`.
    fn pull(&mut self, x: &[f64], c: usize, eta: f64, sigma: f64) {
        for k in 0..self.x * self.y {
            let g = self.neighbourhood(c, k, sigma) * eta;
            if g != 0.0 {
                let w = &mut self.weights[k * self.dim..(k + 1) * self.dim];
                sinew_tensor::runtime::vectorized(
                    #[inline(always)]
                    || w.iter_mut().zip(x).for_each(|(w, x)| *w += g * (x - *w)),
                );
            }
        }
    }

    /// The batch map (Kohonen's batch SOM, which MiniSom does not have): each of `epochs`
    /// passes finds every sample's best-matching unit (in parallel), then sets each neuron to
    /// the neighbourhood-weighted mean of all the samples, `w_k = Σ_i h(c_i, k) x_i / Σ_i
    /// h(c_i, k)`; `σ` decays over the epochs as [`Som::train`]'s does over its steps. There is
    /// no learning rate, and the result does not depend on the samples' order. A neuron no
    /// sample reaches keeps its weights.
    pub fn train_batch(&mut self, data: &Tensor, epochs: usize) -> Result<()> {
        use rayon::prelude::*;
        let (_, rows) = self.rows("Som.train_batch", data)?;
        if epochs == 0 {
            return Err(Error::invalid("Som.train_batch: epochs must be at least 1"));
        }
        let (units, dim) = (self.x * self.y, self.dim);
        let half = epochs as f64 / 2.0;
        for t in 0..epochs {
            let sigma = self.opts.sigma / (1.0 + t as f64 / half);
            let bmus: Vec<usize> = rows.par_chunks(dim).map(|x| self.bmu(x)).collect();
            // Per unit: the sum of the samples it wins and how many.
            let mut sums = vec![0.0f64; units * dim];
            let mut hits = vec![0.0f64; units];
            for (x, &c) in rows.chunks(dim).zip(&bmus) {
                sums[c * dim..(c + 1) * dim].iter_mut().zip(x).for_each(|(s, &v)| *s += v);
                hits[c] += 1.0;
            }
            let won: Vec<usize> = (0..units).filter(|&c| hits[c] > 0.0).collect();
            let new: Vec<Option<Vec<f64>>> = (0..units)
                .into_par_iter()
                .map(|k| {
                    let mut acc = vec![0.0f64; dim];
                    let mut weight = 0.0;
                    for &c in &won {
                        let h = self.neighbourhood(c, k, sigma);
                        if h != 0.0 {
                            let s = &sums[c * dim..(c + 1) * dim];
                            sinew_tensor::runtime::vectorized(
                                #[inline(always)]
                                || acc.iter_mut().zip(s).for_each(|(a, &v)| *a += h * v),
                            );
                            weight += h * hits[c];
                        }
                    }
                    (weight > 0.0).then(|| acc.into_iter().map(|a| a / weight).collect())
                })
                .collect();
            for (k, w) in new.into_iter().enumerate() {
                if let Some(w) = w {
                    self.weights[k * dim..(k + 1) * dim].copy_from_slice(&w);
                }
            }
        }
        Ok(())
    }

    /// MiniSom `quantization_error`: the mean distance from each sample to its best-matching unit.
    pub fn quantization_error(&self, data: &Tensor) -> Result<f64> {
        let (n, rows) = self.rows("Som.quantization_error", data)?;
        let total: f64 =
            rows.chunks(self.dim).map(|x| self.distances(x).into_iter().fold(f64::INFINITY, f64::min).sqrt()).sum();
        Ok(total / n as f64)
    }

    /// MiniSom `topographic_error`: the share of samples whose best and second-best units are
    /// not neighbours (on a rectangular grid, more than 1.42 cells apart, diagonals adjacent; on
    /// a hexagonal one, not at distance 1 on the plane).
    pub fn topographic_error(&self, data: &Tensor) -> Result<f64> {
        let (n, rows) = self.rows("Som.topographic_error", data)?;
        if self.x * self.y < 2 {
            return Err(Error::invalid("Som.topographic_error: a 1x1 map has no second unit"));
        }
        let mut errors = 0usize;
        for x in rows.chunks(self.dim) {
            let d = self.distances(x);
            let mut idx: Vec<usize> = (0..d.len()).collect();
            idx.sort_by(|&a, &b| d[a].total_cmp(&d[b]));
            let (a, b) = (idx[0], idx[1]);
            let apart = match self.opts.topology {
                Topology::Rectangular => {
                    let di = (a / self.y) as f64 - (b / self.y) as f64;
                    let dj = (a % self.y) as f64 - (b % self.y) as f64;
                    (di * di + dj * dj).sqrt() > 1.42
                }
                Topology::Hexagonal => {
                    let ((ax, ay), (bx, by)) = (self.coords[a], self.coords[b]);
                    (((ax - bx).powi(2) + (ay - by).powi(2)).sqrt() - 1.0).abs() > 1e-5
                }
            };
            errors += usize::from(apart);
        }
        Ok(errors as f64 / n as f64)
    }

    /// MiniSom `distance_map` (the U-matrix): for each neuron, the distances from its weights
    /// to its neighbours' (8 on a rectangular grid, 6 on a hexagonal one), summed or averaged
    /// (`mean`), then divided by the largest cell. `x · y` values in grid order.
    pub fn distance_map(&self, mean: bool) -> Vec<f64> {
        const RECT: [(i64, i64); 8] = [(0, -1), (-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1)];
        // MiniSom's hexagonal neighbours: one set for odd columns of y, one for even.
        const HEX_ODD: [(i64, i64); 6] = [(1, 1), (1, 0), (1, -1), (0, -1), (-1, 0), (0, 1)];
        const HEX_EVEN: [(i64, i64); 6] = [(0, 1), (1, 0), (0, -1), (-1, -1), (-1, 0), (-1, 1)];
        let (x, y, dim) = (self.x as i64, self.y as i64, self.dim);
        let w = |i: i64, j: i64| &self.weights[(i * y + j) as usize * dim..(i * y + j + 1) as usize * dim];
        let mut um: Vec<f64> = (0..self.x * self.y)
            .map(|k| {
                let (i, j) = ((k / self.y) as i64, (k % self.y) as i64);
                let steps: &[(i64, i64)] = match self.opts.topology {
                    Topology::Rectangular => &RECT,
                    Topology::Hexagonal if j % 2 == 0 => &HEX_EVEN,
                    Topology::Hexagonal => &HEX_ODD,
                };
                let ds: Vec<f64> = steps
                    .iter()
                    .filter(|(di, dj)| (0..x).contains(&(i + di)) && (0..y).contains(&(j + dj)))
                    .map(|(di, dj)| {
                        w(i, j).iter().zip(w(i + di, j + dj)).map(|(a, b)| (a - b) * (a - b)).sum::<f64>().sqrt()
                    })
                    .collect();
                let sum: f64 = ds.iter().sum();
                if mean && !ds.is_empty() {
                    sum / ds.len() as f64
                } else {
                    sum
                }
            })
            .collect();
        let max = um.iter().cloned().fold(0.0, f64::max);
        if max > 0.0 {
            um.iter_mut().for_each(|v| *v /= max);
        }
        um
    }

    /// MiniSom `activation_response`: how many samples each neuron wins (the hit map), `x · y`
    /// counts in grid order.
    pub fn activation_response(&self, data: &Tensor) -> Result<Vec<usize>> {
        let (_, rows) = self.rows("Som.activation_response", data)?;
        let mut hits = vec![0; self.x * self.y];
        for x in rows.chunks(self.dim) {
            hits[self.bmu(x)] += 1;
        }
        Ok(hits)
    }
}
