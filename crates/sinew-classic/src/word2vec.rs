//! word2vec (Mikolov et al. 2013) with gensim's defaults, and fastText's subword embeddings
//! (Bojanowski et al. 2017): skip-gram or CBOW, negative sampling from the unigram distribution
//! raised to 0.75, frequent words subsampled, a dynamic window (each centre word draws how far
//! it looks, up to `window`) and a learning rate decaying linearly from `alpha` to `min_alpha`
//! over the whole training.
//!
//! With subwords, a word's input vector is the mean of its own row and the rows of its
//! character n-grams (`<` and `>` mark its ends; lengths `min_n..=max_n`; hashed into `buckets`
//! rows with fastText's FNV-1a hash), so a word never seen in training still gets a vector.
//!
//! Training is parallel the way word2vec.c, gensim and fastText train: worker threads take
//! batches of about 10,000 words and update the shared weights without locks (Hogwild!, Recht
//! et al. 2011). Updates from two threads to the same row may interleave; the algorithm is
//! built to tolerate that, and the weights are plain floats read and written through raw
//! pointers, never through references that would claim exclusive access. With one worker a
//! run is reproducible from its seed; with more, as in gensim, it is not bit for bit.

use rand::rngs::SmallRng;
use rand::{Rng as _, SeedableRng};
use sinew_data::{Error, Result};
use sinew_tensor::kernels::math::sigmoid_f32 as sigmoid;
use sinew_tensor::runtime::vectorized;
use sinew_tensor::Tensor;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How the context and the centre word relate in training.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Architecture {
    /// The centre word predicts each word of its window (gensim `sg=1`).
    SkipGram,
    /// The mean of the window's words predicts the centre word (gensim `sg=0`, its default).
    Cbow,
}

/// fastText's character n-grams: lengths `min_n..=max_n`, hashed into `buckets` rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subwords {
    pub min_n: usize,
    pub max_n: usize,
    pub buckets: usize,
}

impl Default for Subwords {
    /// fastText's and gensim's defaults: 3 to 6 characters, 2,000,000 buckets.
    fn default() -> Self {
        Subwords { min_n: 3, max_n: 6, buckets: 2_000_000 }
    }
}

/// The hyperparameters, with gensim's `Word2Vec` defaults (`Word2VecOptions::new()`): 100
/// dimensions, window 5, `min_count` 5, `sample` 1e-3, 5 negatives, exponent 0.75, `alpha`
/// 0.025 down to 0.0001, 5 epochs, CBOW, seed 1; workers: every thread of the pool (0).
#[derive(Clone, Debug, PartialEq)]
pub struct Word2VecOptions {
    pub vector_size: usize,
    pub window: usize,
    pub min_count: u64,
    pub sample: f64,
    pub negative: usize,
    pub ns_exponent: f64,
    pub alpha: f64,
    pub min_alpha: f64,
    pub epochs: usize,
    pub architecture: Architecture,
    /// Training threads; 0 takes rayon's thread count (`RAYON_NUM_THREADS`).
    pub workers: usize,
    pub seed: u64,
    pub subwords: Option<Subwords>,
}

impl Default for Word2VecOptions {
    fn default() -> Self {
        Word2VecOptions {
            vector_size: 100,
            window: 5,
            min_count: 5,
            sample: 1e-3,
            negative: 5,
            ns_exponent: 0.75,
            alpha: 0.025,
            min_alpha: 1e-4,
            epochs: 5,
            architecture: Architecture::Cbow,
            workers: 0,
            seed: 1,
            subwords: None,
        }
    }
}

impl Word2VecOptions {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn vector_size(mut self, n: usize) -> Self {
        self.vector_size = n;
        self
    }
    pub fn window(mut self, n: usize) -> Self {
        self.window = n;
        self
    }
    pub fn min_count(mut self, n: u64) -> Self {
        self.min_count = n;
        self
    }
    pub fn sample(mut self, s: f64) -> Self {
        self.sample = s;
        self
    }
    pub fn negative(mut self, n: usize) -> Self {
        self.negative = n;
        self
    }
    pub fn alpha(mut self, start: f64, end: f64) -> Self {
        self.alpha = start;
        self.min_alpha = end;
        self
    }
    pub fn epochs(mut self, n: usize) -> Self {
        self.epochs = n;
        self
    }
    pub fn architecture(mut self, a: Architecture) -> Self {
        self.architecture = a;
        self
    }
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n;
        self
    }
    pub fn seed(mut self, s: u64) -> Self {
        self.seed = s;
        self
    }
    /// fastText-style subword embeddings.
    pub fn subwords(mut self, s: Subwords) -> Self {
        self.subwords = Some(s);
        self
    }
}

