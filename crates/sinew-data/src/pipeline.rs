//! [`Dataset`]: input pipelines in the spirit of `tf.data`. A dataset is a recipe that can be
//! iterated any number of times (once per epoch); each transform wraps the recipe before it.
//! Elements are [`Element`]s: the feature tensors and the target tensors of one sample, or of
//! one batch after [`Dataset::batch`]. Iteration yields `Result`s, so a source that reads files
//! can report a bad record without panicking.

use crate::error::{Error, Result};
use crate::timeseries::{timeseries_windows, Windows};
use sinew_tensor::{Rng, Tensor};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// One sample (or one batch): its feature tensors `x` and target tensors `y` (empty when the data
/// has no targets, as for `predict`).
#[derive(Clone, Debug)]
pub struct Element {
    pub x: Vec<Tensor>,
    pub y: Vec<Tensor>,
}

/// How many elements one pass over a dataset yields (tf.data `cardinality`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cardinality {
    Finite(usize),
    Infinite,
    /// After `filter`, or for a generator: only iterating tells.
    Unknown,
}

type Iter = Box<dyn Iterator<Item = Result<Element>> + Send>;
/// Makes the iterator of pass number `pass` (shuffles use it to reshuffle every pass).
type Source = Arc<dyn Fn(u64) -> Iter + Send + Sync>;

/// A re-iterable input pipeline (tf.data `Dataset`). Cloning is cheap and shares the recipe.
#[derive(Clone)]
pub struct Dataset {
    source: Source,
    cardinality: Cardinality,
    passes: Arc<AtomicU64>,
}

impl std::fmt::Debug for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Dataset(cardinality: {:?})", self.cardinality)
    }
}

/// Row `i` of `t`, without its leading axis.
fn row(t: &Tensor, i: usize) -> Tensor {
    t.narrow(0, i, 1).reshape(&t.dims()[1..])
}

impl Dataset {
    fn new(cardinality: Cardinality, source: impl Fn(u64) -> Iter + Send + Sync + 'static) -> Self {
        Dataset { source: Arc::new(source), cardinality, passes: Arc::new(AtomicU64::new(0)) }
    }
    fn wrap(&self, cardinality: Cardinality, f: impl Fn(Iter, u64) -> Iter + Send + Sync + 'static) -> Self {
        let prev = self.source.clone();
        Dataset::new(cardinality, move |pass| f(prev(pass), pass))
    }

    /// One element per row of the tensors (tf.data `from_tensor_slices((x, y))`): every tensor
    /// in `x` and `y` must have the same leading dimension.
    pub fn from_tensor_slices(x: &[Tensor], y: &[Tensor]) -> Result<Self> {
        let n = x.first().ok_or_else(|| Error::invalid("Dataset.from_tensor_slices: no feature tensors"))?.dims();
        let n = *n.first().ok_or_else(|| Error::invalid("Dataset.from_tensor_slices: x[0] is a scalar"))?;
        for (role, ts) in [("x", x), ("y", y)] {
            for (i, t) in ts.iter().enumerate() {
                if t.dims().first() != Some(&n) {
                    return Err(Error::invalid(format!(
                        "Dataset.from_tensor_slices: {role}[{i}] has shape {:?}, expected {n} rows like x[0]",
                        t.dims()
                    )));
                }
            }
        }
        let (x, y) = (x.to_vec(), y.to_vec());
        Ok(Dataset::new(Cardinality::Finite(n), move |_| {
            let (x, y) = (x.clone(), y.clone());
            Box::new((0..n).map(move |i| {
                Ok(Element { x: x.iter().map(|t| row(t, i)).collect(), y: y.iter().map(|t| row(t, i)).collect() })
            }))
        }))
    }

