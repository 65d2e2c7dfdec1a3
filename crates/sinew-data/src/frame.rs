//! Tables: a CSV file into a polars `DataFrame` (pandas `read_csv`), and the column work the
//! notes do on it before training: numeric columns out as a tensor, `get_dummies`, regex
//! extraction into a new column and columns derived from others.
//!
//! Polars parses the CSV (quoting, doubled quotes); sinew checks the row shape first, so that a
//! ragged row is an error that names its line, and infers each column's type itself, so that a
//! value that is not a number names its row and column instead of silently turning the column
//! into text.

use crate::encoding::{HandleUnknown, OneHotEncoder};
use crate::error::{Error, Result};
use polars::prelude::*;
use sinew_tensor::Tensor;
use std::io::Cursor;
use std::path::Path;

/// The strings pandas reads as missing by default (a subset of its `na_values`); an empty cell is
/// always missing.
pub const DEFAULT_NULL_VALUES: &[&str] = &["NA", "N/A", "n/a", "NaN", "nan", "NULL", "null", "#N/A", "<NA>"];

/// How [`read_csv`] reads a file. `CsvOptions::new()` is pandas' default: a header row, comma
/// separated, fields kept as written.
#[derive(Clone, Debug)]
pub struct CsvOptions {
    pub has_header: bool,
    pub separator: u8,
    /// Column names for a file without a header (pandas `names`).
    pub column_names: Option<Vec<String>>,
    /// Extra strings read as missing, such as the adult data's `?` (pandas `na_values`).
    pub null_values: Vec<String>,
    /// Strip spaces around every field (pandas `skipinitialspace`, and trailing ones too).
    pub trim: bool,
    /// Columns that must hold numbers: a value that does not parse is an error naming its line.
    pub numeric: Vec<String>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            has_header: true,
            separator: b',',
            column_names: None,
            null_values: vec![],
            trim: false,
            numeric: vec![],
        }
    }
}

impl CsvOptions {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn has_header(mut self, h: bool) -> Self {
        self.has_header = h;
        self
    }
    pub fn separator(mut self, s: u8) -> Self {
        self.separator = s;
        self
    }
    pub fn column_names(mut self, names: &[&str]) -> Self {
        self.column_names = Some(names.iter().map(|s| s.to_string()).collect());
        self
    }
    pub fn null_values(mut self, v: &[&str]) -> Self {
        self.null_values = v.iter().map(|s| s.to_string()).collect();
        self
    }
    pub fn trim(mut self, t: bool) -> Self {
        self.trim = t;
        self
    }
    pub fn numeric(mut self, cols: &[&str]) -> Self {
        self.numeric = cols.iter().map(|s| s.to_string()).collect();
        self
    }
    /// A field as these options read it: trimmed if asked, `None` when it is empty, one of
    /// [`DEFAULT_NULL_VALUES`] or one of `null_values`.
    pub(crate) fn cell(&self, field: &str) -> Option<String> {
        let v = if self.trim { field.trim() } else { field };
        let missing = v.is_empty() || DEFAULT_NULL_VALUES.contains(&v) || self.null_values.iter().any(|n| n == v);
        (!missing).then(|| v.to_string())
    }
}

/// The file with blank lines and carriage returns removed, and the file line of each kept row.
struct Cleaned {
    bytes: Vec<u8>,
    lines: Vec<usize>,
}

