//! The HTML report of a training run: one self-contained file (inline CSS and SVG, no scripts,
//! no network fetches) with the model summary, learning curves, the metrics table, the
//! classification report, the confusion matrix and ROC curve where they apply, sample
//! predictions (misclassified images first), a time series' forecast against the actual values,
//! text a generative model wrote, and rows of images (reconstructions, generated samples). A [`RunRecord`] is what a run saves as `run.json`,
//! so the report can be rebuilt from a run directory.

use crate::charts::{confusion_matrix_plot, learning_curves_of, roc_plot};
use crate::error::{Error, Result};
use crate::plot::Plot;
use crate::records::{CurveRecord, SearchRecord};
use crate::svg::escape;
use serde_json::{json, Value};
use sinew_data::RocCurve;

/// One sample prediction; `image` is `[height, width]` grey values in [0, 1] when the input is an
/// image.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub image: Option<(usize, usize, Vec<f32>)>,
    pub truth: String,
    pub predicted: String,
}

/// Rows of grey images shown together, each row labelled: test images over their
/// reconstructions, or a generative model's samples. Pixels in [0, 1], row-major per image.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageRows {
    pub title: String,
    pub height: usize,
    pub width: usize,
    pub rows: Vec<(String, Vec<Vec<f32>>)>,
}

/// Everything a report shows about one trained model.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelRecord {
    pub name: String,
    pub summary: String,
    /// Per-epoch series (`loss`, `val_loss`, ...).
    pub history: Vec<(String, Vec<f64>)>,
    /// Final test metrics.
    pub metrics: Vec<(String, f64)>,
    pub classification_report: Option<String>,
    pub class_names: Vec<String>,
    pub confusion: Option<Vec<Vec<usize>>>,
    pub roc: Option<RocCurve>,
    pub samples: Vec<Sample>,
    /// A forecast of a test period: named series over its steps (`actual`, `forecast`, ...).
    pub forecast: Vec<(String, Vec<f64>)>,
    /// Generated samples: how each was made (`temperature 0.5, seed "ROMEO:"`) and the text.
    pub generated: Vec<(String, String)>,
    /// Images in labelled rows: reconstructions, generated samples.
    pub images: Vec<ImageRows>,
    /// The learning-rate range test run before training, if any.
    pub lr_finder: Option<LrCurve>,
    /// Per-layer gradient traces and what they show, if recorded.
    pub diagnostics: Option<DiagnosticsRecord>,
    /// The hyperparameter search this model's configuration won, if any.
    pub search: Option<SearchRecord>,
    /// Curves of their own: a prequential accuracy, a DQN's returns.
    pub curves: Vec<CurveRecord>,
}

/// Training diagnostics: each layer's gradient norm and update ratio per epoch, and the findings
/// (kind, evidence, remedy).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DiagnosticsRecord {
    pub grad_norms: Vec<(String, Vec<f64>)>,
    pub update_ratios: Vec<(String, Vec<f64>)>,
    pub findings: Vec<(String, String, String)>,
}

/// A learning-rate range test: each step's rate and smoothed loss, and the suggested rate.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LrCurve {
    pub lrs: Vec<f64>,
    pub smoothed: Vec<f64>,
    pub suggestion: Option<f64>,
}

/// A run: its title, a line about the data, and one record per model trained.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunRecord {
    pub title: String,
    pub data: String,
    pub models: Vec<ModelRecord>,
}

fn pairs(v: &[(String, f64)]) -> Value {
    Value::Array(v.iter().map(|(k, x)| json!([k, x])).collect())
}

