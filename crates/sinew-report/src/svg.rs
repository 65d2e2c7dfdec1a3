//! A minimal SVG writer: the handful of elements the charts draw, with escaping, and numbers
//! written with two decimals so files stay small and diffable.

use std::fmt::Write;

/// Escapes text for SVG content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Where a text is anchored horizontally.
#[derive(Clone, Copy)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

/// An SVG document under construction.
pub struct Svg {
    body: String,
    width: f64,
    height: f64,
}

impl Svg {
    pub fn new(width: f64, height: f64) -> Self {
        let mut s = Svg { body: String::new(), width, height };
        s.rect(0.0, 0.0, width, height, "#ffffff", None);
        s
    }
    pub fn open_group(&mut self, class: &str) {
        let _ = writeln!(self.body, r#"<g class="{}">"#, escape(class));
    }
    pub fn close_group(&mut self) {
        self.body.push_str("</g>\n");
    }
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, tooltip: Option<&str>) {
        let _ = write!(
            self.body,
            r#"<rect x="{x:.2}" y="{y:.2}" width="{:.2}" height="{:.2}" fill="{fill}""#,
            w.max(0.0),
            h.max(0.0)
        );
        match tooltip {
            Some(t) => {
                let _ = writeln!(self.body, "><title>{}</title></rect>", escape(t));
            }
            None => self.body.push_str("/>\n"),
        }
    }
    pub fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str, width: f64) {
        let _ = writeln!(
            self.body,
            r#"<line x1="{x1:.2}" y1="{y1:.2}" x2="{x2:.2}" y2="{y2:.2}" stroke="{stroke}" stroke-width="{width}"/>"#
        );
    }
    pub fn polyline(&mut self, points: &[(f64, f64)], stroke: &str, width: f64) {
        let mut pts = String::new();
        for (x, y) in points {
            let _ = write!(pts, "{x:.2},{y:.2} ");
        }
        let _ = writeln!(
            self.body,
            r#"<polyline points="{}" fill="none" stroke="{stroke}" stroke-width="{width}"/>"#,
            pts.trim_end()
        );
    }
    pub fn circle(&mut self, x: f64, y: f64, r: f64, fill: &str) {
        let _ = writeln!(self.body, r#"<circle cx="{x:.2}" cy="{y:.2}" r="{r}" fill="{fill}" fill-opacity="0.7"/>"#);
    }
    /// Text at (x, y); `rotate` turns it -90 degrees about that point (a y-axis label).
    #[allow(clippy::too_many_arguments)]
    pub fn text(&mut self, x: f64, y: f64, text: &str, size: f64, anchor: Anchor, rotate: bool, class: &str) {
        self.text_fill(x, y, text, size, anchor, rotate, class, "#222222");
    }
    /// [`Svg::text`] in colour `fill` (white on a dark heatmap cell).
    #[allow(clippy::too_many_arguments)]
    pub fn text_fill(
        &mut self,
        x: f64,
        y: f64,
        text: &str,
        size: f64,
        anchor: Anchor,
        rotate: bool,
        class: &str,
        fill: &str,
    ) {
        let anchor = match anchor {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        };
        let transform = if rotate { format!(r#" transform="rotate(-90 {x:.2} {y:.2})""#) } else { String::new() };
        let _ = writeln!(
            self.body,
            r##"<text class="{class}" x="{x:.2}" y="{y:.2}" font-family="DejaVu Sans, Arial, sans-serif" font-size="{size}" text-anchor="{anchor}" fill="{fill}"{transform}>{}</text>"##,
            escape(text)
        );
    }
    /// The finished document; `title` becomes its `<title>` (what viewers and tests read).
    pub fn finish(self, title: &str) -> String {
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\n<title>{}</title>\n{}</svg>\n",
            escape(title),
            self.body,
            w = self.width,
            h = self.height
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_handles_markup() {
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