/// Splits `raw` into records (a quoted field may span lines), checks that every record has the
/// same number of fields as the first one (or as `expected`), and drops blank lines.
fn clean_and_check(raw: &[u8], sep: u8, expected: Option<usize>, path: &Path) -> Result<Cleaned> {
    let mut out = Vec::with_capacity(raw.len());
    let mut lines = vec![];
    let (mut line, mut start_line) = (1usize, 1usize);
    let mut record: Vec<u8> = vec![];
    let (mut fields, mut in_quotes) = (1usize, false);
    let mut want = expected;
    let mut finish = |record: &mut Vec<u8>, fields: usize, start_line: usize| -> Result<()> {
        if record.iter().all(|b| b.is_ascii_whitespace() && *b != sep) {
            record.clear();
            return Ok(());
        }
        match want {
            None => want = Some(fields),
            Some(w) if w != fields => {
                let what = if expected.is_some() { "the column names" } else { "the first row" };
                return Err(Error::format(
                    path,
                    format!("line {start_line} has {fields} fields, expected {w} (from {what})"),
                ));
            }
            _ => {}
        }
        out.extend_from_slice(record);
        out.push(b'\n');
        lines.push(start_line);
        record.clear();
        Ok(())
    };
    for &b in raw {
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\n' if !in_quotes => {
                if record.last() == Some(&b'\r') {
                    record.pop();
                }
                finish(&mut record, fields, start_line)?;
                line += 1;
                start_line = line;
                fields = 1;
                continue;
            }
            b'\n' => line += 1,
            _ if b == sep && !in_quotes => fields += 1,
            _ => {}
        }
        record.push(b);
    }
    if in_quotes {
        return Err(Error::format(path, format!("line {start_line}: a quoted field is never closed")));
    }
    if record.last() == Some(&b'\r') {
        record.pop();
    }
    finish(&mut record, fields, start_line)?;
    Ok(Cleaned { bytes: out, lines })
}

/// Reads a CSV file (optionally gzip-compressed) into a `DataFrame`, pandas `read_csv` style.
///
/// Each column becomes `i64` when every present value is an integer, `f64` when every present
/// value is a number, and text otherwise. Empty cells, [`DEFAULT_NULL_VALUES`] and
/// `options.null_values` are missing (null). Errors name the file and the line: a row with the
/// wrong number of fields, an unclosed quote, or text in a column listed in `options.numeric`.
pub fn read_csv(path: impl AsRef<Path>, options: &CsvOptions) -> Result<DataFrame> {
    let path = path.as_ref();
    let raw = crate::csv_stream::read_text_bounded(path)?;
    let expected = options.column_names.as_ref().filter(|_| !options.has_header).map(Vec::len);
    let cleaned = clean_and_check(&raw, options.separator, expected, path)?;
    let data_lines = &cleaned.lines[usize::from(options.has_header).min(cleaned.lines.len())..];
    let parse = CsvParseOptions::default().with_separator(options.separator).with_quote_char(Some(b'"'));
    let mut df = CsvReadOptions::default()
        .with_has_header(options.has_header)
        .with_infer_schema_length(Some(0))
        .with_parse_options(parse)
        .into_reader_with_file_handle(Cursor::new(cleaned.bytes))
        .finish()
        .map_err(|e| Error::format(path, e))?;
    if let Some(names) = &options.column_names {
        if names.len() != df.width() {
            return Err(Error::format(path, format!("{} column names for {} columns", names.len(), df.width())));
        }
        df.set_column_names(names).map_err(|e| Error::format(path, e))?;
    }
    for name in &options.numeric {
        if df.column(name).is_err() {
            return Err(Error::format(
                path,
                format!("numeric column {name:?} is not in the file (columns: {:?})", names(&df)),
            ));
        }
    }
    let mut columns = Vec::with_capacity(df.width());
    for col in df.columns() {
        let name = col.name().to_string();
        let text = col.str().map_err(|e| Error::format(path, e))?;
        let values: Vec<Option<String>> = text.iter().map(|v| options.cell(v?)).collect();
        let must_be_numeric = options.numeric.contains(&name);
        columns.push(infer_column(&name, values, must_be_numeric, |row| data_lines[row], path)?);
    }
    DataFrame::new(df.height(), columns).map_err(|e| Error::format(path, e))
}

/// The narrowest of i64, f64 and text that holds every value of a column.
fn infer_column(
    name: &str,
    values: Vec<Option<String>>,
    must_be_numeric: bool,
    line_of: impl Fn(usize) -> usize,
    path: &Path,
) -> Result<Column> {
    if let Ok(ints) = values
        .iter()
        .map(|v| v.as_deref().map(str::parse::<i64>).transpose())
        .collect::<std::result::Result<Vec<_>, _>>()
    {
        return Ok(Column::new(name.into(), ints));
    }
    let floats: Vec<std::result::Result<Option<f64>, usize>> = values
        .iter()
        .enumerate()
        .map(|(i, v)| v.as_deref().map(|s| s.parse::<f64>().map_err(|_| i)).transpose())
        .collect();
    match floats.iter().find_map(|r| r.as_ref().err().copied()) {
        None => Ok(Column::new(name.into(), floats.into_iter().map(|r| r.unwrap()).collect::<Vec<_>>())),
        Some(row) if must_be_numeric => Err(Error::format(
            path,
            format!(
                "line {}, column {name:?}: {:?} is not a number",
                line_of(row),
                values[row].as_deref().unwrap_or_default()
            ),
        )),
        Some(_) => Ok(Column::new(name.into(), values)),
    }
}

