//! Crash safety under real kills (issue 18). A real `sinew train` process with
//! `[fit] backup_and_restore = true` is killed with SIGKILL at random moments 20 times in a row
//! and restarted each time. Checked after every kill: the backup and the model file, where they
//! exist, are whole files (so is the `ModelCheckpoint` file written every epoch); the restart resumes no earlier than the epoch in progress at the kill.
//! At the end: the model file is byte-identical to an uninterrupted run's, and the report holds
//! every epoch.

mod common;

use common::{repo, tmp};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const EPOCHS: usize = 40;
const KILLS: usize = 20;

/// The breast-cancer MLP, wide enough that an epoch takes tens of milliseconds, with dropout
/// (random masks) and shuffling (a random order per epoch), so a resume that restored the
/// weights but not the generator would not reproduce the uninterrupted run.
fn write_spec(dir: &Path) -> PathBuf {
    let spec = format!(
        r#"name = "kill_test"
seed = 3

[data]
source = "sklearn_csv"
path = "datasets/sklearn-small/breast_cancer.csv"
test_size = 0.25
scale = "minmax"

[[model.layers]]
class = "Dense"
units = 512
activation = "relu"

[[model.layers]]
class = "Dropout"
rate = 0.2

[[model.layers]]
class = "Dense"
units = 512
activation = "relu"

[[model.layers]]
class = "Dense"
units = 1
activation = "sigmoid"

[compile]
optimizer = "adam"
learning_rate = 0.0005
loss = "binary_crossentropy"
metrics = ["accuracy"]

[fit]
epochs = {EPOCHS}
batch_size = 8
validation_split = 0.2
backup_and_restore = true

[fit.model_checkpoint]
monitor = "val_loss"
save_best_only = false
"#
    );
    let p = dir.join("kill_test.toml");
    std::fs::write(&p, spec).unwrap();
    p
}

fn train(spec: &Path, out: &Path, log: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_sinew"))
        .args(["train", spec.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .current_dir(repo())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("start sinew train")
}

/// The 0-based epochs whose start the run's log shows ("Epoch k/N" lines).
fn epochs_begun(log: &Path) -> Vec<usize> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.strip_prefix("Epoch ")?.split('/').next()?.parse::<usize>().ok())
        .map(|k| k - 1)
        .collect()
}

/// The epoch a backup file records, after checking that it is a whole safetensors file with
/// every tensor inside it.
fn backup_epoch(path: &Path) -> Option<usize> {
    let bytes = std::fs::read(path).ok()?;
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes)
        .unwrap_or_else(|e| panic!("{} is corrupt after a kill: {e:?}", path.display()));
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert!(st.len() > 0, "{}: a backup without tensors", path.display());
    let epoch = meta.metadata().as_ref().and_then(|m| m.get("epoch")).expect("a backup names its epoch");
    Some(epoch.parse().unwrap())
}

/// A tiny xorshift for the kill moments: seeded, so the schedule is the same each run (the
/// moments the kills land on still vary with the machine's timing).
struct Moments(u64);
impl Moments {
    fn next_ms(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        lo + self.0 % (hi - lo)
    }
}

#[test]
fn twenty_sigkills_lose_at_most_the_epoch_in_progress_and_change_no_bit() {
    let dir = tmp("run");
    let spec = write_spec(&dir);

    // The uninterrupted run, for the final comparison and to time the kills: its start-up
    // (until the first epoch begins) and its epochs.
    let whole = dir.join("whole");
    let whole_log = dir.join("whole.log");
    let began = Instant::now();
    let mut child = train(&spec, &whole, &whole_log);
    let mut startup_ms = None;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if startup_ms.is_none() && !epochs_begun(&whole_log).is_empty() {
            startup_ms = Some(began.elapsed().as_millis() as u64);
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let full_ms = began.elapsed().as_millis() as u64;
    assert!(status.success(), "{}", std::fs::read_to_string(&whole_log).unwrap());
    let startup_ms = startup_ms.unwrap_or(full_ms / 2);
    let epoch_ms = (full_ms - startup_ms) / EPOCHS as u64;
    assert!(!whole.join("backup").exists(), "a finished run removes its backup");

    let out = dir.join("killed");
    let backup = out.join("backup/backup.safetensors");
    let mut moments = Moments(0x5eed_1234_u64);
    let mut lost = vec![];
    let mut killed_in = vec![];
    let mut checked_files = 0;
    let mut in_progress: Option<usize> = None;
    let mut kills = 0;
    let mut restarts = 0;
    loop {
        let log = dir.join(format!("run{restarts}.log"));
        let mut child = train(&spec, &out, &log);
        restarts += 1;
        let resumed = |log: &Path| epochs_begun(log).first().copied();
        if kills == KILLS {
            assert!(child.wait().unwrap().success(), "{}", std::fs::read_to_string(&log).unwrap());
            if let (Some(p), Some(r)) = (in_progress, resumed(&log)) {
                lost.push(p.saturating_sub(r));
            }
            break;
        }
        // A moment in start-up or in the next four epochs: about 20 kills fit in one run's
        // epochs, and a run that reaches the end is killed while it saves and reports.
        let wait = Duration::from_millis(moments.next_ms(10, startup_ms + 4 * epoch_ms + 20));
        let t = Instant::now();
        let mut finished = false;
        while t.elapsed() < wait {
            if child.try_wait().unwrap().is_some() {
                finished = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        if finished {
            // The run ended before its moment: nothing to kill; it must have succeeded.
            assert!(child.try_wait().unwrap().unwrap().success(), "{}", std::fs::read_to_string(&log).unwrap());
            std::fs::remove_dir_all(&out).unwrap();
            in_progress = None;
            continue;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
        // This run resumed at its first epoch; the previous kill left `in_progress` running.
        if let (Some(p), Some(r)) = (in_progress, resumed(&log)) {
            assert!(r >= p, "kill {kills}: resumed at epoch {r}, but epoch {p} was in progress at the last kill");
            lost.push(p - r.min(p));
        }
        in_progress = epochs_begun(&log).last().copied().or(in_progress);
        killed_in.push(in_progress);
        if let Some(e) = backup_epoch(&backup) {
            if let Some(p) = in_progress {
                assert!(e + 1 >= p, "kill {kills}: epoch {p} was in progress but the backup holds epoch {e}");
            }
        }
        for file in ["model.sinew", "checkpoint.sinew"] {
            let path = out.join(file);
            if path.exists() {
                sinew::train::Model::load(&path)
                    .unwrap_or_else(|e| panic!("kill {kills}: {file} is corrupt after a kill: {e}"));
                checked_files += 1;
            }
        }
    }
    eprintln!(
        "{kills} kills over {restarts} starts (start-up {startup_ms} ms, {epoch_ms} ms an epoch); \
         killed in epochs {killed_in:?}; finished epochs lost per resume: {lost:?}; \
         {checked_files} model and checkpoint files found after kills, all whole"
    );
    assert!(lost.iter().all(|&l| l == 0), "lost epochs: {lost:?}");
    assert!(!backup.exists(), "the finished run removed its backup");

    let a = std::fs::read(whole.join("model.sinew")).unwrap();
    let b = std::fs::read(out.join("model.sinew")).unwrap();
    assert!(a == b, "the killed and restarted run's model differs from the uninterrupted one");
    let run: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    let whole_run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(whole.join("run.json")).unwrap()).unwrap();
    assert_eq!(run["models"][0]["history"], whole_run["models"][0]["history"], "the report lost epochs");
}
