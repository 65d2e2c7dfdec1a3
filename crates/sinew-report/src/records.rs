//! Report sections beyond one fit: a hyperparameter search (its trials as a table and the score
//! against each hyperparameter) and named curves over steps or episodes (a prequential
//! accuracy, a DQN's returns), each with its JSON form for `run.json`.

use crate::error::{Error, Result};
use crate::plot::Plot;
use crate::svg::escape;
use serde_json::{json, Value};
use sinew_train::SearchResult;

/// One trial of a search: its hyperparameter values (in [`SearchRecord::params`] order), the
/// objective's best value, its epoch (1-based), the epochs run and the seconds taken.
#[derive(Clone, Debug, PartialEq)]
pub struct TrialRow {
    pub values: Vec<String>,
    pub score: f64,
    pub best_epoch: usize,
    pub epochs_run: usize,
    pub seconds: f64,
}

/// A hyperparameter search: the objective, the hyperparameters' names and the trials, best first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchRecord {
    pub objective: String,
    pub params: Vec<String>,
    pub trials: Vec<TrialRow>,
}

impl SearchRecord {
    pub fn from_result(r: &SearchResult) -> Self {
        let params = r.trials.first().map(|t| t.params.0.iter().map(|(k, _)| k.clone()).collect()).unwrap_or_default();
        let trials = r
            .trials
            .iter()
            .map(|t| TrialRow {
                values: t.params.0.iter().map(|(_, v)| v.to_string()).collect(),
                score: t.score,
                best_epoch: t.best_epoch,
                epochs_run: t.epochs_run,
                seconds: t.seconds,
            })
            .collect();
        SearchRecord { objective: r.objective.clone(), params, trials }
    }

    pub(crate) fn to_json(&self) -> Value {
        json!({
            "objective": self.objective, "params": self.params,
            "trials": self.trials.iter().map(|t| json!({"values": t.values, "score": t.score,
                "best_epoch": t.best_epoch, "epochs_run": t.epochs_run, "seconds": t.seconds})).collect::<Vec<_>>(),
        })
    }

    pub(crate) fn from_json(v: &Value) -> Result<Self> {
        let bad = |what: &str| Error::invalid(format!("run record: search.{what}"));
        let strs =
            |x: &Value| -> Option<Vec<String>> { x.as_array()?.iter().map(|s| Some(s.as_str()?.into())).collect() };
        let params = strs(&v["params"]).ok_or_else(|| bad("params is not a list of names"))?;
        let trials = v["trials"]
            .as_array()
            .ok_or_else(|| bad("trials is not a list"))?
            .iter()
            .map(|t| {
                let values = strs(&t["values"]).filter(|v| v.len() == params.len())?;
                Some(TrialRow {
                    values,
                    // A trial whose objective was never finite is written as null.
                    score: t["score"].as_f64().unwrap_or(f64::NAN),
                    best_epoch: t["best_epoch"].as_u64()? as usize,
                    epochs_run: t["epochs_run"].as_u64()? as usize,
                    seconds: t["seconds"].as_f64()?,
                })
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad("trials holds a malformed entry"))?;
        Ok(SearchRecord { objective: v["objective"].as_str().unwrap_or_default().into(), params, trials })
    }

    /// The section: the table, best first, then one chart per hyperparameter (the score of
    /// each trial against a numeric value, on a log axis when the values span 10x or more; the
    /// best score per value for the others).
    pub(crate) fn html(&self) -> String {
        let mut h = format!(
            "<h3>Hyperparameter search</h3><p class=\"search\">{} trials ranked by {} (best first); the model below is the best trial's configuration trained again with the spec's fit.</p>\n",
            self.trials.len(),
            escape(&self.objective)
        );
        h += "<table class=\"metrics search\"><tr><th>rank</th>";
        for p in &self.params {
            h += &format!("<th>{}</th>", escape(p));
        }
        h +=
            &format!("<th>{}</th><th>best epoch</th><th>epochs run</th><th>seconds</th></tr>", escape(&self.objective));
        for (i, t) in self.trials.iter().enumerate() {
            h += &format!("<tr><td>{}</td>", i + 1);
            for v in &t.values {
                h += &format!("<td>{}</td>", escape(v));
            }
            h += &format!(
                "<td>{:.4}</td><td>{}</td><td>{}</td><td>{:.2}</td></tr>",
                t.score, t.best_epoch, t.epochs_run, t.seconds
            );
        }
        h += "</table>\n<div class=\"charts\">";
        for (j, name) in self.params.iter().enumerate() {
            h += &format!(r#"<figure class="chart">{}</figure>"#, self.chart(j, name).size(420.0, 300.0).to_svg());
        }
        h + "</div>\n"
    }

    fn chart(&self, j: usize, name: &str) -> Plot {
        let scored: Vec<(&str, f64)> =
            self.trials.iter().filter(|t| t.score.is_finite()).map(|t| (t.values[j].as_str(), t.score)).collect();
        let numbers: Option<Vec<f64>> = scored.iter().map(|(v, _)| v.parse::<f64>().ok()).collect();
        let title = format!("{} against {name}", self.objective);
        match numbers {
            Some(x) if !x.is_empty() => {
                let (lo, hi) = x.iter().fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
                let log = lo > 0.0 && hi / lo >= 10.0;
                let xs: Vec<f64> = if log { x.iter().map(|v| v.log10()).collect() } else { x };
                let ys: Vec<f64> = scored.iter().map(|(_, s)| *s).collect();
                let label = if log { format!("log10({name})") } else { name.to_string() };
                Plot::scatter(&title, &xs, &ys).x_label(&label).y_label(&self.objective)
            }
            _ => {
                // The best score each value reached (rows are best first).
                let mut labels: Vec<String> = vec![];
                let mut best: Vec<f64> = vec![];
                for (v, s) in &scored {
                    if !labels.iter().any(|l| l == v) {
                        labels.push(v.to_string());
                        best.push(*s);
                    }
                }
                Plot::bars(&format!("best {title}"), &labels, &best).x_label(name).y_label(&self.objective)
            }
        }
    }
}

/// Named curves over a common x (steps, episodes): `series` holds each curve's name and values
/// at `x`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CurveRecord {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x: Vec<f64>,
    pub series: Vec<(String, Vec<f64>)>,
}

impl CurveRecord {
    pub(crate) fn to_json(&self) -> Value {
        json!({"title": self.title, "x_label": self.x_label, "y_label": self.y_label, "x": self.x,
            "series": self.series.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>()})
    }