/// A table of raw text rows (a new row to predict, or rows from a form), every column text and
/// an empty value missing: the Rust form of `pd.DataFrame([row])`. A row with the wrong number of
/// values is an error naming it.
pub fn frame_from_rows(columns: &[&str], rows: &[&[&str]]) -> Result<DataFrame> {
    if let Some(i) = rows.iter().position(|r| r.len() != columns.len()) {
        return Err(Error::invalid(format!(
            "frame_from_rows: row {i} has {} values for {} columns {columns:?}",
            rows[i].len(),
            columns.len()
        )));
    }
    let cols = columns
        .iter()
        .enumerate()
        .map(|(j, name)| {
            let v: Vec<Option<&str>> = rows.iter().map(|r| Some(r[j]).filter(|s| !s.is_empty())).collect();
            Column::new((*name).into(), v)
        })
        .collect();
    DataFrame::new(rows.len(), cols).map_err(|e| Error::invalid(format!("frame_from_rows: {e}")))
}

/// A univariate or multivariate time series read from a CSV: the first column is the time index
/// (kept as text, such as `1949-01`), `values` holds the chosen columns as `[steps, columns]`.
#[derive(Clone, Debug)]
pub struct TimeSeries {
    pub index: Vec<String>,
    pub columns: Vec<String>,
    pub values: Tensor,
}

/// Reads a time-series CSV with a header (the staged airline, sunspot, temperature and retail
/// files): the first column is the index, `columns` the values (all other columns when empty).
/// A missing or non-numeric value is an error naming its line.
pub fn read_time_series(path: impl AsRef<Path>, columns: &[&str]) -> Result<TimeSeries> {
    let path = path.as_ref();
    let df = read_csv(path, &CsvOptions::new().numeric(columns))?;
    let all = names(&df);
    if all.len() < 2 {
        return Err(Error::format(
            path,
            format!("a time series needs an index column and a value column, got {all:?}"),
        ));
    }
    let cols: Vec<String> =
        if columns.is_empty() { all[1..].to_vec() } else { columns.iter().map(|s| s.to_string()).collect() };
    let refs: Vec<&str> = cols.iter().map(String::as_str).collect();
    let index = column_str(&df, &all[0])?.into_iter().map(|v| v.unwrap_or_default()).collect();
    let values = to_tensor(&df, &refs).map_err(|e| Error::format(path, e.message))?;
    Ok(TimeSeries { index, columns: cols, values })
}

/// The column names of `df`.
pub fn names(df: &DataFrame) -> Vec<String> {
    df.get_column_names().iter().map(|s| s.to_string()).collect()
}

fn column<'a>(df: &'a DataFrame, name: &str, what: &str) -> Result<&'a Column> {
    df.column(name).map_err(|_| Error::invalid(format!("{what}: no column {name:?} (columns: {:?})", names(df))))
}

/// Column `name` as numbers, `None` where missing. A text column is parsed, and a value that is
/// not a number is an error naming the row.
pub fn column_f64(df: &DataFrame, name: &str) -> Result<Vec<Option<f64>>> {
    let col = column(df, name, "column_f64")?;
    if col.dtype().is_primitive_numeric() || col.dtype() == &DataType::Boolean {
        let cast = col.cast(&DataType::Float64).map_err(|e| Error::invalid(format!("column {name:?}: {e}")))?;
        return Ok(cast.f64().expect("cast to f64").iter().collect());
    }
    let text =
        col.str().map_err(|_| Error::invalid(format!("column {name:?} has type {}, not numbers", col.dtype())))?;
    text.iter()
        .enumerate()
        .map(|(row, v)| {
            v.map(|s| {
                s.trim().parse::<f64>().map_err(|_| {
                    Error::invalid(format!("column {name:?}, row {row}: {s:?} is not a number")).at_row(row)
                })
            })
            .transpose()
        })
        .collect()
}

