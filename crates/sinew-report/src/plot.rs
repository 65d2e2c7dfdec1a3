//! [`Plot`]: the charts of exploration and evaluation, drawn as SVG (and rendered to PNG by
//! [`crate::png`]): line charts (learning curves, ROC), histograms, count plots, scatter plots,
//! box plots and heatmaps (correlation, confusion matrix). Each chart has a title, labelled axes
//! and tick marks; every drawn group carries a class (`plot-title`, `x-axis`, `y-axis`, `bars`,
//! `lines`, `cells`, `legend`) so tests and stylesheets can find it.

use crate::svg::{Anchor, Svg};

const PALETTE: [&str; 10] =
    ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const LEFT: f64 = 72.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 48.0;
const BOTTOM: f64 = 64.0;

/// One named line of a line chart.
#[derive(Clone, Debug)]
pub struct Series {
    pub name: String,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
}

#[derive(Clone, Debug)]
enum Kind {
    Lines(Vec<Series>),
    /// Category labels and their heights.
    Bars(Vec<String>, Vec<f64>),
    /// Bin edges (one more than the counts) and counts.
    Histogram(Vec<f64>, Vec<f64>),
    /// One group of points per series, each in its colour (a legend when there are several).
    Scatter(Vec<Series>),
    /// Group labels and each group's values.
    Boxes(Vec<String>, Vec<Vec<f64>>),
    /// Row labels, column labels, row-major values, the colour range, and the text written in
    /// each cell when it is not the value.
    Heatmap {
        rows: Vec<String>,
        cols: Vec<String>,
        values: Vec<f64>,
        range: (f64, f64),
        cell_labels: Option<Vec<String>>,
    },
}

/// A chart: build it with one of the constructors, label it, then [`Plot::to_svg`] or
/// [`crate::save_plot`].
#[derive(Clone, Debug)]
pub struct Plot {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub width: f64,
    pub height: f64,
    kind: Kind,
}

impl Plot {
    fn new(title: &str, kind: Kind) -> Self {
        Plot { title: title.into(), x_label: String::new(), y_label: String::new(), width: 640.0, height: 420.0, kind }
    }
    /// A line chart; add lines with [`Plot::series`].
    pub fn lines(title: &str) -> Self {
        Plot::new(title, Kind::Lines(vec![]))
    }
    pub fn series(mut self, name: &str, x: &[f64], y: &[f64]) -> Self {
        if let Kind::Lines(s) = &mut self.kind {
            s.push(Series { name: name.into(), x: x.to_vec(), y: y.to_vec() });
        }
        self
    }
    /// Bars per category (seaborn `countplot` when the heights are counts).
    pub fn bars(title: &str, labels: &[String], heights: &[f64]) -> Self {
        Plot::new(title, Kind::Bars(labels.to_vec(), heights.to_vec()))
    }
    /// A histogram of the finite `values` in `bins` equal-width bins (matplotlib's default is 10).
    pub fn histogram(title: &str, values: &[f64], bins: usize) -> Self {
        let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        let (lo, hi) = v.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
        let (lo, hi) = if v.is_empty() {
            (0.0, 1.0)
        } else if hi > lo {
            (lo, hi)
        } else {
            (lo - 0.5, hi + 0.5)
        };
        let bins = bins.max(1);
        let edges: Vec<f64> = (0..=bins).map(|i| lo + (hi - lo) * i as f64 / bins as f64).collect();
        let mut counts = vec![0.0; bins];
        for x in v {
            let k = (((x - lo) / (hi - lo)) * bins as f64).floor() as usize;
            counts[k.min(bins - 1)] += 1.0;
        }
        Plot::new(title, Kind::Histogram(edges, counts)).y_label("count")
    }
    pub fn scatter(title: &str, x: &[f64], y: &[f64]) -> Self {
        Plot::new(title, Kind::Scatter(vec![Series { name: String::new(), x: x.to_vec(), y: y.to_vec() }]))
    }
    /// A scatter plot of several named groups, each in its own colour, with a legend (a 2-D
    /// embedding coloured by class).
    pub fn scatter_groups(title: &str, groups: Vec<Series>) -> Self {
        Plot::new(title, Kind::Scatter(groups))
    }
    /// Box plots (Tukey: the box spans the quartiles, whiskers reach the furthest value within
    /// 1.5 IQR, points beyond are drawn singly).
    pub fn boxes(title: &str, labels: &[String], groups: &[Vec<f64>]) -> Self {
        Plot::new(title, Kind::Boxes(labels.to_vec(), groups.to_vec()))
    }
    /// A heatmap of row-major `values`, coloured over `range` (a correlation matrix uses
    /// (-1, 1)); each cell is annotated with its value when the grid is small enough to read.
    pub fn heatmap(title: &str, rows: &[String], cols: &[String], values: &[f64], range: (f64, f64)) -> Self {
        Plot::new(
            title,
            Kind::Heatmap {
                rows: rows.to_vec(),
                cols: cols.to_vec(),
                values: values.to_vec(),
                range,
                cell_labels: None,
            },
        )
    }
    /// A heatmap's cell texts in place of the values, row-major (a self-organizing map's hit
    /// map with each neuron's majority class, say). Ignored by other charts.
    pub fn cell_labels(mut self, labels: &[String]) -> Self {
        if let Kind::Heatmap { cell_labels, .. } = &mut self.kind {
            *cell_labels = Some(labels.to_vec());
        }
        self
    }
    pub fn x_label(mut self, l: &str) -> Self {
        self.x_label = l.into();
        self
    }
    pub fn y_label(mut self, l: &str) -> Self {
        self.y_label = l.into();
        self
    }
    pub fn size(mut self, width: f64, height: f64) -> Self {
        (self.width, self.height) = (width, height);
        self
    }

