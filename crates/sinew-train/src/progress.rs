//! The Keras progress display: `Epoch 1/5`, then `469/469 ━━━━━━ 3s 5ms/step - loss: 0.44 - ...`.
//! A live bar on a terminal (verbose 1), one line per epoch otherwise (verbose 2, or when stderr is
//! not a terminal), nothing at verbose 0. Everything goes to stderr.

use crate::logs::Logs;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Instant;

pub(crate) struct Progress {
    live: bool,
    lines: bool,
    bar: Option<ProgressBar>,
    start: Instant,
    steps: usize,
}

fn fmt_logs(logs: &Logs) -> String {
    logs.iter().map(|(k, v)| format!(" - {k}: {v:.4}")).collect()
}

impl Progress {
    pub(crate) fn new(verbose: u8) -> Self {
        let tty = std::io::stderr().is_terminal();
        Progress {
            live: verbose == 1 && tty,
            lines: verbose == 2 || (verbose == 1 && !tty),
            bar: None,
            start: Instant::now(),
            steps: 0,
        }
    }

    pub(crate) fn epoch_begin(&mut self, epoch: usize, epochs: usize, steps: usize) {
        self.start = Instant::now();
        self.steps = steps;
        if self.live || self.lines {
            eprintln!("Epoch {}/{epochs}", epoch + 1);
        }
        if self.live {
            let bar = ProgressBar::with_draw_target(Some(steps as u64), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{pos:>5}/{len} {bar:20} ETA: {eta}{msg}").unwrap().progress_chars("━━─"),
            );
            self.bar = Some(bar);
        }
    }

    pub(crate) fn batch_end(&mut self, step: usize, logs: &Logs) {
        if let Some(bar) = &self.bar {
            bar.set_position(step as u64);
            bar.set_message(fmt_logs(logs));
        }
    }

    pub(crate) fn epoch_end(&mut self, logs: &Logs) {
        let secs = self.start.elapsed().as_secs_f64();
        let per_step = secs * 1e3 / self.steps.max(1) as f64;
        let line = format!(
            "{:>5}/{} {} {:.0}s {:.0}ms/step{}",
            self.steps,
            self.steps,
            "━".repeat(20),
            secs,
            per_step,
            fmt_logs(logs)
        );
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if self.live || self.lines {
            eprintln!("{line}");
        }
    }
}