/// Column `name` as text, `None` where missing; numbers are formatted (integers without a
/// decimal point).
pub fn column_str(df: &DataFrame, name: &str) -> Result<Vec<Option<String>>> {
    let col = column(df, name, "column_str")?;
    if let Ok(text) = col.str() {
        return Ok(text.iter().map(|v| v.map(String::from)).collect());
    }
    let cast = col.cast(&DataType::String).map_err(|e| Error::invalid(format!("column {name:?}: {e}")))?;
    Ok(cast.str().expect("cast to string").iter().map(|v| v.map(String::from)).collect())
}

/// The columns `cols` as a `[rows, cols.len()]` f32 tensor. A missing value, text that is not a
/// number, NaN or infinity is an error naming the column and the row: impute or drop first.
pub fn to_tensor(df: &DataFrame, cols: &[&str]) -> Result<Tensor> {
    let n = df.height();
    let mut out = vec![0f32; n * cols.len()];
    for (j, name) in cols.iter().enumerate() {
        for (i, v) in column_f64(df, name)?.into_iter().enumerate() {
            match v {
                Some(x) if x.is_finite() => out[i * cols.len() + j] = x as f32,
                Some(x) => return Err(Error::invalid(format!("to_tensor: column {name:?}, row {i} is {x}")).at_row(i)),
                None => {
                    return Err(Error::invalid(format!(
                        "to_tensor: column {name:?}, row {i} is missing (impute it or drop the row first)"
                    ))
                    .at_row(i))
                }
            }
        }
    }
    Ok(Tensor::from_vec(out, [n, cols.len()]))
}

/// Replaces `df`'s column `name` (or adds it) with `values`.
pub fn set_column<T>(df: &mut DataFrame, name: &str, values: Vec<T>) -> Result<()>
where
    Series: NamedFrom<Vec<T>, [T]>,
{
    if values.len() != df.height() && df.width() > 0 {
        return Err(Error::invalid(format!(
            "set_column {name:?}: {} values for a frame of {} rows",
            values.len(),
            df.height()
        )));
    }
    df.with_column(Column::from(Series::new(name.into(), values)))
        .map_err(|e| Error::invalid(format!("set_column {name:?}: {e}")))?;
    Ok(())
}

/// Adds column `new` holding the first capture group of `pattern` in column `source` (pandas
/// `str.extract`), missing where the pattern does not match: the title in "Braund, Mr. Owen" is
/// `extract(df, "Name", r", ([^.]+)\.", "Title")`.
pub fn extract(df: &mut DataFrame, source: &str, pattern: &str, new: &str) -> Result<()> {
    let re =
        regex::Regex::new(pattern).map_err(|e| Error::invalid(format!("extract: bad pattern {pattern:?}: {e}")))?;
    if re.captures_len() < 2 {
        return Err(Error::invalid(format!("extract: pattern {pattern:?} has no capture group")));
    }
    let values: Vec<Option<String>> = column_str(df, source)?
        .into_iter()
        .map(|v| v.and_then(|s| re.captures(&s).and_then(|c| c.get(1)).map(|m| m.as_str().to_string())))
        .collect();
    set_column(df, new, values)
}

/// Adds column `new` computed row by row from the numeric columns `inputs` (combining columns,
/// such as a family size from siblings and parents); `f` gets `None` for a missing input.
pub fn derive(df: &mut DataFrame, new: &str, inputs: &[&str], f: impl Fn(&[Option<f64>]) -> Option<f64>) -> Result<()> {
    let cols = inputs.iter().map(|c| column_f64(df, c)).collect::<Result<Vec<_>>>()?;
    let mut row = vec![None; inputs.len()];
    let values: Vec<Option<f64>> = (0..df.height())
        .map(|i| {
            for (r, c) in row.iter_mut().zip(&cols) {
                *r = c[i];
            }
            f(&row)
        })
        .collect();
    set_column(df, new, values)
}

