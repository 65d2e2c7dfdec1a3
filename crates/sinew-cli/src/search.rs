//! `sinew train` on a spec with `[search]`: the data loaded once, every trial built from the
//! spec with its values and fitted with early stopping on the objective (the library's
//! `Tuner`), the trials written as `trials.csv`, then the best trial's spec trained as any spec
//! is, with the search's table and charts in its report.

use crate::output::Out;
use crate::spec::Spec;
use crate::train::{build_model, load_task, prepare, Prepared};
use anyhow::{Context, Result};
use sinew::report::SearchRecord;
use sinew::train::HParams;

pub fn train(mut spec: Spec, out: Out, epochs_override: Option<usize>) -> Result<Vec<(String, f64)>> {
    let search = spec.search.take().expect("train routes only a spec with [search] here");
    let task = load_task(&spec)?;
    let Prepared { x_train, y_train, x_test, y_test, features } = prepare(&spec, &task)?;
    let tuner = search.tuner(spec.seed);
    let plan = tuner.plan();
    out.say(format!(
        "{}: {}\nsearch: {} trials ranked by {}, {} at once",
        spec.name,
        task.description,
        plan.len(),
        search.objective,
        search.workers
    ));
    // Each trial's fit settings, from its spec (every combination was checked when the spec
    // was read).
    let mut fits = vec![];
    for p in &plan {
        fits.push((p.clone(), search.trial(&spec.path, p)?.fit));
    }
    let to_train = |e: anyhow::Error| sinew::train::Error::new(format!("{e:#}"));
    let result = tuner.search(
        &x_train,
        &y_train,
        |p: &HParams| {
            let mut s = search.trial(&spec.path, p).map_err(to_train)?;
            // The run's seed (`--seed` overrides the file's), as the best trial's retraining uses.
            s.seed = spec.seed;
            build_model(&mut s, features).map_err(to_train)
        },
        |p, f| {
            let fit = &fits.iter().find(|(q, _)| q == p).expect("every planned trial has its fit").1;
            let f = f
                .epochs(epochs_override.unwrap_or(fit.epochs))
                .batch_size(fit.batch_size)
                .validation_split(fit.validation_split)
                .verbose(0);
            if fit.validate_on_test {
                f.validation_data(&x_test, &y_test)
            } else {
                f
            }
        },
        |t| {
            out.say(format!(
                "trial {}: {} {:.4} at epoch {} of {} ({:.2} s)",
                t.params, search.objective, t.score, t.best_epoch, t.epochs_run, t.seconds
            ))
        },
    )?;
    out.say(result.table());
    std::fs::create_dir_all(&spec.output_dir)
        .with_context(|| format!("cannot create the run directory {}", spec.output_dir.display()))?;
    let csv = spec.output_dir.join("trials.csv");
    sinew::train::write_atomic(&csv, result.to_csv().as_bytes())
        .with_context(|| format!("cannot write {}", csv.display()))?;
    let best = &result.trials[0].params;
    out.say(format!("best: {best}; training it with the spec's fit"));
    let mut best_spec = search.trial(&spec.path, best)?;
    best_spec.seed = spec.seed;
    best_spec.output_dir = spec.output_dir.clone();
    crate::train::run(best_spec, task, out, epochs_override, Some(SearchRecord::from_result(&result)))
}
