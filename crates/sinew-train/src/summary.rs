//! The Keras `model.summary()` table.

use crate::error::Result;
use crate::model::{Kind, Model};

/// `1234567` -> `1,234,567`.
fn group(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn shape(dims: &[usize]) -> String {
    let d: Vec<String> = std::iter::once("None".to_string()).chain(dims.iter().map(|d| d.to_string())).collect();
    format!("({})", d.join(", "))
}

/// The table: layer (type), output shape, params and, for functional models, what each layer
/// call reads (`dense[0][0]`: the first call of `dense`), then the total, trainable and
/// non-trainable counts. A shared layer's weights count once.
pub(crate) fn summary(m: &Model) -> String {
    let functional = m.kind == Kind::Functional;
    let mut rows: Vec<Vec<String>> = vec![vec!["Layer (type)".into(), "Output Shape".into(), "Param #".into()]];
    if functional {
        rows[0].push("Connected to".into());
    }
    // Each node's label as Keras writes it: `<layer>[<call index>][0]`.
    let mut labels: Vec<String> = m.inputs.iter().map(|i| format!("{}[0][0]", i.name)).collect();
    let mut calls_of = vec![0usize; m.layers.len()];
    if functional {
        for i in &m.inputs {
            rows.push(vec![format!("{} (InputLayer)", i.name), shape(&i.shape), "0".into(), "-".into()]);
        }
    }
    for (ci, call) in m.calls.iter().enumerate() {
        let l = &m.layers[call.layer];
        if call.output > 0 {
            // Another output of the call before: a label, no row (as Keras writes `lstm[0][1]`).
            labels.push(format!("{}[{}][{}]", l.name(), calls_of[call.layer] - 1, call.output));
            continue;
        }
        let n: usize = l.params().iter().map(|p| p.value.numel()).sum();
        let mut row =
            vec![format!("{} ({})", l.name(), l.class_name()), shape(m.node_shape(m.inputs.len() + ci)), group(n)];
        if functional {
            row.push(call.inputs.iter().map(|&i| labels[i].clone()).collect::<Vec<_>>().join(", "));
        }
        labels.push(format!("{}[{}][0]", l.name(), calls_of[call.layer]));
        calls_of[call.layer] += 1;
        rows.push(row);
    }
    let total = m.count_params();
    let trainable: usize = m
        .layers
        .iter()
        .map(|l| l.params().iter().filter(|p| p.trainable).map(|p| p.value.numel()).sum::<usize>())
        .sum();
    let mins = [28, 20, 10, 20];
    let widths: Vec<usize> =
        (0..rows[0].len()).map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0).max(mins[c])).collect();
    let rule = |c: char| c.to_string().repeat(widths.iter().sum::<usize>() + 2 * (widths.len() - 1));
    let mut s = format!("Model: \"{}\"\n{}\n", m.name, rule('━'));
    for (i, r) in rows.iter().enumerate() {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (v, &w))| if c == 2 { format!("{v:>w$}") } else { format!("{v:<w$}") })
            .collect();
        s += cells.join("  ").trim_end();
        s += "\n";
        s += &format!("{}\n", if i == 0 { rule('━') } else { rule('─') });
    }
    let bytes = |n: usize| format!("{:.2} KB", n as f64 * 4.0 / 1024.0);
    s += &format!(" Total params: {} ({})\n", group(total), bytes(total));
    s += &format!(" Trainable params: {} ({})\n", group(trainable), bytes(trainable));
    s += &format!(" Non-trainable params: {} ({})\n", group(total - trainable), bytes(total - trainable));
    s
}

impl Model {
    /// The Keras summary table: layer (type), output shape, params (and, for functional models,
    /// what each call is connected to), then totals.
    pub fn summary(&mut self) -> Result<String> {
        self.build()?;
        Ok(crate::summary::summary(self))
    }
}
