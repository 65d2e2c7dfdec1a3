//! Keras callbacks: a trait with the Keras hooks, a [`Control`] handle that lets a callback stop
//! training, change the learning rate and read or write weights, and the built-in callbacks.

use crate::history::History;
use crate::logs::Logs;
use crate::model::Model;
use sinew_nn::Layer;
use sinew_optim::Optimizer;
use sinew_tensor::Tensor;

/// What a callback may touch during `fit`.
pub struct Control<'a> {
    /// Set to true to end training after the current epoch (Keras `model.stop_training`).
    pub stop_training: bool,
    /// Set in `on_train_begin` to resume at this epoch (what BackupAndRestore does).
    pub resume_epoch: Option<usize>,
    pub(crate) model: &'a mut Model,
}

impl Control<'_> {
    pub(crate) fn optimizer(&mut self) -> &mut Optimizer {
        &mut self.model.compiled.as_mut().expect("fit runs on a compiled model").optimizer
    }
    pub(crate) fn parts(&mut self) -> (&mut [Box<dyn Layer>], &mut Optimizer) {
        let m = &mut *self.model;
        (&mut m.layers, &mut m.compiled.as_mut().expect("fit runs on a compiled model").optimizer)
    }
    pub fn learning_rate(&mut self) -> f64 {
        self.optimizer().learning_rate()
    }
    pub fn set_learning_rate(&mut self, lr: f64) {
        self.optimizer().set_learning_rate(lr);
    }
    /// Copies of every weight, in layer order (Keras `get_weights`).
    pub fn get_weights(&self) -> Vec<Tensor> {
        self.model.get_weights()
    }
    /// Writes every weight to `path` (a weights-only model file, written atomically).
    pub fn save_weights(&self, path: &std::path::Path) -> crate::Result<()> {
        crate::saving::save_layer_weights(&self.model.layers, path)
    }
    /// Writes the whole model (architecture, compile config, weights, optimizer state) to
    /// `path`, atomically (Keras `model.save`).
    pub fn save_model(&mut self, path: &std::path::Path) -> crate::Result<()> {
        self.model.save(path)
    }
    /// Restores weights taken by [`Control::get_weights`].
    pub fn set_weights(&mut self, w: &[Tensor]) {
        self.model.set_weights(w).expect("weights taken from the same model fit it");
    }
}

/// Keras `Callback`. Every hook has an empty default.
pub trait Callback {
    fn on_train_begin(&mut self, _c: &mut Control) {}
    fn on_train_end(&mut self, _logs: &Logs, _c: &mut Control) {}
    fn on_epoch_begin(&mut self, _epoch: usize, _c: &mut Control) {}
    fn on_epoch_end(&mut self, _epoch: usize, _logs: &Logs, _c: &mut Control) {}
    fn on_train_batch_begin(&mut self, _batch: usize, _c: &mut Control) {}
    fn on_train_batch_end(&mut self, _batch: usize, _logs: &Logs, _c: &mut Control) {}
}

/// Whether larger or smaller values of a monitored quantity are better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Min,
    Max,
    /// `max` for names containing `acc` or `auc`, else `min` (Keras).
    Auto,
}

pub(crate) fn resolve(mode: Mode, monitor: &str) -> Mode {
    match mode {
        Mode::Auto if monitor.contains("acc") || monitor.contains("auc") => Mode::Max,
        Mode::Auto => Mode::Min,
        m => m,
    }
}

fn improves(mode: Mode, current: f64, reference: Option<f64>, min_delta: f64) -> bool {
    match reference {
        None => true,
        Some(r) if mode == Mode::Max => current - min_delta > r,
        Some(r) => current + min_delta < r,
    }
}

/// Keras `EarlyStopping`: stops when `monitor` has not improved by `min_delta` for `patience`
/// epochs; optionally restores the best weights at the end.
#[derive(Clone, Debug)]
pub struct EarlyStopping {
    pub monitor: String,
    pub min_delta: f64,
    pub patience: usize,
    pub mode: Mode,
    pub baseline: Option<f64>,
    pub restore_best_weights: bool,
    pub start_from_epoch: usize,
    wait: usize,
    best: Option<f64>,
    best_weights: Option<Vec<Tensor>>,
    /// The epoch (0-based) at which training was stopped, if it was.
    pub stopped_epoch: Option<usize>,
    pub best_epoch: usize,
}

