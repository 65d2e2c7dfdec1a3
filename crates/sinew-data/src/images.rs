//! Keras `image_dataset_from_directory`: one sub-folder per class, images decoded (PNG, JPEG),
//! resized and batched lazily as a [`Dataset`], so a folder larger than memory streams.

use crate::error::{Error, Result};
use crate::pipeline::{Dataset, Element};
use sinew_tensor::{Rng, Tensor};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Which part of a split [`image_dataset_from_directory`] returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subset {
    Training,
    Validation,
}

/// Options with Keras' defaults: RGB, 256x256, batch 32, shuffled, no validation split.
#[derive(Clone, Debug)]
pub struct ImageFolder {
    pub image_size: (usize, usize),
    /// 1 (grayscale), 3 (RGB) or 4 (RGBA).
    pub channels: usize,
    pub batch_size: usize,
    pub shuffle: bool,
    pub seed: u64,
    pub validation_split: Option<(f64, Subset)>,
}

impl Default for ImageFolder {
    fn default() -> Self {
        ImageFolder {
            image_size: (256, 256),
            channels: 3,
            batch_size: 32,
            shuffle: true,
            seed: 0,
            validation_split: None,
        }
    }
}

/// The class names (sorted sub-folder names) and the dataset of `(image, class id)` batches:
/// images are `[batch, height, width, channels]` with values 0..255, labels `[batch]` ids.
#[derive(Clone, Debug)]
pub struct ImageDataset {
    pub class_names: Vec<String>,
    pub files: Vec<(PathBuf, usize)>,
    pub dataset: Dataset,
}

/// Whether `p` names a file [`image_dataset_from_directory`] reads (`.png`, `.jpg`, `.jpeg`).
pub fn is_image_file(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref(),
        Some("png" | "jpg" | "jpeg")
    )
}

/// Decodes one image into `[height, width, channels]`, resized with bilinear filtering.
pub fn load_image(path: &Path, size: (usize, usize), channels: usize) -> Result<Tensor> {
    load_image_bounded(path, size, channels, crate::idx::max_input_bytes())
}

/// [`load_image`] with the limit on a decoded image's size: the dimensions its header declares
/// are checked (4 bytes a pixel) before anything is decoded.
fn load_image_bounded(path: &Path, size: (usize, usize), channels: usize, limit: u64) -> Result<Tensor> {
    let (w0, h0) =
        image::image_dimensions(path).map_err(|e| Error::format(path, format!("cannot decode image: {e}")))?;
    let bytes = u64::from(w0) * u64::from(h0) * 4;
    if bytes > limit {
        return Err(Error::format(
            path,
            format!(
                "the image declares {w0}x{h0} pixels, {bytes} bytes decoded, past the limit of {limit} bytes on a data file's decompressed size (set SINEW_MAX_INPUT_BYTES to raise it)"
            ),
        ));
    }
    let img = image::open(path).map_err(|e| Error::format(path, format!("cannot decode image: {e}")))?;
    let (h, w) = size;
    let img = if img.height() as usize != h || img.width() as usize != w {
        img.resize_exact(w as u32, h as u32, image::imageops::FilterType::Triangle)
    } else {
        img
    };
    let data: Vec<f32> = match channels {
        1 => img.to_luma8().into_raw().into_iter().map(f32::from).collect(),
        3 => img.to_rgb8().into_raw().into_iter().map(f32::from).collect(),
        4 => img.to_rgba8().into_raw().into_iter().map(f32::from).collect(),
        c => return Err(Error::invalid(format!("load_image: channels must be 1, 3 or 4, got {c}"))),
    };
    Ok(Tensor::from_vec(data, [h, w, channels]))
}