    /// The chart as a standalone SVG document.
    pub fn to_svg(&self) -> String {
        let mut s = Svg::new(self.width, self.height);
        s.open_group("plot-title");
        s.text(self.width / 2.0, 28.0, &self.title, 16.0, Anchor::Middle, false, "title");
        s.close_group();
        let area = Area { x0: LEFT, x1: self.width - RIGHT, y0: TOP, y1: self.height - BOTTOM };
        match &self.kind {
            Kind::Lines(series) => self.draw_lines(&mut s, &area, series),
            Kind::Bars(labels, h) => {
                let ys = Scale::new(0.0, h.iter().copied().fold(0.0, f64::max) * 1.05, area.y1, area.y0);
                self.axes(&mut s, &area, Axis::Categories(labels), &ys);
                s.open_group("bars");
                let w = area.width() / labels.len().max(1) as f64;
                for (i, (l, &v)) in labels.iter().zip(h).enumerate() {
                    let top = ys.at(v);
                    s.rect(
                        area.x0 + w * (i as f64 + 0.1),
                        top,
                        w * 0.8,
                        area.y1 - top,
                        PALETTE[0],
                        Some(&format!("{l}: {v}")),
                    );
                }
                s.close_group();
            }
            Kind::Histogram(edges, counts) => {
                let xs = Scale::new(edges[0], edges[edges.len() - 1], area.x0, area.x1);
                let ys = Scale::new(0.0, counts.iter().copied().fold(0.0, f64::max) * 1.05, area.y1, area.y0);
                self.axes(&mut s, &area, Axis::Numbers(&xs), &ys);
                s.open_group("bars");
                for (k, &c) in counts.iter().enumerate() {
                    let (a, b) = (xs.at(edges[k]), xs.at(edges[k + 1]));
                    let tip = format!("[{:.4}, {:.4}): {c}", edges[k], edges[k + 1]);
                    s.rect(a + 0.5, ys.at(c), (b - a - 1.0).max(0.5), area.y1 - ys.at(c), PALETTE[0], Some(&tip));
                }
                s.close_group();
            }
            Kind::Scatter(groups) => {
                let all_x: Vec<f64> = groups.iter().flat_map(|g| g.x.iter().copied()).collect();
                let all_y: Vec<f64> = groups.iter().flat_map(|g| g.y.iter().copied()).collect();
                let (xs, ys) = (Scale::fit(&all_x, area.x0, area.x1), Scale::fit(&all_y, area.y1, area.y0));
                self.axes(&mut s, &area, Axis::Numbers(&xs), &ys);
                s.open_group("points");
                for (i, g) in groups.iter().enumerate() {
                    for (&a, &b) in g.x.iter().zip(&g.y).filter(|(a, b)| a.is_finite() && b.is_finite()) {
                        s.circle(xs.at(a), ys.at(b), 2.5, PALETTE[i % PALETTE.len()]);
                    }
                }
                s.close_group();
                if groups.len() > 1 {
                    s.open_group("legend");
                    for (i, g) in groups.iter().enumerate() {
                        let y = area.y0 + 14.0 + 18.0 * i as f64;
                        s.circle(area.x1 - 123.0, y - 4.0, 4.0, PALETTE[i % PALETTE.len()]);
                        s.text(area.x1 - 110.0, y, &g.name, 12.0, Anchor::Start, false, "legend-label");
                    }
                    s.close_group();
                }
            }
            Kind::Boxes(labels, groups) => self.draw_boxes(&mut s, &area, labels, groups),
            Kind::Heatmap { rows, cols, values, range, cell_labels } => {
                self.draw_heatmap(&mut s, &area, rows, cols, values, *range, cell_labels.as_deref())
            }
        }
        s.finish(&self.title)
    }