    /// Elements from `make`, called once per pass (tf.data `from_generator`).
    pub fn from_generator<I>(make: impl Fn() -> I + Send + Sync + 'static) -> Self
    where
        I: Iterator<Item = Result<Element>> + Send + 'static,
    {
        Dataset::new(Cardinality::Unknown, move |_| Box::new(make()))
    }

    pub fn cardinality(&self) -> Cardinality {
        self.cardinality
    }

    /// A fresh pass over the elements.
    pub fn iter(&self) -> impl Iterator<Item = Result<Element>> + Send {
        (self.source)(self.passes.fetch_add(1, Ordering::Relaxed))
    }

    /// The first element of the next pass, without counting a pass: what a model without an
    /// input shape builds from, leaving every later pass's shuffle as it would have been.
    pub fn first(&self) -> Option<Result<Element>> {
        (self.source)(self.passes.load(Ordering::Relaxed)).next()
    }

    /// Applies `f` to every element.
    pub fn map(&self, f: impl Fn(Element) -> Result<Element> + Send + Sync + 'static) -> Self {
        let f = Arc::new(f);
        self.wrap(self.cardinality, move |it, _| {
            let f = f.clone();
            Box::new(it.map(move |e| e.and_then(|e| f(e))))
        })
    }

    /// Keeps the elements where `keep` is true.
    pub fn filter(&self, keep: impl Fn(&Element) -> bool + Send + Sync + 'static) -> Self {
        let keep = Arc::new(keep);
        let card = if self.cardinality == Cardinality::Infinite { Cardinality::Infinite } else { Cardinality::Unknown };
        self.wrap(card, move |it, _| {
            let keep = keep.clone();
            Box::new(it.filter(move |e| e.as_ref().map_or(true, |e| keep(e))))
        })
    }

    /// tf.data `shuffle(buffer_size, seed)`: a buffer of `buffer_size` elements, from which a
    /// random one is emitted and replaced by the next. A buffer at least the dataset's size is a
    /// full shuffle. Every pass reshuffles (`reshuffle_each_iteration=True`), reproducibly from
    /// `seed`.
    pub fn shuffle(&self, buffer_size: usize, seed: u64) -> Self {
        let buffer_size = buffer_size.max(1);
        self.wrap(self.cardinality, move |mut it, pass| {
            let mut rng = Rng::seed(seed ^ pass.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let mut buf: Vec<Result<Element>> = Vec::with_capacity(buffer_size.min(4096));
            Box::new(std::iter::from_fn(move || {
                while buf.len() < buffer_size {
                    match it.next() {
                        Some(e) => buf.push(e),
                        None => break,
                    }
                }
                if buf.is_empty() {
                    return None;
                }
                let k = rng.below(buf.len());
                Some(buf.swap_remove(k))
            }))
        })
    }

    /// Stacks `batch_size` consecutive elements into one (tf.data `batch`): every tensor gains a
    /// leading batch axis. The last, smaller batch is kept unless `drop_remainder`. Elements of
    /// different shapes are an error naming the batch.
    pub fn batch(&self, batch_size: usize, drop_remainder: bool) -> Self {
        let b = batch_size.max(1);
        let card = match self.cardinality {
            Cardinality::Finite(n) if drop_remainder => Cardinality::Finite(n / b),
            Cardinality::Finite(n) => Cardinality::Finite(n.div_ceil(b)),
            c => c,
        };
        self.wrap(card, move |mut it, _| {
            let mut index = 0usize;
            Box::new(std::iter::from_fn(move || {
                let mut items = Vec::with_capacity(b);
                for e in it.by_ref() {
                    match e {
                        Ok(e) => items.push(e),
                        Err(err) => return Some(Err(err)),
                    }
                    if items.len() == b {
                        break;
                    }
                }
                if items.is_empty() || (drop_remainder && items.len() < b) {
                    return None;
                }
                index += 1;
                Some(stack(&items, index - 1))
            }))
        })
    }

    /// Passes over the data `count` times, or forever with `None` (tf.data `repeat`).
    pub fn repeat(&self, count: Option<usize>) -> Self {
        let card = match (self.cardinality, count) {
            (Cardinality::Finite(0), _) => Cardinality::Finite(0),
            (Cardinality::Finite(n), Some(c)) => Cardinality::Finite(n * c),
            (Cardinality::Unknown, _) => Cardinality::Unknown,
            _ => Cardinality::Infinite,
        };
        let prev = self.source.clone();
        Dataset::new(card, move |pass| {
            let prev = prev.clone();
            // Each repetition is a pass of its own, so shuffles below reshuffle every time.
            let passes = (0u64..).take(count.unwrap_or(usize::MAX));
            Box::new(passes.flat_map(move |r| prev(pass.wrapping_mul(1 << 20).wrapping_add(r))))
        })
    }

    /// The first `n` elements (tf.data `take`).
    pub fn take(&self, n: usize) -> Self {
        let card = match self.cardinality {
            Cardinality::Finite(m) => Cardinality::Finite(m.min(n)),
            Cardinality::Infinite => Cardinality::Finite(n),
            Cardinality::Unknown => Cardinality::Unknown,
        };
        self.wrap(card, move |it, _| Box::new(it.take(n)))
    }

    /// All but the first `n` elements (tf.data `skip`).
    pub fn skip(&self, n: usize) -> Self {
        let card = match self.cardinality {
            Cardinality::Finite(m) => Cardinality::Finite(m.saturating_sub(n)),
            c => c,
        };
        self.wrap(card, move |it, _| Box::new(it.skip(n)))
    }

    /// Keeps the elements of the first complete pass in memory and replays them afterwards
    /// (tf.data `cache()`), so an expensive `map` runs once.
    pub fn cache(&self) -> Self {
        let store: Arc<Mutex<Option<Arc<Vec<Element>>>>> = Arc::default();
        let prev = self.source.clone();
        Dataset::new(self.cardinality, move |pass| {
            if let Some(done) = store.lock().expect("cache lock").clone() {
                return Box::new((0..done.len()).map(move |i| Ok(done[i].clone())));
            }
            let (store, mut it, mut seen) = (store.clone(), prev(pass), Some(vec![]));
            Box::new(std::iter::from_fn(move || match it.next() {
                Some(Ok(e)) => {
                    if let Some(s) = seen.as_mut() {
                        s.push(e.clone());
                    }
                    Some(Ok(e))
                }
                Some(Err(err)) => {
                    seen = None;
                    Some(Err(err))
                }
                None => {
                    if let Some(s) = seen.take() {
                        *store.lock().expect("cache lock") = Some(Arc::new(s));
                    }
                    None
                }
            }))
        })
    }

    /// Produces up to `buffer_size` elements ahead on a background thread (tf.data `prefetch`),
    /// so loading and `map` overlap with training.
    pub fn prefetch(&self, buffer_size: usize) -> Self {
        let prev = self.source.clone();
        Dataset::new(self.cardinality, move |pass| {
            let (tx, rx) = std::sync::mpsc::sync_channel(buffer_size.max(1));
            let mut it = prev(pass);
            std::thread::spawn(move || {
                for e in it.by_ref() {
                    if tx.send(e).is_err() {
                        break; // the consumer stopped early
                    }
                }
            });
            Box::new(rx.into_iter())
        })
    }
}

/// Stacks the elements of one batch along a new leading axis.
fn stack(items: &[Element], index: usize) -> Result<Element> {
    let first = &items[0];
    let part = |get: &dyn Fn(&Element) -> &Vec<Tensor>, role: &str| -> Result<Vec<Tensor>> {
        (0..get(first).len())
            .map(|k| {
                let ts: Vec<&Tensor> = items.iter().map(|e| &get(e)[k]).collect();
                if let Some(bad) = ts.iter().position(|t| t.dims() != ts[0].dims()) {
                    return Err(Error::invalid(format!(
                        "Dataset.batch: batch {index}, element {bad}: {role}[{k}] has shape {:?}, the first has {:?}",
                        ts[bad].dims(),
                        ts[0].dims()
                    )));
                }
                Ok(Tensor::stack(&ts, 0))
            })
            .collect()
    };
    if let Some(bad) = items.iter().position(|e| e.x.len() != first.x.len() || e.y.len() != first.y.len()) {
        return Err(Error::invalid(format!("Dataset.batch: batch {index}, element {bad} has a different structure")));
    }
    Ok(Element { x: part(&|e| &e.x, "x")?, y: part(&|e| &e.y, "y")? })
}

/// Keras `timeseries_dataset_from_array` as a [`Dataset`] of batches: the windows `w` describes
/// (see [`timeseries_windows`](crate::timeseries_windows)), each with its target when `targets`
/// is given. With `shuffle = Some(seed)`, windows are fully reshuffled every pass.
pub fn timeseries_dataset_from_array(
    data: &Tensor,
    targets: Option<&Tensor>,
    w: Windows,
    batch_size: usize,
    shuffle: Option<u64>,
) -> Result<Dataset> {
    let (x, y) = timeseries_windows(data, targets, w)?;
    let ds = Dataset::from_tensor_slices(&[x], &y.into_iter().collect::<Vec<_>>())?;
    let ds = match shuffle {
        Some(seed) => ds.shuffle(usize::MAX >> 1, seed),
        None => ds,
    };
    Ok(ds.batch(batch_size, false))
}

/// Keras `TimeseriesGenerator(data, targets, length, sampling_rate, stride, batch_size)`: window
/// `i` is rows `i - length .. i` of `data` (every `sampling_rate`-th) and its target is row `i` of
/// `targets`, the step after the window: the one-step-ahead forecasting setup.
pub fn timeseries_generator(
    data: &Tensor,
    targets: &Tensor,
    length: usize,
    sampling_rate: usize,
    stride: usize,
    batch_size: usize,
) -> Result<Dataset> {
    let n = data.dims().first().copied().unwrap_or(0);
    if targets.dims().first() != Some(&n) {
        return Err(Error::invalid(format!(
            "TimeseriesGenerator: data has {n} rows but targets has shape {:?}",
            targets.dims()
        )));
    }
    if length == 0 || sampling_rate == 0 || stride == 0 || length >= n {
        return Err(Error::invalid(format!(
            "TimeseriesGenerator: need 0 < length < rows and positive sampling_rate and stride; got length \
             {length}, sampling_rate {sampling_rate}, stride {stride} for {n} rows"
        )));
    }
    let ends: Vec<usize> = (length..n).step_by(stride).collect();
    let rows: Vec<usize> = (0..length).step_by(sampling_rate).collect();
    let mut windows = Vec::with_capacity(ends.len());
    for &end in &ends {
        let idx: Vec<usize> = rows.iter().map(|r| end - length + r).collect();
        windows.push(data.index_select(0, &idx));
    }
    let refs: Vec<&Tensor> = windows.iter().collect();
    let x = Tensor::stack(&refs, 0);
    let y = targets.index_select(0, &ends);
    Ok(Dataset::from_tensor_slices(&[x], &[y])?.batch(batch_size, false))
}

/// Collects every element of one pass (for tests and small data).
pub fn collect(ds: &Dataset) -> Result<Vec<Element>> {
    ds.iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(ds: &Dataset) -> Vec<Vec<f32>> {
        collect(ds).unwrap().iter().map(|e| e.x[0].to_vec_f32()).collect()
    }

    fn numbers(n: usize) -> Dataset {
        let x = Tensor::from_vec((0..n).map(|i| i as f32).collect(), [n]);
        let y = Tensor::from_vec((0..n).map(|i| (i * 10) as f32).collect(), [n, 1]);
        Dataset::from_tensor_slices(&[x], &[y]).unwrap()
    }

    #[test]
    fn slices_batch_take_skip_repeat() {
        let ds = numbers(5);
        assert_eq!(ds.cardinality(), Cardinality::Finite(5));
        let b = ds.batch(2, false);
        assert_eq!(b.cardinality(), Cardinality::Finite(3));
        let e = collect(&b).unwrap();
        assert_eq!(e[0].x[0].dims(), [2]);
        assert_eq!(e[0].y[0].dims(), [2, 1]);
        assert_eq!(e[2].x[0].to_vec_f32(), [4.0]);
        assert_eq!(ds.batch(2, true).cardinality(), Cardinality::Finite(2));
        assert_eq!(collect(&ds.batch(2, true)).unwrap().len(), 2);
        assert_eq!(ids(&ds.skip(1).take(2)), [[1.0], [2.0]]);
        assert_eq!(ds.repeat(Some(2)).cardinality(), Cardinality::Finite(10));
        assert_eq!(collect(&ds.repeat(Some(2))).unwrap().len(), 10);
        assert_eq!(ds.repeat(None).cardinality(), Cardinality::Infinite);
        assert_eq!(collect(&ds.repeat(None).take(12)).unwrap().len(), 12);
        let bad = Dataset::from_tensor_slices(&[Tensor::zeros([3, 2])], &[Tensor::zeros([2])]).unwrap_err();
        assert!(bad.message.contains("y[0] has shape [2], expected 3 rows"), "{}", bad.message);
    }

    #[test]
    fn map_filter_cache_and_prefetch() {
        let ds = numbers(6).map(|mut e| {
            e.x[0] = e.x[0].mul_scalar(2.0);
            Ok(e)
        });
        assert_eq!(ids(&ds.filter(|e| e.x[0].to_vec_f32()[0] >= 6.0)), [[6.0], [8.0], [10.0]]);
        assert_eq!(ds.filter(|_| true).cardinality(), Cardinality::Unknown);
        let calls = Arc::new(AtomicU64::new(0));
        let c = calls.clone();
        let cached = numbers(4)
            .map(move |e| {
                c.fetch_add(1, Ordering::Relaxed);
                Ok(e)
            })
            .cache();
        assert_eq!(ids(&cached), ids(&cached));
        assert_eq!(calls.load(Ordering::Relaxed), 4, "the map ran once per element, not once per pass");
        assert_eq!(ids(&numbers(50).prefetch(2)), ids(&numbers(50)));
        // A consumer that stops early does not hang the producer thread.
        assert_eq!(numbers(1000).prefetch(1).iter().take(3).count(), 3);
    }

    #[test]
    fn shuffle_is_a_seeded_permutation_that_changes_every_pass() {
        let ds = numbers(20).shuffle(100, 7);
        let (a, b) = (ids(&ds), ids(&ds));
        assert_ne!(a, b, "reshuffle_each_iteration");
        let mut sorted = a.clone();
        sorted.sort_by(|x, y| x[0].total_cmp(&y[0]));
        assert_eq!(sorted, ids(&numbers(20)));
        assert_eq!(ids(&numbers(20).shuffle(100, 7)), a, "same seed, same first pass");
        // A buffer of 1 keeps the order, as in tf.data.
        assert_eq!(ids(&numbers(5).shuffle(1, 3)), ids(&numbers(5)));
        // With a small buffer, an element moves at most buffer_size - 1 places earlier.
        let small = ids(&numbers(20).shuffle(3, 1));
        assert!(small.iter().enumerate().all(|(i, v)| v[0] as usize <= i + 2));
    }

    #[test]
    fn batch_names_mismatched_shapes_and_errors_flow_through() {
        let ds = Dataset::from_generator(|| {
            let e = |n: usize| Ok(Element { x: vec![Tensor::zeros([n])], y: vec![] });
            vec![e(2), e(3), Err(Error::invalid("record 2 is corrupt"))].into_iter()
        });
        let got: Vec<Result<Element>> = ds.batch(2, false).iter().collect();
        assert!(got[0]
            .as_ref()
            .unwrap_err()
            .message
            .contains("batch 0, element 1: x[0] has shape [3], the first has [2]"));
        assert_eq!(got[1].as_ref().unwrap_err().message, "record 2 is corrupt");
    }

    #[test]
    fn timeseries_generator_targets_the_next_step() {
        let data = Tensor::from_vec((0..10).map(|i| i as f32).collect(), [10, 1]);
        let ds = timeseries_generator(&data, &data, 3, 1, 1, 4).unwrap();
        let e = collect(&ds).unwrap();
        assert_eq!(e.len(), 2); // 7 windows in batches of 4
        assert_eq!(e[0].x[0].dims(), [4, 3, 1]);
        assert_eq!(e[0].x[0].to_vec_f32()[..6], [0., 1., 2., 1., 2., 3.]);
        assert_eq!(e[0].y[0].to_vec_f32(), [3., 4., 5., 6.]);
        let ds = timeseries_dataset_from_array(&data, Some(&data), Windows::new(3), 8, Some(1)).unwrap();
        let e = collect(&ds).unwrap();
        assert_eq!(e[0].x[0].dims(), [8, 3, 1]);
        // Each window's target is its first step (Keras semantics), whatever the shuffle.
        let (x, y) = (e[0].x[0].to_vec_f32(), e[0].y[0].to_vec_f32());
        assert!((0..8).all(|k| x[k * 3] == y[k]));
        assert!(timeseries_generator(&data, &data, 10, 1, 1, 4).is_err());
    }
}