/// The lower-cased words of each line of `text`, split on anything that is not a letter a-z
/// (the tokenisation of the peers' `bench_classic.py b9`); empty lines are left out.
pub fn simple_words(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|l| {
            l.to_lowercase()
                .split(|c: char| !c.is_ascii_lowercase())
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .filter(|s| !s.is_empty())
        .collect()
}

/// fastText's hash of an n-gram's bytes (32-bit FNV-1a over the bytes read as signed).
fn fnv1a(bytes: &[u8]) -> u32 {
    let mut h: u32 = 2_166_136_261;
    for &b in bytes {
        h ^= b as i8 as i32 as u32;
        h = h.wrapping_mul(16_777_619);
    }
    h
}

/// The bucket of every character n-gram of `<word>` with `min_n..=max_n` characters (fastText
/// leaves out the lone `<` and `>`).
fn ngram_buckets(word: &str, s: &Subwords) -> Vec<u32> {
    let marked: Vec<char> = format!("<{word}>").chars().collect();
    let mut out = vec![];
    let mut buf = String::new();
    for i in 0..marked.len() {
        for n in s.min_n.max(1)..=s.max_n {
            if i + n > marked.len() {
                break;
            }
            if n == 1 && (i == 0 || i + 1 == marked.len()) {
                continue;
            }
            buf.clear();
            buf.extend(&marked[i..i + n]);
            out.push(fnv1a(buf.as_bytes()) % s.buckets as u32);
        }
    }
    out
}

/// Trained word vectors: gensim's `KeyedVectors`, with fastText's n-gram rows when trained
/// with subwords.
#[derive(Clone, Debug)]
pub struct KeyedVectors {
    words: Vec<String>,
    index: HashMap<String, usize>,
    dim: usize,
    /// `words x dim`: each word's own row.
    vectors: Vec<f32>,
    /// `buckets x dim`, with the settings that hash into it.
    ngrams: Option<(Subwords, Vec<f32>)>,
}

impl KeyedVectors {
    pub fn len(&self) -> usize {
        self.words.len()
    }
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
    pub fn vector_size(&self) -> usize {
        self.dim
    }
    /// The vocabulary, most frequent first.
    pub fn words(&self) -> &[String] {
        &self.words
    }
    pub fn contains(&self, word: &str) -> bool {
        self.index.contains_key(word)
    }

    /// The vector of `word`: its row, or with subwords the mean of its row and its n-grams'
    /// (fastText); a word outside the vocabulary gets the mean of its n-grams' rows, and `None`
    /// without subwords.
    pub fn get(&self, word: &str) -> Option<Vec<f32>> {
        let d = self.dim;
        let own = self.index.get(word).map(|&i| &self.vectors[i * d..(i + 1) * d]);
        let Some((s, rows)) = &self.ngrams else {
            return own.map(|v| v.to_vec());
        };
        let grams = ngram_buckets(word, s);
        let n = grams.len() + own.is_some() as usize;
        if n == 0 {
            return None;
        }
        let mut v = own.map(|v| v.to_vec()).unwrap_or_else(|| vec![0.0; d]);
        for g in grams {
            v.iter_mut().zip(&rows[g as usize * d..(g as usize + 1) * d]).for_each(|(a, &b)| *a += b);
        }
        v.iter_mut().for_each(|a| *a /= n as f32);
        Some(v)
    }

    fn vector_or_err(&self, word: &str, what: &str) -> Result<Vec<f32>> {
        self.get(word).ok_or_else(|| Error::invalid(format!("{what}: the word {word:?} is not in the vocabulary")))
    }

    /// Cosine similarity of two words.
    pub fn similarity(&self, a: &str, b: &str) -> Result<f32> {
        let (x, y) = (self.vector_or_err(a, "similarity")?, self.vector_or_err(b, "similarity")?);
        Ok(cosine(&x, &y))
    }

    /// gensim's `most_similar(positive, negative, topn)`: the words nearest (by cosine) to the
    /// mean of the unit vectors of `positive` and the negated unit vectors of `negative`, the
    /// query words left out. An analogy `a : b :: c : ?` is `most_similar(&[b, c], &[a], n)`.
    pub fn most_similar(&self, positive: &[&str], negative: &[&str], topn: usize) -> Result<Vec<(String, f32)>> {
        if positive.is_empty() && negative.is_empty() {
            return Err(Error::invalid("most_similar: give at least one word"));
        }
        let d = self.dim;
        let mut q = vec![0.0f32; d];
        for (words, sign) in [(positive, 1.0f32), (negative, -1.0)] {
            for w in words {
                let v = unit(self.vector_or_err(w, "most_similar")?);
                q.iter_mut().zip(&v).for_each(|(a, &b)| *a += sign * b);
            }
        }
        let q = unit(q);
        let mut scored: Vec<(usize, f32)> = (0..self.words.len())
            .filter(|&i| !positive.contains(&self.words[i].as_str()) && !negative.contains(&self.words[i].as_str()))
            .map(|i| (i, cosine(&q, &self.vectors_row(i))))
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(scored.into_iter().take(topn).map(|(i, s)| (self.words[i].clone(), s)).collect())
    }

    /// A vocabulary word's full vector (with its n-grams when trained with subwords).
    fn vectors_row(&self, i: usize) -> Vec<f32> {
        match &self.ngrams {
            None => self.vectors[i * self.dim..(i + 1) * self.dim].to_vec(),
            Some(_) => self.get(&self.words[i]).expect("a vocabulary word has a vector"),
        }
    }

    /// The vectors of `tokens` as a `[tokens, dim]` matrix, to initialise an `Embedding` layer
    /// whose index `i` stands for `tokens[i]`; a token without a vector gets zeros.
    pub fn embedding_weights(&self, tokens: &[&str]) -> Tensor {
        let d = self.dim;
        let mut w = Vec::with_capacity(tokens.len() * d);
        for t in tokens {
            w.extend(self.get(t).unwrap_or_else(|| vec![0.0; d]));
        }
        Tensor::from_vec(w, [tokens.len(), d])
    }

    /// The word2vec text format gensim reads with `KeyedVectors.load_word2vec_format(path)`:
    /// a line `words dim`, then a line per word, the word and its values. Subword models write
    /// each vocabulary word's full vector. Written atomically.
    pub fn save_word2vec_format(&self, path: impl AsRef<Path>) -> Result<()> {
        use std::fmt::Write;
        let mut out = format!("{} {}\n", self.words.len(), self.dim);
        for (i, w) in self.words.iter().enumerate() {
            out.push_str(w);
            for v in self.vectors_row(i) {
                let _ = write!(out, " {v}");
            }
            out.push('\n');
        }
        sinew_train::write_atomic(path.as_ref(), out.as_bytes()).map_err(|e| Error::invalid(e.to_string()))
    }

    /// Reads the word2vec text format (gensim's `save_word2vec_format(path, binary=False)`);
    /// errors name the file and the line.
    pub fn load_word2vec_format(path: impl AsRef<Path>) -> Result<KeyedVectors> {
        let path = path.as_ref();
        let raw = sinew_data::read_text_bounded(path)?;
        let text = String::from_utf8(raw).map_err(|_| Error::format(path, "not UTF-8 text"))?;
        let mut lines = text.lines().enumerate();
        let (_, header) = lines.next().ok_or_else(|| Error::format(path, "empty file"))?;
        let h: Vec<&str> = header.split_whitespace().collect();
        let count = |s: Option<&&str>, what: &str| -> Result<usize> {
            s.and_then(|s| s.parse().ok()).ok_or_else(|| {
                Error::format(path, format!("line 1: expected `words dim`, the {what} is {:?}", s.unwrap_or(&"")))
            })
        };
        let (n, d) = (count(h.first(), "word count")?, count(h.get(1), "dimension")?);
        if d == 0 {
            return Err(Error::format(path, "line 1: the dimension is 0"));
        }
        let mut words = Vec::with_capacity(n.min(text.len()));
        let mut vectors = Vec::with_capacity(n.saturating_mul(d).min(text.len()));
        let mut index = HashMap::new();
        for (i, line) in lines {
            if line.trim().is_empty() {
                continue;
            }
            let mut parts = line.split_whitespace();
            let word = parts.next().unwrap_or_default();
            let vals: Vec<&str> = parts.collect();
            if vals.len() != d {
                return Err(Error::format(
                    path,
                    format!("line {}: {word:?} has {} values, expected {d}", i + 1, vals.len()),
                ));
            }
            for v in vals {
                let x: f32 =
                    v.parse().map_err(|_| Error::format(path, format!("line {}: {v:?} is not a number", i + 1)))?;
                if !x.is_finite() {
                    return Err(Error::format(path, format!("line {}: value {v:?} is not finite", i + 1)));
                }
                vectors.push(x);
            }
            if index.insert(word.to_string(), words.len()).is_some() {
                return Err(Error::format(path, format!("line {}: the word {word:?} appears twice", i + 1)));
            }
            words.push(word.to_string());
        }
        if words.len() != n {
            return Err(Error::format(path, format!("the header says {n} words, the file has {}", words.len())));
        }
        Ok(KeyedVectors { words, index, dim: d, vectors, ngrams: None })
    }
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

fn unit(mut v: Vec<f32>) -> Vec<f32> {
    let n = norm(&v);
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
    v
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (na, nb) = (norm(a), norm(b));
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    a.iter().zip(b).map(|(x, y)| x * y).sum::<f32>() / (na * nb)
}

/// A word2vec model: the vectors and what training needs besides (counts, output weights).
pub struct Word2Vec {
    opts: Word2VecOptions,
    wv: KeyedVectors,
    counts: Vec<u64>,
    /// The output ("context") weights of negative sampling, `words x dim`.
    syn1neg: Vec<f32>,
    /// Each vocabulary word's n-gram buckets (empty without subwords).
    grams: Vec<Vec<u32>>,
    /// gensim's `cum_table`: cumulative `count^0.75`, for drawing negatives.
    cum: Vec<u64>,
    /// Each word's probability of being kept by subsampling.
    keep: Vec<f32>,
    epochs_done: usize,
}

/// The weights the worker threads share (see the module docs): a raw pointer and a length.
struct Shared {
    ptr: *mut f32,
    len: usize,
}

// SAFETY: the workers read and write the rows through raw pointers only (Hogwild!); no
// reference to the buffer is held across threads, and the buffer outlives the scoped threads.
unsafe impl Sync for Shared {}

impl Shared {
    fn new(v: &mut [f32]) -> Shared {
        Shared { ptr: v.as_mut_ptr(), len: v.len() }
    }
    #[inline(always)]
    fn row(&self, r: usize, d: usize) -> *mut f32 {
        assert!((r + 1) * d <= self.len, "word2vec: row {r} past the weights");
        // SAFETY: in bounds, checked above.
        unsafe { self.ptr.add(r * d) }
    }
}

/// `Σ a[i] b[i]` over `a.len()` floats, sixteen running sums (whole chunks of `a`, so the
/// loop carries no bounds checks and vectorises).
///
/// # Safety
/// `b` points at `a.len()` readable floats.
#[inline(always)]
unsafe fn dot(a: &[f32], b: *const f32) -> f32 {
    let mut acc = [0.0f32; 16];
    let chunks = a.chunks_exact(16);
    let rest = chunks.remainder();
    let full = a.len() - rest.len();
    for (c, ch) in chunks.enumerate() {
        let p = b.add(c * 16);
        for l in 0..16 {
            acc[l] += ch[l] * *p.add(l);
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (i, &x) in rest.iter().enumerate() {
        s += x * *b.add(full + i);
    }
    s
}

/// `y[i] += g x[i]` over `x.len()` floats.
///
/// # Safety
/// `y` points at `x.len()` writable floats.
#[inline(always)]
unsafe fn axpy_into(y: *mut f32, g: f32, x: &[f32]) {
    for (i, &v) in x.iter().enumerate() {
        *y.add(i) += g * v;
    }
}

/// `acc[i] += g y[i]`.
///
/// # Safety
/// `y` points at `acc.len()` readable floats.
#[inline(always)]
unsafe fn axpy_from(acc: &mut [f32], g: f32, y: *const f32) {
    for (i, a) in acc.iter_mut().enumerate() {
        *a += g * *y.add(i);
    }
}

/// One worker's scratch vectors: the hidden vector, the error going back to the input rows,
/// the input rows of a step and of one word.
struct Scratch {
    neu1: Vec<f32>,
    work: Vec<f32>,
    rows: Vec<u32>,
    word: Vec<u32>,
}

impl Word2Vec {
    /// Builds the vocabulary from `sentences` (words seen at least `min_count` times, most
    /// frequent first) and the initial weights; [`Word2Vec::train`] then trains them.
    pub fn build(sentences: &[Vec<String>], opts: Word2VecOptions) -> Result<Word2Vec> {
        let bad = |m: String| Err(Error::invalid(format!("Word2Vec: {m}")));
        if opts.vector_size == 0 || opts.window == 0 || opts.epochs == 0 {
            return bad(format!(
                "vector_size ({}), window ({}) and epochs ({}) must be at least 1",
                opts.vector_size, opts.window, opts.epochs
            ));
        }
        if !(opts.alpha > 0.0 && opts.min_alpha >= 0.0 && opts.min_alpha <= opts.alpha) {
            return bad(format!(
                "alpha must be positive and min_alpha in [0, alpha]; got {} and {}",
                opts.alpha, opts.min_alpha
            ));
        }
        if let Some(s) = &opts.subwords {
            if s.min_n == 0 || s.max_n < s.min_n || s.buckets == 0 {
                return bad(format!("subwords need 1 <= min_n <= max_n and buckets >= 1; got {s:?}"));
            }
        }
        let mut counted: HashMap<&str, u64> = HashMap::new();
        for s in sentences {
            for w in s {
                *counted.entry(w.as_str()).or_default() += 1;
            }
        }
        let mut vocab: Vec<(&str, u64)> = counted.into_iter().filter(|&(_, c)| c >= opts.min_count.max(1)).collect();
        vocab.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        if vocab.is_empty() {
            return bad(format!("no word appears at least min_count = {} times", opts.min_count));
        }
        let words: Vec<String> = vocab.iter().map(|(w, _)| w.to_string()).collect();
        let counts: Vec<u64> = vocab.iter().map(|&(_, c)| c).collect();
        let index = words.iter().enumerate().map(|(i, w)| (w.clone(), i)).collect();
        let d = opts.vector_size;

        // gensim's subsampling: keep a word with probability (√(c/t) + 1) t/c, t = sample · total.
        let total: u64 = counts.iter().sum();
        let keep = counts
            .iter()
            .map(|&c| {
                if opts.sample <= 0.0 {
                    return 1.0;
                }
                let t = opts.sample * total as f64;
                (((c as f64 / t).sqrt() + 1.0) * t / c as f64).min(1.0) as f32
            })
            .collect();
        // gensim's cumulative table over count^0.75, scaled to 2^31 - 1.
        let pow: Vec<f64> = counts.iter().map(|&c| (c as f64).powf(opts.ns_exponent)).collect();
        let sum: f64 = pow.iter().sum();
        let mut acc = 0.0;
        let cum = pow
            .iter()
            .map(|p| {
                acc += p;
                (acc / sum * 2_147_483_647.0).round() as u64
            })
            .collect();

        // Initial input rows uniform in [-1/d, 1/d) (gensim 4's `prep_vectors`), output rows zero.
        let mut rng = SmallRng::seed_from_u64(opts.seed);
        let mut init =
            |n: usize| (0..n * d).map(|_| (2.0 * rng.random::<f32>() - 1.0) / d as f32).collect::<Vec<f32>>();
        let vectors = init(words.len());
        let (grams, ngrams) = match &opts.subwords {
            Some(s) => (words.iter().map(|w| ngram_buckets(w, s)).collect(), Some((s.clone(), init(s.buckets)))),
            None => (vec![vec![]; words.len()], None),
        };
        Ok(Word2Vec {
            syn1neg: vec![0.0; words.len() * d],
            wv: KeyedVectors { words, index, dim: d, vectors, ngrams },
            counts,
            grams,
            cum,
            keep,
            opts,
            epochs_done: 0,
        })
    }

    /// [`Word2Vec::build`] then [`Word2Vec::train`].
    pub fn fit(sentences: &[Vec<String>], opts: Word2VecOptions) -> Result<Word2Vec> {
        let mut m = Word2Vec::build(sentences, opts)?;
        m.train(sentences)?;
        Ok(m)
    }

    pub fn wv(&self) -> &KeyedVectors {
        &self.wv
    }
    pub fn options(&self) -> &Word2VecOptions {
        &self.opts
    }
    /// How often `word` appeared in the corpus the vocabulary was built from.
    pub fn count(&self, word: &str) -> Option<u64> {
        self.wv.index.get(word).map(|&i| self.counts[i])
    }

    /// Trains `epochs` epochs over `sentences` (words outside the vocabulary are skipped).
    /// Returns the words per second of the run, counting every word of the corpus as gensim
    /// reports it.
    pub fn train(&mut self, sentences: &[Vec<String>]) -> Result<f64> {
        let start = std::time::Instant::now();
        // The corpus as vocabulary indices, and batches of about 10,000 of them.
        let mut flat: Vec<u32> = Vec::new();
        let mut ends: Vec<usize> = Vec::with_capacity(sentences.len());
        let mut raw_words = 0usize;
        for s in sentences {
            raw_words += s.len();
            flat.extend(s.iter().filter_map(|w| self.wv.index.get(w.as_str()).map(|&i| i as u32)));
            ends.push(flat.len());
        }
        let mut jobs: Vec<(usize, usize)> = vec![]; // sentence ranges
        let mut first = 0;
        let mut begin_word = 0;
        for (i, &e) in ends.iter().enumerate() {
            if e - begin_word >= 10_000 || i + 1 == ends.len() {
                jobs.push((first, i + 1));
                first = i + 1;
                begin_word = e;
            }
        }
        let workers = match self.opts.workers {
            0 => sinew_tensor::runtime::num_threads(),
            n => n,
        }
        .max(1);
        let d = self.opts.vector_size;
        let vocab = self.wv.words.len();
        let epochs = self.opts.epochs;
        let total_words = flat.len().max(1) as f64 * epochs as f64;
        // One buffer of input rows: the words' then the n-gram buckets', as fastText lays them
        // out. The shared buffers are moved out of `self` while the workers write them.
        let mut input = std::mem::take(&mut self.wv.vectors);
        if let Some((_, r)) = self.wv.ngrams.as_mut() {
            input.append(r);
        }
        let mut output = std::mem::take(&mut self.syn1neg);
        let (inp, out) = (Shared::new(&mut input), Shared::new(&mut output));
        let starts: Vec<usize> = std::iter::once(0).chain(ends.iter().copied()).collect();
        for epoch in 0..epochs {
            let next = AtomicUsize::new(0);
            let this = &*self;
            std::thread::scope(|scope| {
                for _ in 0..workers {
                    let (inp, out, next, jobs, flat, starts) = (&inp, &out, &next, &jobs, &flat, &starts);
                    scope.spawn(move || {
                        let mut sc = Scratch { neu1: vec![0.0; d], work: vec![0.0; d], rows: vec![], word: vec![] };
                        let mut kept: Vec<u32> = vec![];
                        loop {
                            let j = next.fetch_add(1, Ordering::Relaxed);
                            let Some(&(s0, s1)) = jobs.get(j) else { break };
                            // The learning rate decays with the words done before this batch.
                            let done = (epoch * flat.len() + starts[s0]) as f64 / total_words;
                            let alpha = (this.opts.alpha - (this.opts.alpha - this.opts.min_alpha) * done) as f32;
                            let seed = this.opts.seed ^ ((this.epochs_done + epoch) as u64) << 40 ^ j as u64;
                            let mut rng = SmallRng::seed_from_u64(seed);
                            for s in s0..s1 {
                                kept.clear();
                                for &i in &flat[starts[s]..starts[s + 1]] {
                                    let p = this.keep[i as usize];
                                    if p >= 1.0 || p > rng.random::<f32>() {
                                        kept.push(i);
                                    }
                                }
                                vectorized(
                                    #[inline(always)]
                                    || this.train_sentence(&kept, alpha, &mut rng, inp, out, vocab, &mut sc),
                                );
                            }
                        }
                    });
                }
            });
        }
        if let Some((_, r)) = self.wv.ngrams.as_mut() {
            *r = input.split_off(vocab * d);
        }
        self.syn1neg = output;
        self.wv.vectors = input;
        self.epochs_done += epochs;
        Ok((raw_words * epochs) as f64 / start.elapsed().as_secs_f64())
    }

    /// One sentence (already subsampled) at learning rate `alpha`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn train_sentence(
        &self,
        sent: &[u32],
        alpha: f32,
        rng: &mut SmallRng,
        inp: &Shared,
        out: &Shared,
        vocab: usize,
        sc: &mut Scratch,
    ) {
        let window = self.opts.window;
        for (i, &centre) in sent.iter().enumerate() {
            let b = rng.random_range(0..window);
            let (lo, hi) = (i.saturating_sub(window - b), (i + window + 1 - b).min(sent.len()));
            match self.opts.architecture {
                Architecture::SkipGram => {
                    // gensim's Word2Vec pairs a window word's row with the centre as target;
                    // fastText (and gensim's FastText) the centre's rows with each window word.
                    let subwords = self.opts.subwords.is_some();
                    if subwords {
                        self.input_rows(centre, vocab, &mut sc.rows);
                    }
                    for (j, &ctx) in sent.iter().enumerate().take(hi).skip(lo) {
                        if j == i {
                            continue;
                        }
                        if subwords {
                            self.negative_step(ctx, alpha, rng, inp, out, sc);
                        } else {
                            self.input_rows(ctx, vocab, &mut sc.rows);
                            self.negative_step(centre, alpha, rng, inp, out, sc);
                        }
                    }
                }
                Architecture::Cbow => {
                    sc.rows.clear();
                    for (j, &ctx) in sent.iter().enumerate().take(hi).skip(lo) {
                        if j != i {
                            self.input_rows(ctx, vocab, &mut sc.word);
                            sc.rows.extend_from_slice(&sc.word);
                        }
                    }
                    if !sc.rows.is_empty() {
                        self.negative_step(centre, alpha, rng, inp, out, sc);
                    }
                }
            }
        }
    }

    /// The input rows that make word `w`'s vector: its own, then its n-grams'.
    #[inline(always)]
    fn input_rows(&self, w: u32, vocab: usize, rows: &mut Vec<u32>) {
        rows.clear();
        rows.push(w);
        rows.extend(self.grams[w as usize].iter().map(|&g| vocab as u32 + g));
    }

    /// Negative sampling for one target: the mean of `sc.rows`' input vectors predicts `target`
    /// against `negative` words drawn from the unigram table; the error goes back to each row.
    #[inline(always)]
    fn negative_step(&self, target: u32, alpha: f32, rng: &mut SmallRng, inp: &Shared, out: &Shared, sc: &mut Scratch) {
        let d = self.opts.vector_size;
        let Scratch { neu1, work, rows, .. } = sc;
        // SAFETY (all blocks below): rows come from `Shared::row`, which checks bounds; see the
        // module docs on the unsynchronised updates.
        neu1.iter_mut().for_each(|x| *x = 0.0);
        for &r in rows.iter() {
            let p = inp.row(r as usize, d);
            for (k, x) in neu1.iter_mut().enumerate() {
                *x += unsafe { *p.add(k) };
            }
        }
        if rows.len() > 1 {
            let inv = 1.0 / rows.len() as f32;
            neu1.iter_mut().for_each(|x| *x *= inv);
        }
        work.iter_mut().for_each(|x| *x = 0.0);
        let total = *self.cum.last().expect("a vocabulary");
        for k in 0..=self.opts.negative {
            let (t, label) = if k == 0 {
                (target, 1.0)
            } else {
                let r = rng.random_range(0..total);
                let t = self.cum.partition_point(|&c| c <= r) as u32;
                if t == target {
                    continue;
                }
                (t, 0.0)
            };
            let o = out.row(t as usize, d);
            let f = unsafe { dot(neu1, o) };
            let g = (label - sigmoid(f)) * alpha;
            unsafe {
                axpy_from(work, g, o);
                axpy_into(o, g, neu1);
            }
        }
        for &r in rows.iter() {
            unsafe { axpy_into(inp.row(r as usize, d), 1.0, work) };
        }
    }
}