    fn draw_lines(&self, s: &mut Svg, area: &Area, series: &[Series]) {
        let all_x: Vec<f64> = series.iter().flat_map(|l| l.x.iter().copied()).collect();
        let all_y: Vec<f64> = series.iter().flat_map(|l| l.y.iter().copied()).collect();
        let (xs, ys) = (Scale::fit(&all_x, area.x0, area.x1), Scale::fit(&all_y, area.y1, area.y0));
        self.axes(s, area, Axis::Numbers(&xs), &ys);
        s.open_group("lines");
        for (i, l) in series.iter().enumerate() {
            let pts: Vec<(f64, f64)> =
                l.x.iter()
                    .zip(&l.y)
                    .filter(|(a, b)| a.is_finite() && b.is_finite())
                    .map(|(&a, &b)| (xs.at(a), ys.at(b)))
                    .collect();
            s.polyline(&pts, PALETTE[i % PALETTE.len()], 2.0);
            if pts.len() == 1 {
                s.circle(pts[0].0, pts[0].1, 3.0, PALETTE[i % PALETTE.len()]);
            }
        }
        s.close_group();
        s.open_group("legend");
        for (i, l) in series.iter().enumerate() {
            let y = area.y0 + 14.0 + 18.0 * i as f64;
            s.rect(area.x1 - 130.0, y - 9.0, 14.0, 4.0, PALETTE[i % PALETTE.len()], None);
            s.text(area.x1 - 110.0, y, &l.name, 12.0, Anchor::Start, false, "legend-label");
        }
        s.close_group();
    }

