//! Locating and loading the datasets the examples use: MNIST (IDX) and the scikit-learn tabular
//! CSVs (a shape header line, then rows of features and an integer target).

use crate::error::{Error, ErrorKind, Result};
use crate::idx::read_idx_u8;
use sinew_tensor::Tensor;
use std::path::{Path, PathBuf};

/// Finds the folder of dataset `name`: `$SINEW_DATA_DIR/name` if the variable is set, else
/// `shared/data/name` in the current directory or any ancestor (the layout of this project's
/// checkout), else `~/.cache/sinew/datasets/name`. The error lists every place it looked.
pub fn find_dataset(name: &str) -> Result<PathBuf> {
    let mut tried = vec![];
    if let Ok(root) = std::env::var("SINEW_DATA_DIR") {
        let p = Path::new(&root).join(name);
        if p.is_dir() {
            return Ok(p);
        }
        tried.push(p);
    }
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            for cand in [dir.join("shared/data").join(name), dir.join("../shared/data").join(name)] {
                if cand.is_dir() {
                    return Ok(cand);
                }
            }
        }
        tried.push(cwd.join("../shared/data").join(name));
    }
    if let Some(home) = std::env::var_os("HOME") {
        let p = Path::new(&home).join(".cache/sinew/datasets").join(name);
        if p.is_dir() {
            return Ok(p);
        }
        tried.push(p);
    }
    let list: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
    Err(Error {
        kind: ErrorKind::Io,
        row: None,
        file: None,
        message: format!("dataset {name:?} not found; looked in: {} (set SINEW_DATA_DIR)", list.join(", ")),
    })
}

/// MNIST as Keras `mnist.load_data()` gives it: images `[n, 28, 28]` with raw values 0..255 (as
/// f32) and labels `[n]` (class ids as f32).
#[derive(Clone, Debug)]
pub struct Mnist {
    pub x_train: Tensor,
    pub y_train: Tensor,
    pub x_test: Tensor,
    pub y_test: Tensor,
}

fn idx_file(dir: &Path, stem: &str) -> Result<PathBuf> {
    for name in [format!("{stem}.gz"), stem.to_string(), stem.replace("-idx", ".idx")] {
        let p = dir.join(&name);
        if p.is_file() {
            return Ok(p);
        }
    }
    Err(Error::io(&dir.join(format!("{stem}.gz")), "file not found"))
}

fn images_and_labels(dir: &Path, images: &str, labels: &str) -> Result<(Tensor, Tensor)> {
    let (ip, lp) = (idx_file(dir, images)?, idx_file(dir, labels)?);
    let im = read_idx_u8(&ip)?;
    let lb = read_idx_u8(&lp)?;
    if im.dims.len() != 3 {
        return Err(Error::format(&ip, format!("expected 3 image dimensions [n, rows, cols], got {:?}", im.dims)));
    }
    if lb.dims.len() != 1 || lb.dims[0] != im.dims[0] {
        return Err(Error::format(&lp, format!("expected {} labels, got dimensions {:?}", im.dims[0], lb.dims)));
    }
    if let Some(bad) = lb.data.iter().find(|&&l| l > 9) {
        return Err(Error::format(&lp, format!("label {bad} is not a digit 0..9")));
    }
    let x = Tensor::from_vec(im.data.iter().map(|&v| v as f32).collect(), im.dims.clone());
    let y = Tensor::from_vec(lb.data.iter().map(|&v| v as f32).collect(), [lb.dims[0]]);
    Ok((x, y))
}

/// Loads MNIST (or Fashion-MNIST, same file names) from `dir`, gzipped or raw IDX.
pub fn load_mnist(dir: &Path) -> Result<Mnist> {
    let (x_train, y_train) = images_and_labels(dir, "train-images-idx3-ubyte", "train-labels-idx1-ubyte")?;
    let (x_test, y_test) = images_and_labels(dir, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")?;
    Ok(Mnist { x_train, y_train, x_test, y_test })
}

/// A scikit-learn bundled CSV (`iris.csv`, `breast_cancer.csv`, `wine_data.csv`): the first line
/// is `n_samples,n_features,class names...`, then `n_samples` rows of features and a class id.
/// Returns features `[n, d]` and targets `[n]`.
pub fn load_sklearn_csv(path: &Path) -> Result<(Tensor, Tensor)> {
    let raw = crate::csv_stream::read_text_bounded(path)?;
    let text = String::from_utf8(raw).map_err(|_| Error::format(path, "not UTF-8 text"))?;
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or_else(|| Error::format(path, "empty file"))?;
    let h: Vec<&str> = header.split(',').collect();
    let parse_usize = |s: &str, what: &str| {
        s.trim().parse::<usize>().map_err(|_| Error::format(path, format!("line 1: {what} {s:?} is not a count")))
    };
    if h.len() < 2 {
        return Err(Error::format(path, format!("line 1: expected `n_samples,n_features,...`, got {header:?}")));
    }
    let (n, d) = (parse_usize(h[0], "n_samples")?, parse_usize(h[1], "n_features")?);
    // The header's counts are claims: room is taken for what the file can hold, at most.
    let (mut x, mut y) =
        (Vec::with_capacity(n.saturating_mul(d).min(text.len())), Vec::with_capacity(n.min(text.len())));
    for (i, line) in lines {
        let vals: Vec<&str> = line.split(',').collect();
        if vals.len() != d + 1 {
            return Err(Error::format(
                path,
                format!("line {}: {} fields, expected {} features and a target", i + 1, vals.len(), d),
            ));
        }
        for v in &vals {
            let f: f32 =
                v.trim().parse().map_err(|_| Error::format(path, format!("line {}: {v:?} is not a number", i + 1)))?;
            if !f.is_finite() {
                return Err(Error::format(path, format!("line {}: value {v:?} is not finite", i + 1)));
            }
            if x.len() < (y.len() + 1) * d {
                x.push(f);
            } else {
                y.push(f);
            }
        }
    }
    if y.len() != n {
        return Err(Error::format(path, format!("header says {n} samples, found {}", y.len())));
    }
    Ok((Tensor::from_vec(x, [n, d]), Tensor::from_vec(y, [n])))
}
