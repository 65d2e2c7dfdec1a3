//! The documents name only what exists (issue 22): every file path written in backticks in
//! `README.md`, `ARCHITECTURE.md`, `BENCHMARKS.md` and `RELIABILITY.md`, and every `--example X` / `-p X` of the
//! commands they show, must be in the repository (or in `../shared`, which CI puts beside it).

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// Every file under `dir`, skipping build output and hidden folders.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with('.') || name == "target" {
            continue;
        }
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// The spans between backticks.
fn code_spans(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// Files a run writes (the demo, `sinew train`, the examples), which the docs describe but the
/// repository does not hold.
const WRITTEN_BY_RUNS: &[&str] =
    &["report.html", "run.json", "model.sinew", "checkpoint.sinew", "history.csv", "rows.csv", "trials.csv"];

fn looks_like_path(s: &str) -> bool {
    let exts = [".rs", ".md", ".py", ".toml", ".json", ".csv", ".sh", ".sinew", ".html", ".jsonl"];
    !s.contains(char::is_whitespace)
        && !s.contains(['<', '>', '*', '{', '}', '(', ')', '='])
        && (exts.iter().any(|e| s.ends_with(e)) || (s.contains('/') && !s.contains("::") && !s.starts_with("--")))
}

#[test]
fn docs_name_only_files_examples_and_packages_that_exist() {
    let root = repo();
    let shared = root.join("../shared");
    assert!(shared.join("data/MANIFEST.md").is_file(), "../shared must be beside the repository");
    let mut all = vec![];
    files(&root, &mut all);
    files(&shared, &mut all);
    let names: Vec<String> =
        all.iter().filter_map(|p| p.file_name()).map(|n| n.to_string_lossy().to_string()).collect();
    let crates: Vec<String> = std::fs::read_dir(root.join("crates"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    let mut missing = vec![];
    let (mut paths, mut commands) = (0, 0);
    for doc in ["README.md", "ARCHITECTURE.md", "BENCHMARKS.md", "RELIABILITY.md"] {
        let text = std::fs::read_to_string(root.join(doc)).unwrap();
        for span in code_spans(&text) {
            // Commands: the examples and packages they name.
            let words: Vec<&str> = span.split_whitespace().collect();
            for w in words.windows(2) {
                commands += usize::from(w[0] == "--example" || w[0] == "-p");
                let ok = match w[0] {
                    // The workspace's examples, or one of a crate's own (`-p sinew-tensor --example ...`).
                    "--example" => {
                        let file = format!("{}.rs", w[1]);
                        root.join("examples").join(&file).is_file()
                            || crates.iter().any(|c| root.join("crates").join(c).join("examples").join(&file).is_file())
                    }
                    "-p" => crates.iter().any(|c| c == w[1]),
                    _ => true,
                };
                if !ok {
                    missing.push(format!("{doc}: {} {}", w[0], w[1]));
                }
            }
            if span.contains(' ') {
                continue;
            }
            let p = span.trim_end_matches([':', ',', '.']).trim_end_matches('/');
            if !looks_like_path(p) || p.starts_with("http") || p.starts_with('$') || p.starts_with('~') {
                continue;
            }
            let file = Path::new(p).file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            if WRITTEN_BY_RUNS.contains(&file.as_str()) || p.starts_with("/tmp/") {
                continue;
            }
            paths += 1;
            let found = if p.contains('/') {
                // From the repository root, from a crate, or (../shared) beside the repository.
                root.join(p).exists()
                    || root.join("..").join(p).exists()
                    || crates.iter().any(|c| root.join("crates").join(c).join(p).exists())
                    || crates.iter().any(|c| root.join("crates").join(c).join("src").join(p).exists())
            } else {
                names.contains(&file)
            };
            if !found {
                missing.push(format!("{doc}: `{p}`"));
            }
        }
    }
    assert!(missing.is_empty(), "the docs name what does not exist:\n{}", missing.join("\n"));
    // The walk found what the documents mention (it would pass vacuously if it found nothing).
    assert!(paths >= 50 && commands >= 5, "only {paths} paths and {commands} commands checked");
    eprintln!("{paths} paths and {commands} commands checked");
}