    fn draw_boxes(&self, s: &mut Svg, area: &Area, labels: &[String], groups: &[Vec<f64>]) {
        let all: Vec<f64> = groups.iter().flatten().copied().collect();
        let ys = Scale::fit(&all, area.y1, area.y0);
        self.axes(s, area, Axis::Categories(labels), &ys);
        s.open_group("boxes");
        let w = area.width() / groups.len().max(1) as f64;
        for (i, g) in groups.iter().enumerate() {
            let mut v: Vec<f64> = g.iter().copied().filter(|x| x.is_finite()).collect();
            if v.is_empty() {
                continue;
            }
            v.sort_by(f64::total_cmp);
            let q = |p: f64| {
                let pos = p * (v.len() - 1) as f64;
                let (a, b) = (pos.floor() as usize, pos.ceil() as usize);
                v[a] + (v[b] - v[a]) * (pos - a as f64)
            };
            let (q1, med, q3) = (q(0.25), q(0.5), q(0.75));
            let (lo_fence, hi_fence) = (q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1));
            let lo = v.iter().copied().find(|&x| x >= lo_fence).unwrap_or(q1);
            let hi = v.iter().rev().copied().find(|&x| x <= hi_fence).unwrap_or(q3);
            let cx = area.x0 + w * (i as f64 + 0.5);
            let tip = format!("{}: median {med:.4}, IQR [{q1:.4}, {q3:.4}]", labels.get(i).map_or("", |s| s));
            s.line(cx, ys.at(lo), cx, ys.at(hi), "#444444", 1.0);
            s.rect(cx - w * 0.3, ys.at(q3), w * 0.6, ys.at(q1) - ys.at(q3), PALETTE[i % PALETTE.len()], Some(&tip));
            s.line(cx - w * 0.3, ys.at(med), cx + w * 0.3, ys.at(med), "#111111", 2.0);
            for &x in v.iter().filter(|&&x| x < lo || x > hi) {
                s.circle(cx, ys.at(x), 2.0, "#444444");
            }
        }
        s.close_group();
    }

    #[allow(clippy::too_many_arguments)]
    fn draw_heatmap(
        &self,
        s: &mut Svg,
        area: &Area,
        rows: &[String],
        cols: &[String],
        values: &[f64],
        range: (f64, f64),
        cell_labels: Option<&[String]>,
    ) {
        let (nr, nc) = (rows.len().max(1), cols.len().max(1));
        let (cw, ch) = (area.width() / nc as f64, area.height() / nr as f64);
        self.labels(s, area);
        s.open_group("x-axis");
        for (j, c) in cols.iter().enumerate() {
            s.text(area.x0 + cw * (j as f64 + 0.5), area.y1 + 16.0, c, 11.0, Anchor::Middle, false, "tick-label");
        }
        s.close_group();
        s.open_group("y-axis");
        for (i, r) in rows.iter().enumerate() {
            s.text(area.x0 - 6.0, area.y0 + ch * (i as f64 + 0.5) + 4.0, r, 11.0, Anchor::End, false, "tick-label");
        }
        s.close_group();
        s.open_group("cells");
        let annotate = nr * nc <= 400;
        // Counts print as integers, anything else (correlations) with two decimals.
        let integral = values.iter().all(|v| v.fract() == 0.0 && v.abs() < 1e9);
        for i in 0..rows.len() {
            for j in 0..cols.len() {
                let v = values.get(i * cols.len() + j).copied().unwrap_or(f64::NAN);
                let t = if range.1 > range.0 { ((v - range.0) / (range.1 - range.0)).clamp(0.0, 1.0) } else { 0.5 };
                let tip = format!("{} / {}: {v}", rows[i], cols[j]);
                let (x, y) = (area.x0 + cw * j as f64, area.y0 + ch * i as f64);
                s.rect(x, y, cw, ch, &colour(if v.is_finite() { t } else { 0.5 }, range.0 < 0.0), Some(&tip));
                if annotate {
                    let label = match cell_labels.and_then(|l| l.get(i * cols.len() + j)) {
                        Some(l) => l.clone(),
                        None if integral => format!("{v:.0}"),
                        None => format!("{v:.2}"),
                    };
                    // Light text where the cell is dark.
                    let dark = if range.0 < 0.0 { (t - 0.5).abs() > 0.35 } else { t > 0.55 };
                    let fill = if dark { "#ffffff" } else { "#222222" };
                    s.text_fill(
                        x + cw / 2.0,
                        y + ch / 2.0 + 4.0,
                        &label,
                        11.0,
                        Anchor::Middle,
                        false,
                        "cell-label",
                        fill,
                    );
                }
            }
        }
        s.close_group();
    }

    /// Axis titles.
    fn labels(&self, s: &mut Svg, area: &Area) {
        s.open_group("axis-labels");
        if !self.x_label.is_empty() {
            s.text(
                (area.x0 + area.x1) / 2.0,
                self.height - 18.0,
                &self.x_label,
                13.0,
                Anchor::Middle,
                false,
                "x-label",
            );
        }
        if !self.y_label.is_empty() {
            s.text(18.0, (area.y0 + area.y1) / 2.0, &self.y_label, 13.0, Anchor::Middle, true, "y-label");
        }
        s.close_group();
    }

    /// Frame, ticks, tick labels and axis titles.
    fn axes(&self, s: &mut Svg, area: &Area, x: Axis<'_>, y: &Scale) {
        self.labels(s, area);
        s.open_group("y-axis");
        s.line(area.x0, area.y0, area.x0, area.y1, "#444444", 1.0);
        for t in y.ticks() {
            let py = y.at(t);
            s.line(area.x0 - 4.0, py, area.x1, py, "#e4e4e4", 1.0);
            s.text(area.x0 - 7.0, py + 4.0, &tick_label(t), 11.0, Anchor::End, false, "tick-label");
        }
        s.close_group();
        s.open_group("x-axis");
        s.line(area.x0, area.y1, area.x1, area.y1, "#444444", 1.0);
        match x {
            Axis::Numbers(xs) => {
                for t in xs.ticks() {
                    let px = xs.at(t);
                    s.line(px, area.y1, px, area.y1 + 4.0, "#444444", 1.0);
                    s.text(px, area.y1 + 17.0, &tick_label(t), 11.0, Anchor::Middle, false, "tick-label");
                }
            }
            Axis::Categories(labels) => {
                let w = area.width() / labels.len().max(1) as f64;
                // Thin the labels so that they do not overlap (about 7 px per character).
                let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(1) as f64;
                let every = ((longest * 7.0 + 6.0) / w).ceil().max(1.0) as usize;
                for (i, l) in labels.iter().enumerate().filter(|(i, _)| i % every == 0) {
                    s.text(
                        area.x0 + w * (i as f64 + 0.5),
                        area.y1 + 17.0,
                        l,
                        11.0,
                        Anchor::Middle,
                        false,
                        "tick-label",
                    );
                }
            }
        }
        s.close_group();
    }
}

