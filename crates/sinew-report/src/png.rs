//! Writing charts: SVG as is, PNG rendered by resvg with the system's fonts, with the chart's
//! title stored in the PNG's `Title` text chunk. Files are written atomically (a temporary file in
//! the same folder, then a rename), so a crash never leaves half a chart.

use crate::error::{Error, Result};
use crate::plot::Plot;
use std::path::Path;
use std::sync::OnceLock;

/// Writes `bytes` to `path` through a temporary sibling, fsynced, and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let name = path.file_name().ok_or_else(|| Error::io(path, "not a file path"))?;
    let tmp = path.with_file_name(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(&tmp, e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

fn fonts() -> &'static resvg::usvg::Options<'static> {
    static OPTIONS: OnceLock<resvg::usvg::Options<'static>> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        let mut o = resvg::usvg::Options::default();
        o.fontdb_mut().load_system_fonts();
        o
    })
}

/// Renders an SVG document to PNG bytes at its own size (`scale` 2 for a sharp image on a
/// high-density screen), with `title` in the `Title` text chunk.
pub fn render_png(svg: &str, title: &str, scale: f32) -> Result<Vec<u8>> {
    let opts = fonts();
    if opts.fontdb.is_empty() {
        return Err(Error::invalid("render_png: no system fonts found for the chart text (install fonts-dejavu-core)"));
    }
    let tree =
        resvg::usvg::Tree::from_str(svg, opts).map_err(|e| Error::invalid(format!("render_png: bad SVG: {e}")))?;
    let size = tree.size();
    let (w, h) = ((size.width() * scale).ceil() as u32, (size.height() * scale).ceil() as u32);
    let mut pixmap = resvg::tiny_skia::Pixmap::new(w, h)
        .ok_or_else(|| Error::invalid(format!("render_png: cannot make a {w}x{h} image")))?;
    resvg::render(&tree, resvg::tiny_skia::Transform::from_scale(scale, scale), &mut pixmap.as_mut());
    let mut out = vec![];
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        enc.add_text_chunk("Title".into(), title.into()).map_err(|e| Error::invalid(format!("render_png: {e}")))?;
        enc.add_text_chunk("Software".into(), "sinew".into())
            .map_err(|e| Error::invalid(format!("render_png: {e}")))?;
        let mut writer = enc.write_header().map_err(|e| Error::invalid(format!("render_png: {e}")))?;
        // The background is opaque white, so premultiplied and straight alpha agree.
        writer.write_image_data(pixmap.data()).map_err(|e| Error::invalid(format!("render_png: {e}")))?;
    }
    Ok(out)
}

/// Saves `plot` as SVG or PNG, chosen by the extension of `path`.
pub fn save_plot(plot: &Plot, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let svg = plot.to_svg();
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("svg") => write_atomic(path, svg.as_bytes()),
        Some("png") => write_atomic(path, &render_png(&svg, &plot.title, 2.0)?),
        other => Err(Error::io(path, format!("unknown chart format {other:?}; use .svg or .png"))),
    }
}

/// A grid of grayscale images as PNG bytes: `pixels` holds `n` images of `h`×`w` values in
/// [0, 1] (clamped; NaN is drawn black), laid out `cols` to a row in reading order with a
/// one-pixel gap, each pixel drawn as a `scale`×`scale` block. `title` goes in the PNG's
/// `Title` chunk. What the generative examples write each epoch (samples, reconstructions).
pub fn image_grid_png(
    pixels: &[f32],
    n: usize,
    h: usize,
    w: usize,
    cols: usize,
    scale: usize,
    title: &str,
) -> Result<Vec<u8>> {
    if n == 0 || h == 0 || w == 0 || cols == 0 || scale == 0 || pixels.len() != n * h * w {
        return Err(Error::invalid(format!(
            "image_grid_png: {} values for {n} images of {h}x{w}, {cols} columns, scale {scale}",
            pixels.len()
        )));
    }
    let rows = n.div_ceil(cols);
    let (cw, ch) = (cols.min(n) * (w + 1) + 1, rows * (h + 1) + 1);
    let (pw, ph) = (cw * scale, ch * scale);
    // A mid-gray background frames each image.
    let mut img = vec![128u8; pw * ph];
    for k in 0..n {
        let (r, c) = (k / cols, k % cols);
        for y in 0..h {
            for x in 0..w {
                let v = pixels[k * h * w + y * w + x];
                let g = if v.is_nan() { 0 } else { (v.clamp(0.0, 1.0) * 255.0).round() as u8 };
                let (y0, x0) = ((r * (h + 1) + 1 + y) * scale, (c * (w + 1) + 1 + x) * scale);
                for dy in 0..scale {
                    img[(y0 + dy) * pw + x0..(y0 + dy) * pw + x0 + scale].fill(g);
                }
            }
        }
    }
    let mut out = vec![];
    {
        let err = |e: png::EncodingError| Error::invalid(format!("image_grid_png: {e}"));
        let mut enc = png::Encoder::new(&mut out, pw as u32, ph as u32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        enc.add_text_chunk("Title".into(), title.into()).map_err(err)?;
        enc.add_text_chunk("Software".into(), "sinew".into()).map_err(err)?;
        enc.write_header().map_err(err)?.write_image_data(&img).map_err(err)?;
    }
    Ok(out)
}

/// [`image_grid_png`] written to `path` atomically.
pub fn save_image_grid(
    path: impl AsRef<Path>,
    pixels: &[f32],
    n: usize,
    (h, w): (usize, usize),
    cols: usize,
    title: &str,
) -> Result<()> {
    write_atomic(path.as_ref(), &image_grid_png(pixels, n, h, w, cols, 2, title)?)
}