impl EarlyStopping {
    /// Keras defaults: `min_delta` 0, `patience` 0, `mode` auto, no baseline, no restore.
    pub fn new(monitor: &str) -> Self {
        EarlyStopping {
            monitor: monitor.to_string(),
            min_delta: 0.0,
            patience: 0,
            mode: Mode::Auto,
            baseline: None,
            restore_best_weights: false,
            start_from_epoch: 0,
            wait: 0,
            best: None,
            best_weights: None,
            stopped_epoch: None,
            best_epoch: 0,
        }
    }
    pub fn patience(mut self, p: usize) -> Self {
        self.patience = p;
        self
    }
    pub fn min_delta(mut self, d: f64) -> Self {
        self.min_delta = d.abs();
        self
    }
    pub fn mode(mut self, m: Mode) -> Self {
        self.mode = m;
        self
    }
    pub fn baseline(mut self, b: f64) -> Self {
        self.baseline = Some(b);
        self
    }
    pub fn restore_best_weights(mut self, r: bool) -> Self {
        self.restore_best_weights = r;
        self
    }
    pub fn start_from_epoch(mut self, e: usize) -> Self {
        self.start_from_epoch = e;
        self
    }
}

impl Callback for EarlyStopping {
    fn on_train_begin(&mut self, _c: &mut Control) {
        self.wait = 0;
        self.best = None;
        self.best_weights = None;
        self.stopped_epoch = None;
        self.best_epoch = 0;
    }
    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, c: &mut Control) {
        let Some(current) = logs.get(&self.monitor) else {
            eprintln!(
                "EarlyStopping: monitor {:?} is not in the logs ({:?})",
                self.monitor,
                logs.iter().map(|(k, _)| k).collect::<Vec<_>>()
            );
            return;
        };
        if epoch < self.start_from_epoch {
            return;
        }
        let mode = resolve(self.mode, &self.monitor);
        if self.restore_best_weights && self.best_weights.is_none() {
            self.best_weights = Some(c.get_weights());
            self.best_epoch = epoch;
        }
        self.wait += 1;
        if improves(mode, current, self.best, self.min_delta) {
            self.best = Some(current);
            self.best_epoch = epoch;
            if self.restore_best_weights {
                self.best_weights = Some(c.get_weights());
            }
            if self.baseline.is_none() || improves(mode, current, self.baseline, self.min_delta) {
                self.wait = 0;
            }
            return;
        }
        if self.wait >= self.patience && epoch > 0 {
            self.stopped_epoch = Some(epoch);
            c.stop_training = true;
        }
    }
    fn on_train_end(&mut self, _logs: &Logs, c: &mut Control) {
        if self.restore_best_weights {
            if let Some(w) = self.best_weights.take() {
                c.set_weights(&w);
            }
        }
    }
}

/// Keras `ReduceLROnPlateau`: multiplies the learning rate by `factor` after `patience` epochs
/// without improvement, then waits `cooldown` epochs. Defaults: factor 0.1, patience 10,
/// min_delta 1e-4, cooldown 0, min_lr 0.
#[derive(Clone, Debug)]
pub struct ReduceLrOnPlateau {
    pub monitor: String,
    pub factor: f64,
    pub patience: usize,
    pub min_delta: f64,
    pub cooldown: usize,
    pub min_lr: f64,
    pub mode: Mode,
    wait: usize,
    cooldown_counter: usize,
    best: Option<f64>,
}

impl ReduceLrOnPlateau {
    pub fn new(monitor: &str) -> Self {
        ReduceLrOnPlateau {
            monitor: monitor.to_string(),
            factor: 0.1,
            patience: 10,
            min_delta: 1e-4,
            cooldown: 0,
            min_lr: 0.0,
            mode: Mode::Auto,
            wait: 0,
            cooldown_counter: 0,
            best: None,
        }
    }
    pub fn factor(mut self, f: f64) -> Self {
        assert!(f < 1.0, "ReduceLROnPlateau: factor must be < 1.0, got {f}");
        self.factor = f;
        self
    }
    pub fn patience(mut self, p: usize) -> Self {
        self.patience = p;
        self
    }
    pub fn cooldown(mut self, c: usize) -> Self {
        self.cooldown = c;
        self
    }
    pub fn min_lr(mut self, m: f64) -> Self {
        self.min_lr = m;
        self
    }
    pub fn min_delta(mut self, d: f64) -> Self {
        self.min_delta = d;
        self
    }
}

