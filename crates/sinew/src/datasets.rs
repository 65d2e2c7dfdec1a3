//! Datasets that ship inside the crate, so examples and the demo run offline.

use flate2::read::GzDecoder;
use std::io::Read;

/// An in-memory classification dataset: `x` is row-major `[n, features]`, `y` holds class ids.
#[derive(Clone, Debug)]
pub struct Labeled {
    pub x: Vec<f32>,
    pub y: Vec<usize>,
    pub features: usize,
    pub classes: usize,
}

/// The 8x8 digits set (scikit-learn's `load_digits`), scaled to [0, 1]: 1,797 rows, 64 features,
/// 10 classes. Built into the binary; see `crates/sinew/data/README.md` for its source and license.
pub fn load_digits() -> Result<Labeled, String> {
    static GZ: &[u8] = include_bytes!("../data/digits.csv.gz");
    let mut text = String::new();
    GzDecoder::new(GZ)
        .read_to_string(&mut text)
        .map_err(|e| format!("digits: cannot decompress the built-in data: {e}"))?;
    let (mut x, mut y) = (Vec::with_capacity(1797 * 64), Vec::with_capacity(1797));
    for (i, line) in text.lines().enumerate() {
        let vals: Vec<&str> = line.split(',').collect();
        if vals.len() != 65 {
            return Err(format!("digits: line {} has {} fields, expected 65", i + 1, vals.len()));
        }
        for v in &vals[..64] {
            let p: f32 = v.trim().parse().map_err(|_| format!("digits: line {}: bad pixel value {v:?}", i + 1))?;
            x.push(p / 16.0);
        }
        let label: usize =
            vals[64].trim().parse().map_err(|_| format!("digits: line {}: bad label {:?}", i + 1, vals[64]))?;
        if label > 9 {
            return Err(format!("digits: line {}: label {label} is not a digit", i + 1));
        }
        y.push(label);
    }
    Ok(Labeled { x, y, features: 64, classes: 10 })
}