/// The rows `idx` of `df`, in that order (pandas `df.iloc[idx]`); an index past the end is an
/// error naming it.
pub fn take_rows(df: &DataFrame, idx: &[usize]) -> Result<DataFrame> {
    if let Some(&i) = idx.iter().find(|&&i| i >= df.height()) {
        return Err(Error::invalid(format!("take_rows: row {i} is past the end of a {}-row frame", df.height())));
    }
    let ca = IdxCa::from_vec("idx".into(), idx.iter().map(|&i| i as IdxSize).collect());
    df.take(&ca).map_err(|e| Error::invalid(format!("take_rows: {e}")))
}

/// Keeps the rows where `keep(row)` is true (pandas boolean indexing, or `dropna` with a
/// predicate over [`column_f64`]/[`column_str`] values).
pub fn filter_rows(df: &DataFrame, keep: impl Fn(usize) -> bool) -> Result<DataFrame> {
    let idx: Vec<usize> = (0..df.height()).filter(|&i| keep(i)).collect();
    take_rows(df, &idx)
}

/// Drops the rows with a missing value in any of `cols` (pandas `dropna(subset=cols)`).
pub fn drop_missing(df: &DataFrame, cols: &[&str]) -> Result<DataFrame> {
    let mask: Vec<Vec<bool>> = cols
        .iter()
        .map(|c| {
            Ok(column(df, c, "drop_missing")?.is_null().iter().map(|v: Option<bool>| v.unwrap_or(false)).collect())
        })
        .collect::<Result<_>>()?;
    filter_rows(df, |i| mask.iter().all(|m| !m[i]))
}