impl Callback for ReduceLrOnPlateau {
    fn on_train_begin(&mut self, _c: &mut Control) {
        self.wait = 0;
        self.cooldown_counter = 0;
        self.best = None;
    }
    fn on_epoch_end(&mut self, _epoch: usize, logs: &Logs, c: &mut Control) {
        let Some(current) = logs.get(&self.monitor) else { return };
        let mode = resolve(self.mode, &self.monitor);
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.wait = 0;
        }
        if improves(mode, current, self.best, self.min_delta) {
            self.best = Some(current);
            self.wait = 0;
        } else if self.cooldown_counter == 0 {
            self.wait += 1;
            if self.wait >= self.patience {
                let old = c.learning_rate();
                if old > self.min_lr {
                    c.set_learning_rate((old * self.factor).max(self.min_lr));
                    self.cooldown_counter = self.cooldown;
                    self.wait = 0;
                }
            }
        }
    }
}

/// Keras `TerminateOnNaN`: stops as soon as a batch loss is NaN or infinite, and keeps where:
/// `stopped` is `(epoch, batch, loss)`, both counted from 0 as Keras logs them.
#[derive(Clone, Debug, Default)]
pub struct TerminateOnNaN {
    epoch: usize,
    pub stopped: Option<(usize, usize, f64)>,
}

impl TerminateOnNaN {
    pub fn new() -> Self {
        Self::default()
    }
}

impl Callback for TerminateOnNaN {
    fn on_epoch_begin(&mut self, epoch: usize, _c: &mut Control) {
        self.epoch = epoch;
    }
    fn on_train_batch_end(&mut self, batch: usize, logs: &Logs, c: &mut Control) {
        if let Some(l) = logs.get("loss").filter(|l| !l.is_finite()) {
            eprintln!("Epoch {}, batch {batch}: invalid loss {l}, terminating training", self.epoch + 1);
            self.stopped = Some((self.epoch, batch, l));
            c.stop_training = true;
        }
    }
}

/// Keras `LearningRateScheduler`: sets the rate from `f(epoch, current_lr)` at each epoch start.
pub struct LearningRateScheduler<F: FnMut(usize, f64) -> f64>(pub F);

impl<F: FnMut(usize, f64) -> f64> Callback for LearningRateScheduler<F> {
    fn on_epoch_begin(&mut self, epoch: usize, c: &mut Control) {
        let lr = (self.0)(epoch, c.learning_rate());
        c.set_learning_rate(lr);
    }
}

/// Keras `LambdaCallback` for the most common hook: a closure run at every epoch end.
pub struct OnEpochEnd<F: FnMut(usize, &Logs, &mut Control)>(pub F);

impl<F: FnMut(usize, &Logs, &mut Control)> Callback for OnEpochEnd<F> {
    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, c: &mut Control) {
        (self.0)(epoch, logs, c)
    }
}

/// Keras `ModelCheckpoint`: after each epoch, writes the whole model (or, with
/// `save_weights_only`, the weights) to `filepath`, where `{epoch}` is replaced by the 1-based
/// epoch number. With `save_best_only`, only when
/// `monitor` improves. Writes are atomic. A failed write is reported on stderr and stops training,
/// so a run never continues believing it has a checkpoint it does not.
#[derive(Clone, Debug)]
pub struct ModelCheckpoint {
    pub filepath: String,
    pub monitor: String,
    pub save_best_only: bool,
    /// Keras `save_weights_only` (default false: the whole model, loadable with `Model::load`).
    pub save_weights_only: bool,
    pub mode: Mode,
    best: Option<f64>,
    /// Paths written so far, in order.
    pub saved: Vec<std::path::PathBuf>,
}

impl ModelCheckpoint {
    pub fn new(filepath: impl Into<String>) -> Self {
        ModelCheckpoint {
            filepath: filepath.into(),
            monitor: "val_loss".into(),
            save_best_only: false,
            save_weights_only: false,
            mode: Mode::Auto,
            best: None,
            saved: vec![],
        }
    }
    pub fn monitor(mut self, m: &str) -> Self {
        self.monitor = m.to_string();
        self
    }
    pub fn save_best_only(mut self, b: bool) -> Self {
        self.save_best_only = b;
        self
    }
    pub fn save_weights_only(mut self, b: bool) -> Self {
        self.save_weights_only = b;
        self
    }
    pub fn mode(mut self, m: Mode) -> Self {
        self.mode = m;
        self
    }
}