impl RunRecord {
    pub fn to_json(&self) -> Value {
        let models: Vec<Value> = self
            .models
            .iter()
            .map(|m| {
                json!({
                    "name": m.name, "summary": m.summary,
                    "history": m.history.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
                    "metrics": pairs(&m.metrics),
                    "classification_report": m.classification_report,
                    "class_names": m.class_names,
                    "confusion": m.confusion,
                    "roc": m.roc.as_ref().map(|r| json!({"fpr": r.fpr, "tpr": r.tpr, "thresholds": r.thresholds})),
                    "samples": m.samples.iter().map(|s| json!({
                        "image": s.image.as_ref().map(|(h, w, p)| json!({"height": h, "width": w, "pixels": p})),
                        "truth": s.truth, "predicted": s.predicted})).collect::<Vec<_>>(),
                    "forecast": m.forecast.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
                    "generated": m.generated.iter().map(|(k, t)| json!({"how": k, "text": t})).collect::<Vec<_>>(),
                    "images": m.images.iter().map(|g| json!({"title": g.title, "height": g.height, "width": g.width,
                        "rows": g.rows.iter().map(|(label, imgs)| json!({"label": label, "images": imgs})).collect::<Vec<_>>()}))
                        .collect::<Vec<_>>(),
                    "lr_finder": m.lr_finder.as_ref().map(|f| json!({"lrs": f.lrs, "smoothed": f.smoothed, "suggestion": f.suggestion})),
                    "diagnostics": m.diagnostics.as_ref().map(|d| json!({
                        "grad_norms": d.grad_norms.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
                        "update_ratios": d.update_ratios.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
                        "findings": d.findings.iter().map(|(k, e, r)| json!({"kind": k, "evidence": e, "remedy": r})).collect::<Vec<_>>()})),
                    "search": m.search.as_ref().map(SearchRecord::to_json),
                    "curves": m.curves.iter().map(CurveRecord::to_json).collect::<Vec<_>>(),
                })
            })
            .collect();
        json!({"format": "sinew-run", "version": 1, "title": self.title, "data": self.data, "models": models})
    }