    pub(crate) fn from_json(v: &Value) -> Result<Self> {
        let bad = || Error::invalid("run record: a curve is malformed");
        let floats = |x: &Value| -> Option<Vec<f64>> { x.as_array()?.iter().map(Value::as_f64).collect() };
        let x = floats(&v["x"]).ok_or_else(bad)?;
        let series = v["series"]
            .as_array()
            .ok_or_else(bad)?
            .iter()
            .map(|p| Some((p[0].as_str()?.to_string(), floats(&p[1]).filter(|s| s.len() == x.len())?)))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(bad)?;
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        Ok(CurveRecord { title: s("title"), x_label: s("x_label"), y_label: s("y_label"), x, series })
    }

    pub(crate) fn html(&self) -> String {
        let p = self.series.iter().fold(Plot::lines(&self.title), |p, (k, v)| p.series(k, &self.x, v));
        format!(
            "<h3>{}</h3><div class=\"charts\"><figure class=\"chart\">{}</figure></div>\n",
            escape(&self.title),
            p.x_label(&self.x_label).y_label(&self.y_label).size(720.0, 360.0).to_svg()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::html::{html_report, ModelRecord, RunRecord};

    /// A search and curves survive `run.json` (so `sinew report` rebuilds them) and show in the
    /// page: the table best first, a scatter for a numeric hyperparameter and bars for a named one.
    #[test]
    fn search_and_curves_round_trip_and_render() {
        let row = |v: &[&str], score: f64| TrialRow {
            values: v.iter().map(|s| s.to_string()).collect(),
            score,
            best_epoch: 3,
            epochs_run: 5,
            seconds: 0.5,
        };
        let search = SearchRecord {
            objective: "val_accuracy".into(),
            params: vec!["learning_rate".into(), "optimizer".into()],
            trials: vec![row(&["0.01", "adam"], 0.9), row(&["0.001", "sgd"], 0.8), row(&["0.0001", "adam"], f64::NAN)],
        };
        let curve = CurveRecord {
            title: "Prequential accuracy".into(),
            x_label: "samples seen".into(),
            y_label: "accuracy".into(),
            x: vec![100.0, 200.0],
            series: vec![("sinew".into(), vec![0.8, 0.9])],
        };
        let run = RunRecord {
            title: "t".into(),
            data: "d".into(),
            models: vec![ModelRecord { search: Some(search), curves: vec![curve], ..Default::default() }],
        };
        let back = RunRecord::from_json(&run.to_json()).unwrap();
        let (a, b) = (&run.models[0], &back.models[0]);
        assert_eq!(a.curves, b.curves);
        let (sa, sb) = (a.search.as_ref().unwrap(), b.search.as_ref().unwrap());
        assert_eq!((&sa.objective, &sa.params), (&sb.objective, &sb.params));
        assert_eq!(sa.trials[..2], sb.trials[..2]);
        assert!(sb.trials[2].score.is_nan());
        let html = html_report(&back);
        assert!(html.contains("<td>0.01</td><td>adam</td><td>0.9000</td>"), "{html}");
        assert!(html.contains("val_accuracy against learning_rate") && html.contains("log10(learning_rate)"));
        assert!(html.contains("best val_accuracy against optimizer"));
        assert!(html.contains("<h3>Prequential accuracy</h3>"));
        let mut broken = run.to_json();
        broken["models"][0]["search"]["trials"][0]["values"] = serde_json::json!(["0.01"]);
        assert!(RunRecord::from_json(&broken).is_err());
    }
}