impl Callback for ModelCheckpoint {
    fn on_train_begin(&mut self, _c: &mut Control) {
        self.best = None;
    }
    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, c: &mut Control) {
        if self.save_best_only {
            let Some(current) = logs.get(&self.monitor) else {
                eprintln!("ModelCheckpoint: monitor {:?} is not in the logs; nothing saved", self.monitor);
                return;
            };
            if !improves(resolve(self.mode, &self.monitor), current, self.best, 0.0) {
                return;
            }
            self.best = Some(current);
        }
        let path = std::path::PathBuf::from(self.filepath.replace("{epoch}", &(epoch + 1).to_string()));
        let written = if self.save_weights_only { c.save_weights(&path) } else { c.save_model(&path) };
        match written {
            Ok(()) => self.saved.push(path),
            Err(e) => {
                eprintln!("ModelCheckpoint: {e}; stopping training");
                c.stop_training = true;
            }
        }
    }
}

/// Keras `CSVLogger`: one row per epoch (`epoch` then every logged value) in a CSV file, flushed
/// after each row. The header is written at the first epoch; `append` keeps an existing file.
pub struct CsvLogger {
    path: std::path::PathBuf,
    append: bool,
    file: Option<std::io::BufWriter<std::fs::File>>,
    keys: Vec<String>,
}

impl CsvLogger {
    pub fn new(path: impl Into<std::path::PathBuf>) -> Self {
        CsvLogger { path: path.into(), append: false, file: None, keys: vec![] }
    }
    pub fn append(mut self, a: bool) -> Self {
        self.append = a;
        self
    }
}

impl Callback for CsvLogger {
    fn on_train_begin(&mut self, _c: &mut Control) {
        self.keys.clear();
        let existed = self.path.exists();
        let f = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(self.append)
            .truncate(!self.append)
            .open(&self.path);
        match f {
            Ok(f) => {
                self.file = Some(std::io::BufWriter::new(f));
                if self.append && existed {
                    self.keys = vec!["(existing)".into()];
                }
            }
            Err(e) => eprintln!("CSVLogger: cannot open {}: {e}", self.path.display()),
        }
    }
    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, _c: &mut Control) {
        use std::io::Write;
        let Some(f) = self.file.as_mut() else { return };
        if self.keys.is_empty() {
            self.keys = logs.iter().map(|(k, _)| k.to_string()).collect();
            let _ = writeln!(f, "epoch,{}", self.keys.join(","));
        }
        let row: Vec<String> = logs.iter().map(|(_, v)| v.to_string()).collect();
        if writeln!(f, "{epoch},{}", row.join(",")).and_then(|_| f.flush()).is_err() {
            eprintln!("CSVLogger: cannot write to {}", self.path.display());
        }
    }
    fn on_train_end(&mut self, _logs: &Logs, _c: &mut Control) {
        self.file = None;
    }
}

/// Keras `BackupAndRestore`: after every epoch, backs up the weights, the optimizer state, the
/// epoch number and the model's random generator to `backup_dir` (atomically); at the start of `fit`, restores them if a backup
/// exists and resumes at the next epoch, so a killed fit continues where it stopped. The backup
/// is deleted when a fit finishes normally (`delete_checkpoint`, Keras' default).
#[derive(Clone, Debug)]
pub struct BackupAndRestore {
    pub backup_dir: std::path::PathBuf,
    pub delete_checkpoint: bool,
    /// The epoch a restore resumed at, if one happened in the last fit.
    pub resumed_at: Option<usize>,
    /// The epochs before `resumed_at`, as the killed runs logged them. `fit` returns the
    /// resumed epochs only (as Keras does); `restored_history.then(&history)` is the whole run.
    pub restored_history: History,
    /// Everything logged so far, restored and new: saved with each backup.
    logged: History,
}