/// pandas `get_dummies(df, columns=cols, drop_first=...)`: each column in `cols` is replaced by
/// boolean columns `column_category` (as pandas 2 does) (a missing value has no indicator set), placed at the end.
pub fn get_dummies(df: &DataFrame, cols: &[&str], drop_first: bool) -> Result<DataFrame> {
    let data = cols
        .iter()
        .map(|c| Ok(column_str(df, c)?.into_iter().map(|v| v.unwrap_or_default()).collect()))
        .collect::<Result<Vec<Vec<String>>>>()?;
    let mut enc = OneHotEncoder::fit(cols, &data, drop_first, HandleUnknown::Ignore)?;
    // A missing value is not a category: no indicator column for it.
    for cats in &mut enc.categories {
        cats.retain(|c| !c.is_empty());
    }
    let x = enc.transform(&data)?;
    let mut out = df.clone();
    for c in cols {
        out = out.drop(c).map_err(|e| Error::invalid(format!("get_dummies: {e}")))?;
    }
    let width = x.dims()[1];
    let v = x.to_vec_f32();
    for (j, name) in enc.feature_names().iter().enumerate() {
        let col: Vec<bool> = (0..df.height()).map(|i| v[i * width + j] == 1.0).collect();
        set_column(&mut out, name, col)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("sinew-frame-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn read_csv_infers_types_and_missing_values() {
        let p = write("t.csv", "id,name,age,fare\r\n1,\"Braund, Mr. Owen\",22,7.25\r\n\r\n2,\"A \"\"B\"\"\",,NaN\r\n");
        let df = read_csv(&p, &CsvOptions::new()).unwrap();
        assert_eq!(names(&df), ["id", "name", "age", "fare"]);
        assert_eq!(df.column("id").unwrap().dtype(), &DataType::Int64);
        assert_eq!(df.column("fare").unwrap().dtype(), &DataType::Float64);
        assert_eq!(column_str(&df, "name").unwrap(), [Some("Braund, Mr. Owen".into()), Some("A \"B\"".into())]);
        assert_eq!(column_f64(&df, "age").unwrap(), [Some(22.0), None]);
        assert_eq!(column_f64(&df, "fare").unwrap(), [Some(7.25), None]);
    }

    #[test]
    fn read_csv_names_ragged_rows_and_bad_numbers() {
        let p = write("ragged.csv", "a,b\n1,2\n3\n");
        let e = read_csv(&p, &CsvOptions::new()).unwrap_err();
        assert!(e.message.ends_with("line 3 has 1 fields, expected 2 (from the first row)"), "{}", e.message);
        let p = write("text.csv", "a,b\n1,2\n3,x\n");
        let e = read_csv(&p, &CsvOptions::new().numeric(&["b"])).unwrap_err();
        assert!(e.message.ends_with("line 3, column \"b\": \"x\" is not a number"), "{}", e.message);
        // Without `numeric`, the column is text and the tensor conversion names the row.
        let df = read_csv(&p, &CsvOptions::new()).unwrap();
        let e = to_tensor(&df, &["a", "b"]).unwrap_err();
        assert_eq!(e.message, "column \"b\", row 1: \"x\" is not a number");
        let p = write("quote.csv", "a,b\n1,\"2\n");
        assert!(read_csv(&p, &CsvOptions::new())
            .unwrap_err()
            .message
            .contains("line 2: a quoted field is never closed"));
        let e = read_csv(write("none.csv", "1,2\n"), &CsvOptions::new().has_header(false).column_names(&["a"]))
            .unwrap_err();
        assert!(e.message.ends_with("line 1 has 2 fields, expected 1 (from the column names)"), "{}", e.message);
        assert_eq!(read_csv("/no/such.csv", &CsvOptions::new()).unwrap_err().kind, crate::ErrorKind::Io);
    }

    #[test]
    fn to_tensor_rejects_missing_and_infinite_values() {
        let p = write("inf.csv", "a,b\n1,inf\n2,\n");
        let df = read_csv(&p, &CsvOptions::new()).unwrap();
        assert_eq!(to_tensor(&df, &["a"]).unwrap().to_vec_f32(), [1.0, 2.0]);
        assert_eq!(to_tensor(&df, &["b"]).unwrap_err().message, "to_tensor: column \"b\", row 0 is inf");
        let df = drop_missing(&df, &["b"]).unwrap();
        assert_eq!(df.height(), 1);
        assert!(to_tensor(&df, &["c"]).unwrap_err().message.contains("no column \"c\""));
    }

    #[test]
    fn adult_style_options_trim_and_null_values() {
        let p = write("adult.csv", "39, State-gov, 77516, <=50K\n50, ?, 83311, >50K.\n\n");
        let opts = CsvOptions::new()
            .has_header(false)
            .column_names(&["age", "workclass", "fnlwgt", "y"])
            .trim(true)
            .null_values(&["?"]);
        let df = read_csv(&p, &opts).unwrap();
        assert_eq!(df.column("fnlwgt").unwrap().dtype(), &DataType::Int64);
        assert_eq!(column_str(&df, "workclass").unwrap(), [Some("State-gov".into()), None]);
        assert_eq!(column_str(&df, "age").unwrap(), [Some("39".into()), Some("50".into())]);
    }

    #[test]
    fn extract_derive_and_get_dummies() {
        let p = write(
            "t2.csv",
            "Name,SibSp,Parch,Embarked\n\"Braund, Mr. Owen\",1,0,S\n\"Heikkinen, Miss. Laina\",0,2,\nPlain,0,0,C\n",
        );
        let mut df = read_csv(&p, &CsvOptions::new()).unwrap();
        extract(&mut df, "Name", r", ([^.]+)\.", "Title").unwrap();
        assert_eq!(column_str(&df, "Title").unwrap(), [Some("Mr".into()), Some("Miss".into()), None]);
        derive(&mut df, "Family", &["SibSp", "Parch"], |v| Some(v[0]? + v[1]? + 1.0)).unwrap();
        assert_eq!(column_f64(&df, "Family").unwrap(), [Some(2.0), Some(3.0), Some(1.0)]);
        let d = get_dummies(&df, &["Embarked"], false).unwrap();
        assert_eq!(names(&d)[names(&d).len() - 2..], ["Embarked_C", "Embarked_S"]);
        assert_eq!(column_f64(&d, "Embarked_S").unwrap(), [Some(1.0), Some(0.0), Some(0.0)]);
        assert_eq!(column_f64(&d, "Embarked_C").unwrap(), [Some(0.0), Some(0.0), Some(1.0)]);
        assert!(extract(&mut df, "Name", "no group", "x").unwrap_err().message.contains("no capture group"));
    }
}