/// Keras `image_dataset_from_directory(dir, labels="inferred", label_mode="int")`. Files are
/// listed per class in name order; with `shuffle` (or a validation split) they are permuted by
/// `seed` first, as Keras does, so the training and validation subsets of the same seed are
/// disjoint. A folder without classes or images, or a file that does not decode, is an error
/// naming it.
pub fn image_dataset_from_directory(dir: impl AsRef<Path>, o: &ImageFolder) -> Result<ImageDataset> {
    let dir = dir.as_ref();
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut classes: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_dir()).collect();
    classes.sort();
    if classes.is_empty() {
        return Err(Error::format(dir, "no class sub-folders (expected one folder per class)"));
    }
    let class_names: Vec<String> =
        classes.iter().map(|p| p.file_name().unwrap_or_default().to_string_lossy().into_owned()).collect();
    let mut files = vec![];
    for (id, c) in classes.iter().enumerate() {
        let mut imgs: Vec<PathBuf> = std::fs::read_dir(c)
            .map_err(|e| Error::io(c, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && is_image_file(p))
            .collect();
        imgs.sort();
        files.extend(imgs.into_iter().map(|p| (p, id)));
    }
    if files.is_empty() {
        return Err(Error::format(dir, format!("no .png/.jpg images in the class folders {class_names:?}")));
    }
    if o.shuffle || o.validation_split.is_some() {
        Rng::seed(o.seed).shuffle(&mut files);
    }
    if let Some((fraction, subset)) = o.validation_split {
        if !(fraction > 0.0 && fraction < 1.0) {
            return Err(Error::invalid(format!(
                "image_dataset_from_directory: validation_split must be in (0, 1), got {fraction}"
            )));
        }
        let n_val = (files.len() as f64 * fraction) as usize;
        let cut = files.len() - n_val;
        files = match subset {
            Subset::Training => files[..cut].to_vec(),
            Subset::Validation => files[cut..].to_vec(),
        };
    }
    let list = Arc::new(files.clone());
    let (size, channels) = (o.image_size, o.channels);
    let n = list.len();
    let mut ds = Dataset::from_tensor_slices(&[Tensor::from_vec((0..n).map(|i| i as f32).collect(), [n])], &[])?;
    if o.shuffle {
        ds = ds.shuffle(n, o.seed.wrapping_add(1));
    }
    let ds = ds.map(move |e| {
        let i = e.x[0].to_vec_f32()[0] as usize;
        let (path, id) = &list[i];
        Ok(Element { x: vec![load_image(path, size, channels)?], y: vec![Tensor::from_vec(vec![*id as f32], [])] })
    });
    Ok(ImageDataset { class_names, files, dataset: ds.batch(o.batch_size, false) })
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_image_declaring_huge_dimensions_is_refused_from_its_header() {
        // A PNG signature and an IHDR chunk claiming 100,000 x 100,000 RGBA pixels, no data.
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend(100_000u32.to_be_bytes());
        ihdr.extend(100_000u32.to_be_bytes());
        ihdr.extend([8, 6, 0, 0, 0]);
        let mut crc = flate2::Crc::new();
        crc.update(&ihdr);
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend(13u32.to_be_bytes());
        png.extend(&ihdr);
        png.extend(crc.sum().to_be_bytes());
        // The decoder reads the header up to the first data chunk: a short IDAT, then IEND.
        for (kind, data) in [(&b"IDAT"[..], &[0x78u8, 0x9c][..]), (&b"IEND"[..], &[][..])] {
            let mut c = flate2::Crc::new();
            c.update(kind);
            c.update(data);
            png.extend((data.len() as u32).to_be_bytes());
            png.extend(kind);
            png.extend(data);
            png.extend(c.sum().to_be_bytes());
        }
        let dir = std::env::temp_dir().join(format!("sinew-huge-png-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("huge.png");
        std::fs::write(&path, png).unwrap();
        let e = super::load_image_bounded(&path, (28, 28), 1, crate::idx::DEFAULT_MAX_INPUT_BYTES).unwrap_err();
        assert!(
            e.message.contains("declares 100000x100000 pixels") && e.message.contains("SINEW_MAX_INPUT_BYTES"),
            "{}",
            e.message
        );
    }

    use super::*;

    fn write_png(path: &Path, w: u32, h: u32, value: u8) {
        image::RgbImage::from_pixel(w, h, image::Rgb([value, value / 2, 255 - value])).save(path).unwrap();
    }

    #[test]
    fn image_folder_classes_split_and_batches() {
        let root = std::env::temp_dir().join(format!("sinew-images-{}", std::process::id()));
        for (class, v) in [("cats", 10u8), ("dogs", 200)] {
            std::fs::create_dir_all(root.join(class)).unwrap();
            for k in 0..5 {
                write_png(&root.join(class).join(format!("{k}.png")), 8 + k, 6, v);
            }
        }
        std::fs::write(root.join("cats/notes.txt"), "not an image").unwrap();
        let o = ImageFolder { image_size: (4, 4), batch_size: 4, seed: 3, ..Default::default() };
        let all = image_dataset_from_directory(&root, &o).unwrap();
        assert_eq!(all.class_names, ["cats", "dogs"]);
        assert_eq!(all.files.len(), 10);
        let batches = crate::pipeline::collect(&all.dataset).unwrap();
        assert_eq!(batches.len(), 3);
        assert_eq!(batches[0].x[0].dims(), [4, 4, 4, 3]);
        // Each image's red channel tells its class: 10 for cats (id 0), 200 for dogs (id 1).
        for b in &batches {
            let (x, y) = (b.x[0].to_vec_f32(), b.y[0].to_vec_f32());
            for (k, &id) in y.iter().enumerate() {
                assert_eq!(x[k * 48], if id == 0.0 { 10.0 } else { 200.0 });
            }
        }
        let split = |s| ImageFolder { validation_split: Some((0.2, s)), ..o.clone() };
        let train = image_dataset_from_directory(&root, &split(Subset::Training)).unwrap();
        let val = image_dataset_from_directory(&root, &split(Subset::Validation)).unwrap();
        assert_eq!((train.files.len(), val.files.len()), (8, 2));
        assert!(val.files.iter().all(|f| !train.files.contains(f)));
        let gray = ImageFolder { channels: 1, ..o.clone() };
        let g = crate::pipeline::collect(&image_dataset_from_directory(&root, &gray).unwrap().dataset).unwrap();
        assert_eq!(g[0].x[0].dims(), [4, 4, 4, 1]);
        // A corrupt image is an error naming the file, when its batch is read.
        std::fs::write(root.join("dogs/9.png"), b"not a png").unwrap();
        let bad = image_dataset_from_directory(&root, &ImageFolder { shuffle: false, ..o.clone() }).unwrap();
        let e = crate::pipeline::collect(&bad.dataset).unwrap_err();
        assert!(e.message.contains("dogs/9.png: cannot decode image"), "{}", e.message);
        assert!(image_dataset_from_directory(root.join("cats"), &o)
            .unwrap_err()
            .message
            .contains("no class sub-folders"));
    }
}