impl BackupAndRestore {
    pub fn new(backup_dir: impl Into<std::path::PathBuf>) -> Self {
        BackupAndRestore {
            backup_dir: backup_dir.into(),
            delete_checkpoint: true,
            resumed_at: None,
            restored_history: History::default(),
            logged: History::default(),
        }
    }
    pub fn delete_checkpoint(mut self, d: bool) -> Self {
        self.delete_checkpoint = d;
        self
    }
    fn file(&self) -> std::path::PathBuf {
        self.backup_dir.join("backup.safetensors")
    }
    fn restore(&mut self, c: &mut Control) -> crate::Result<Option<usize>> {
        let path = self.file();
        if !path.exists() {
            return Ok(None);
        }
        let (bytes, meta) = crate::saving::read_state_file(&path)?;
        let st = safetensors::SafeTensors::deserialize(&bytes)
            .map_err(|e| crate::Error::with_kind(crate::ErrorKind::Io, format!("{}: {e:?}", path.display())))?;
        let epoch: usize = meta.get("epoch").and_then(|e| e.parse().ok()).ok_or_else(|| {
            crate::Error::with_kind(crate::ErrorKind::Io, format!("{}: backup without an epoch", path.display()))
        })?;
        let iterations: u64 = meta.get("optimizer_iterations").and_then(|e| e.parse().ok()).unwrap_or(0);
        // Backups written before the generator's state was saved resume with the model's
        // current generator: the run continues, no longer bit for bit.
        let rng = match meta.get("rng") {
            None => None,
            Some(text) => Some(sinew_tensor::RngState::from_hex(text).ok_or_else(|| {
                crate::Error::with_kind(
                    crate::ErrorKind::Io,
                    format!("{}: the backup's generator state {text:?} is not 112 hex digits", path.display()),
                )
            })?),
        };
        // Backups without a history restore an empty one.
        let history = match meta.get("history") {
            None => History::default(),
            Some(text) => serde_json::from_str(text).ok().and_then(|v| History::from_json(&v)).ok_or_else(|| {
                crate::Error::with_kind(
                    crate::ErrorKind::Io,
                    format!("{}: the backup's history is unreadable", path.display()),
                )
            })?,
        };
        let (layers, opt) = c.parts();
        crate::saving::restore_state(layers, Some(&mut *opt), &st, &path)?;
        opt.set_iterations(iterations);
        if let Some(state) = rng {
            c.model.rng = sinew_tensor::Rng::from_state(&state);
        }
        self.restored_history = history.clone();
        self.logged = history;
        Ok(Some(epoch + 1))
    }
}

impl Callback for BackupAndRestore {
    fn on_train_begin(&mut self, c: &mut Control) {
        self.resumed_at = None;
        self.restored_history = History::default();
        self.logged = History::default();
        match self.restore(c) {
            Ok(Some(e)) => {
                self.resumed_at = Some(e);
                c.resume_epoch = Some(e);
            }
            Ok(None) => {}
            Err(e) => {
                eprintln!("BackupAndRestore: cannot restore ({e}); stopping rather than overwriting the backup");
                c.stop_training = true;
            }
        }
    }
    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, c: &mut Control) {
        self.logged.push(epoch, logs);
        let meta = std::collections::HashMap::from([
            ("format".to_string(), "sinew-backup".to_string()),
            ("epoch".to_string(), epoch.to_string()),
            ("optimizer_iterations".to_string(), c.optimizer().iterations().to_string()),
            // The shuffles and dropout masks of the epochs to come are drawn from it.
            ("rng".to_string(), c.model.rng.state().to_hex()),
            ("history".to_string(), self.logged.to_json().to_string()),
        ]);
        let (layers, opt) = c.parts();
        let result = std::fs::create_dir_all(&self.backup_dir)
            .map_err(|e| crate::Error::with_kind(crate::ErrorKind::Io, format!("{}: {e}", self.backup_dir.display())))
            .and_then(|_| crate::saving::write_state(layers, Some(&*opt), meta, &self.file()));
        if let Err(e) = result {
            eprintln!("BackupAndRestore: {e}; stopping training");
            c.stop_training = true;
        }
    }
    fn on_train_end(&mut self, _logs: &Logs, _c: &mut Control) {
        // Reached only when fit returns normally; a killed run never gets here, so its backup stays.
        if self.delete_checkpoint {
            let _ = std::fs::remove_file(self.file());
        }
    }
}

impl Model {
    pub(crate) fn control(&mut self) -> Control<'_> {
        Control { stop_training: false, resume_epoch: None, model: self }
    }
}