    pub fn from_json(v: &Value) -> Result<Self> {
        let bad = |what: &str| Error::invalid(format!("run record: {what}"));
        if v["format"] != "sinew-run" {
            return Err(bad(&format!("format is {}, expected \"sinew-run\"", v["format"])));
        }
        let f64s = |x: &Value| -> Option<Vec<f64>> { x.as_array()?.iter().map(Value::as_f64).collect() };
        let mut models = vec![];
        for m in v["models"].as_array().ok_or_else(|| bad("no models list"))? {
            let series = |key: &str| -> Result<Vec<(String, Vec<f64>)>> {
                m[key]
                    .as_array()
                    .ok_or_else(|| bad(&format!("{key} is not a list")))?
                    .iter()
                    .map(|p| Some((p[0].as_str()?.to_string(), f64s(&p[1]).or_else(|| Some(vec![p[1].as_f64()?]))?)))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| bad(&format!("{key} holds a malformed entry")))
            };
            let metrics = series("metrics")?.into_iter().map(|(k, v)| (k, v[0])).collect();
            let confusion = match &m["confusion"] {
                Value::Null => None,
                c => Some(
                    c.as_array()
                        .and_then(|rows| {
                            rows.iter()
                                .map(|r| r.as_array()?.iter().map(|x| x.as_u64().map(|x| x as usize)).collect())
                                .collect::<Option<Vec<Vec<usize>>>>()
                        })
                        .ok_or_else(|| bad("confusion is not a matrix of counts"))?,
                ),
            };
            let roc = match &m["roc"] {
                Value::Null => None,
                r => Some(RocCurve {
                    fpr: f64s(&r["fpr"]).ok_or_else(|| bad("roc.fpr"))?,
                    tpr: f64s(&r["tpr"]).ok_or_else(|| bad("roc.tpr"))?,
                    thresholds: f64s(&r["thresholds"]).unwrap_or_default(),
                }),
            };
            let samples = m["samples"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|s| Sample {
                            image: s["image"]["pixels"].as_array().map(|p| {
                                let px = p.iter().map(|x| x.as_f64().unwrap_or(0.0) as f32).collect();
                                (
                                    s["image"]["height"].as_u64().unwrap_or(0) as usize,
                                    s["image"]["width"].as_u64().unwrap_or(0) as usize,
                                    px,
                                )
                            }),
                            truth: s["truth"].as_str().unwrap_or_default().into(),
                            predicted: s["predicted"].as_str().unwrap_or_default().into(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            // Records written before these sections lack them.
            let forecast = if m["forecast"].is_null() { vec![] } else { series("forecast")? };
            let generated = m["generated"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|g| {
                            (
                                g["how"].as_str().unwrap_or_default().into(),
                                g["text"].as_str().unwrap_or_default().into(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let images = match &m["images"] {
                Value::Null => vec![],
                v => v
                    .as_array()
                    .ok_or_else(|| bad("images is not a list"))?
                    .iter()
                    .map(image_rows)
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| bad("images holds a malformed entry"))?,
            };
            let floats = |v: &Value| -> Option<Vec<f64>> { v.as_array()?.iter().map(Value::as_f64).collect() };
            let lr_finder = match &m["lr_finder"] {
                Value::Null => None,
                f => Some(LrCurve {
                    lrs: floats(&f["lrs"]).ok_or_else(|| bad("lr_finder.lrs is not a list of numbers"))?,
                    smoothed: floats(&f["smoothed"])
                        .ok_or_else(|| bad("lr_finder.smoothed is not a list of numbers"))?,
                    suggestion: f["suggestion"].as_f64(),
                }),
            };
            let named = |v: &Value, what: &str| -> Result<Vec<(String, Vec<f64>)>> {
                v.as_array()
                    .ok_or_else(|| bad(&format!("diagnostics.{what} is not a list")))?
                    .iter()
                    .map(|p| Some((p[0].as_str()?.to_string(), floats(&p[1])?)))
                    .collect::<Option<_>>()
                    .ok_or_else(|| bad(&format!("diagnostics.{what} holds a malformed entry")))
            };
            let diagnostics = match &m["diagnostics"] {
                Value::Null => None,
                d => Some(DiagnosticsRecord {
                    grad_norms: named(&d["grad_norms"], "grad_norms")?,
                    update_ratios: named(&d["update_ratios"], "update_ratios")?,
                    findings: d["findings"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .map(|f| {
                                    let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
                                    (s("kind"), s("evidence"), s("remedy"))
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                }),
            };
            let search = match &m["search"] {
                Value::Null => None,
                v => Some(SearchRecord::from_json(v)?),
            };
            let curves = match &m["curves"] {
                Value::Null => vec![],
                v => v
                    .as_array()
                    .ok_or_else(|| bad("curves is not a list"))?
                    .iter()
                    .map(CurveRecord::from_json)
                    .collect::<Result<_>>()?,
            };
            models.push(ModelRecord {
                name: m["name"].as_str().unwrap_or_default().into(),
                summary: m["summary"].as_str().unwrap_or_default().into(),
                history: series("history")?,
                metrics,
                classification_report: m["classification_report"].as_str().map(String::from),
                class_names: m["class_names"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect())
                    .unwrap_or_default(),
                confusion,
                roc,
                samples,
                forecast,
                generated,
                images,
                lr_finder,
                diagnostics,
                search,
                curves,
            });
        }
        Ok(RunRecord {
            title: v["title"].as_str().unwrap_or_default().into(),
            data: v["data"].as_str().unwrap_or_default().into(),
            models,
        })
    }
}

/// One [`ImageRows`] from its JSON, `None` when malformed (an image of the wrong size included).
fn image_rows(g: &Value) -> Option<ImageRows> {
    let (height, width) = (g["height"].as_u64()? as usize, g["width"].as_u64()? as usize);
    let rows = g["rows"]
        .as_array()?
        .iter()
        .map(|r| {
            let imgs = r["images"].as_array()?.iter().map(|i| {
                let px: Vec<f32> = i.as_array()?.iter().map(|x| x.as_f64().map(|x| x as f32)).collect::<Option<_>>()?;
                (px.len() == height * width).then_some(px)
            });
            Some((r["label"].as_str()?.to_string(), imgs.collect::<Option<Vec<_>>>()?))
        })
        .collect::<Option<Vec<_>>>()?;
    Some(ImageRows { title: g["title"].as_str()?.to_string(), height, width, rows })
}

/// A small grey-scale image as inline SVG (one rect per pixel; no raster encoding needed).
fn image_svg(h: usize, w: usize, px: &[f32]) -> String {
    let mut s = format!(
        r#"<svg class="sample-image" xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 {w} {h}" shape-rendering="crispEdges">"#
    );
    for (i, &v) in px.iter().enumerate().take(h * w) {
        let g = (255.0 * (1.0 - v.clamp(0.0, 1.0))).round() as u8;
        s.push_str(&format!(r#"<rect x="{}" y="{}" width="1" height="1" fill="rgb({g},{g},{g})"/>"#, i % w, i / w));
    }
    s.push_str("</svg>");
    s
}

/// A chart's SVG without its XML wrapper, for inlining.
fn inline(p: &Plot) -> String {
    format!(r#"<figure class="chart">{}</figure>"#, p.to_svg())
}

fn model_section(m: &ModelRecord) -> String {
    let mut h = format!("<section class=\"model\"><h2>{}</h2>\n", escape(&m.name));
    if let Some(s) = &m.search {
        h += &s.html();
    }
    h += &format!("<h3>Model summary</h3><pre class=\"summary\">{}</pre>\n", escape(&m.summary));
    h += "<h3>Metrics</h3><table class=\"metrics\"><tr><th>metric</th><th>value</th></tr>";
    for (k, v) in &m.metrics {
        h += &format!("<tr><td>{}</td><td>{v:.4}</td></tr>", escape(k));
    }
    h += "</table>\n";
    if !m.history.is_empty() {
        h += "<h3>Learning curves</h3><div class=\"charts\">";
        let epochs: Vec<f64> = (1..=m.history[0].1.len()).map(|e| e as f64).collect();
        let series: Vec<(&str, &[f64])> = m.history.iter().map(|(k, v)| (k.as_str(), v.as_slice())).collect();
        for p in learning_curves_of(&epochs, &series) {
            h += &inline(&p.size(520.0, 340.0));
        }
        h += "</div>\n";
    }
    if let Some(r) = &m.classification_report {
        let title = if m.class_names.is_empty() { "Regression report" } else { "Classification report" };
        h += &format!("<h3>{title}</h3><pre class=\"classification-report\">{}</pre>\n", escape(r));
    }
    let mut evals = String::new();
    if let Some(c) = &m.confusion {
        if let Ok(p) = confusion_matrix_plot(c, &m.class_names) {
            evals += &inline(&p.size(520.0, 420.0));
        }
    }
    if let Some(r) = &m.roc {
        evals += &inline(&roc_plot(r).size(520.0, 420.0));
    }
    if !evals.is_empty() {
        h += &format!("<h3>Evaluation</h3><div class=\"charts\">{evals}</div>\n");
    }
    if !m.forecast.is_empty() {
        let steps: Vec<f64> = (1..=m.forecast[0].1.len()).map(|t| t as f64).collect();
        let plot =
            m.forecast.iter().fold(Plot::lines("Forecast of the test period"), |p, (k, v)| p.series(k, &steps, v));
        h += &format!(
            "<h3>Forecast</h3><div class=\"charts\">{}</div>\n",
            inline(&plot.x_label("step").y_label("value").size(720.0, 360.0))
        );
    }
    if let Some(f) = &m.lr_finder {
        let x: Vec<f64> = f.lrs.iter().map(|l| l.log10()).collect();
        let plot = Plot::lines("Learning-rate range test").series("smoothed loss", &x, &f.smoothed);
        let pick = f
            .suggestion
            .map_or("no suggestion (the loss never fell)".to_string(), |s| format!("suggested rate {s:.3e}"));
        h += &format!(
            "<h3>Learning-rate range test</h3><p class=\"lr-suggestion\">{}</p><div class=\"charts\">{}</div>\n",
            escape(&pick),
            inline(&plot.x_label("log10(learning rate)").y_label("loss").size(720.0, 360.0))
        );
    }
    if let Some(d) = &m.diagnostics {
        h += &diagnostics_html(d);
    }
    for c in &m.curves {
        h += &c.html();
    }
    if !m.generated.is_empty() {
        h += "<h3>Generated samples</h3>";
        for (how, text) in &m.generated {
            h += &format!("<h4>{}</h4><pre class=\"generated\">{}</pre>\n", escape(how), escape(text));
        }
    }
    for g in &m.images {
        h += &format!("<h3>{}</h3><table class=\"image-rows\">", escape(&g.title));
        for (label, imgs) in &g.rows {
            h += &format!("<tr><th>{}</th>", escape(label));
            for px in imgs {
                h += &format!("<td>{}</td>", image_svg(g.height, g.width, px));
            }
            h += "</tr>";
        }
        h += "</table>\n";
    }
    if !m.samples.is_empty() {
        h += "<h3>Sample predictions</h3><div class=\"samples\">";
        for s in &m.samples {
            let class = if s.truth == s.predicted { "sample correct" } else { "sample wrong" };
            let img = s.image.as_ref().map(|(hh, ww, px)| image_svg(*hh, *ww, px)).unwrap_or_default();
            h += &format!(
                "<div class=\"{class}\">{img}<div>true {}<br>predicted {}</div></div>",
                escape(&s.truth),
                escape(&s.predicted)
            );
        }
        h += "</div>\n";
    }
    h + "</section>\n"
}

const STYLE: &str = "body{font-family:'DejaVu Sans',Arial,sans-serif;margin:2em auto;max-width:1120px;color:#222}\
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em}pre{background:#f6f6f6;padding:.8em;overflow-x:auto}\
table.metrics{border-collapse:collapse}table.metrics td,table.metrics th{border:1px solid #ccc;padding:.3em .8em;text-align:left}\
.charts{display:flex;flex-wrap:wrap;gap:1em}figure.chart{margin:0}figure.chart svg{max-width:100%;height:auto}\
.samples{display:flex;flex-wrap:wrap;gap:.8em}.sample{font-size:.8em;text-align:center;padding:.3em;border:2px solid #ccc}\
.sample.wrong{border-color:#d62728}.sample.correct{border-color:#2ca02c}\
table.image-rows th{text-align:right;padding-right:.6em;font-weight:normal}table.image-rows td{padding:1px}";

/// The report as one HTML document.
pub fn html_report(run: &RunRecord) -> String {
    let mut h = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1><p class=\"data\">{}</p>\n",
        escape(&run.title),
        escape(&run.title),
        escape(&run.data)
    );
    for m in &run.models {
        h += &model_section(m);
    }
    h + "<footer><p>Written by sinew.</p></footer></body></html>\n"
}

/// The training-diagnostics section: gradient norms (log10) and update ratios per layer by
/// epoch, then the findings with their remedies.
fn diagnostics_html(d: &DiagnosticsRecord) -> String {
    let chart = |title: &str, series: &[(String, Vec<f64>)], log: bool, y: &str| {
        let p = series.iter().fold(Plot::lines(title), |p, (k, v)| {
            let x: Vec<f64> = (1..=v.len()).map(|e| e as f64).collect();
            let v: Vec<f64> = if log { v.iter().map(|g| g.max(1e-30).log10()).collect() } else { v.clone() };
            p.series(k, &x, &v)
        });
        inline(&p.x_label("epoch").y_label(y).size(560.0, 360.0))
    };
    let mut h = format!(
        "<h3>Training diagnostics</h3><div class=\"charts\">{}{}</div>\n",
        chart("Gradient norm per layer (probe batch)", &d.grad_norms, true, "log10(gradient norm)"),
        chart("Weight change per epoch / weight norm", &d.update_ratios, false, "update ratio")
    );
    if d.findings.is_empty() {
        h += "<p class=\"findings\">No vanishing or exploding gradients, no over- or underfitting found.</p>\n";
    } else {
        h += "<ul class=\"findings\">";
        for (kind, evidence, remedy) in &d.findings {
            h += &format!("<li><b>{}</b>: {}. Remedy: {}.</li>", escape(kind), escape(evidence), escape(remedy));
        }
        h += "</ul>\n";
    }
    h
}