enum Axis<'a> {
    Numbers(&'a Scale),
    Categories(&'a [String]),
}

struct Area {
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
}

impl Area {
    fn width(&self) -> f64 {
        self.x1 - self.x0
    }
    fn height(&self) -> f64 {
        self.y1 - self.y0
    }
}

/// A linear map from data values `lo..hi` to pixels `p0..p1`.
struct Scale {
    lo: f64,
    hi: f64,
    p0: f64,
    p1: f64,
}

impl Scale {
    fn new(lo: f64, hi: f64, p0: f64, p1: f64) -> Self {
        let (lo, hi) = if hi > lo { (lo, hi) } else { (lo - 0.5, lo + 0.5) };
        Scale { lo, hi, p0, p1 }
    }
    /// A scale over the finite values of `v`, padded by 5% on each side.
    fn fit(v: &[f64], p0: f64, p1: f64) -> Self {
        let (lo, hi) = v
            .iter()
            .filter(|x| x.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
        if !lo.is_finite() {
            return Scale::new(0.0, 1.0, p0, p1);
        }
        let pad = if hi > lo { (hi - lo) * 0.05 } else { 0.5 };
        Scale::new(lo - pad, hi + pad, p0, p1)
    }
    fn at(&self, v: f64) -> f64 {
        self.p0 + (v - self.lo) / (self.hi - self.lo) * (self.p1 - self.p0)
    }
    /// About five "nice" ticks (steps of 1, 2 or 5 times a power of ten) inside the range.
    fn ticks(&self) -> Vec<f64> {
        let raw = (self.hi - self.lo) / 5.0;
        let mag = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
        let first = (self.lo / step).ceil() as i64;
        let last = (self.hi / step).floor() as i64;
        (first..=last).map(|k| k as f64 * step).collect()
    }
}

fn tick_label(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e6).contains(&a) {
        return format!("{v:.1e}");
    }
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A colour for `t` in [0, 1]: white to blue, or blue-white-red when the range is signed.
fn colour(t: f64, diverging: bool) -> String {
    let lerp = |a: f64, b: f64, t: f64| (a + (b - a) * t).round() as u8;
    let (r, g, b) = if diverging {
        if t < 0.5 {
            let u = t / 0.5;
            (lerp(33.0, 247.0, u), lerp(102.0, 247.0, u), lerp(172.0, 247.0, u))
        } else {
            let u = (t - 0.5) / 0.5;
            (lerp(247.0, 178.0, u), lerp(247.0, 24.0, u), lerp(247.0, 43.0, u))
        }
    } else {
        (lerp(247.0, 8.0, t), lerp(251.0, 69.0, t), lerp(255.0, 148.0, t))
    };
    format!("#{r:02x}{g:02x}{b:02x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_nice_and_inside_the_range() {
        let s = Scale::new(0.0, 0.93, 0.0, 100.0);
        assert_eq!(s.ticks(), [0.0, 0.2, 0.4, 0.6000000000000001, 0.8]);
        assert_eq!(tick_label(0.6000000000000001), "0.6");
        assert_eq!(Scale::new(3.0, 97.0, 0.0, 1.0).ticks(), [20.0, 40.0, 60.0, 80.0]);
        assert_eq!(tick_label(1.5e7), "1.5e7");
    }

    #[test]
    fn histogram_counts_every_finite_value_once() {
        let p = Plot::histogram("h", &[0.0, 0.1, 0.5, 1.0, f64::NAN], 2);
        match &p.kind {
            Kind::Histogram(edges, counts) => {
                assert_eq!(edges, &[0.0, 0.5, 1.0]);
                assert_eq!(counts, &[2.0, 2.0]); // the maximum falls in the last bin
            }
            _ => unreachable!(),
        }
    }
}
