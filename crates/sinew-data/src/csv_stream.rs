//! A numeric CSV read row by row into a [`Dataset`] (tf.data `CsvDataset` and
//! `make_csv_dataset`): the file is never held in memory, so a file larger than memory streams
//! through `shuffle`, `batch` and `prefetch` in bounded memory. Every line is bounded too
//! ([`max_line_bytes`]): a file with a 1 GB line is refused when the line passes the limit, before
//! it is held.

use crate::error::{Error, Result};
use crate::idx::open_maybe_gz;
use crate::pipeline::{Dataset, Element};
use sinew_tensor::Tensor;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// The longest line a text data file may have, unless `SINEW_MAX_LINE_BYTES` says otherwise:
/// 16 MiB (a CSV row of about a million numbers).
pub const DEFAULT_MAX_LINE_BYTES: u64 = 16 << 20;

/// The limit on one line of a CSV or text data file: `SINEW_MAX_LINE_BYTES` when set to a
/// number, else [`DEFAULT_MAX_LINE_BYTES`].
pub fn max_line_bytes() -> u64 {
    std::env::var("SINEW_MAX_LINE_BYTES").ok().and_then(|v| v.trim().parse().ok()).unwrap_or(DEFAULT_MAX_LINE_BYTES)
}

/// A whole text data file (a CSV), gunzipped where it is compressed, refused as soon as it
/// passes [`crate::max_input_bytes`] or one of its lines passes [`max_line_bytes`]: a 1 GB line
/// is never held.
pub fn read_text_bounded(path: &Path) -> Result<Vec<u8>> {
    read_text_within(path, crate::idx::max_input_bytes(), max_line_bytes())
}

fn read_text_within(path: &Path, limit: u64, line_limit: u64) -> Result<Vec<u8>> {
    let mut r = open_maybe_gz(path)?;
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 1 << 16];
    let (mut run, mut line) = (0u64, 1usize);
    loop {
        let n = match r.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::format(path, format!("cannot read (corrupt gzip data?): {e}"))),
        };
        for &b in &chunk[..n] {
            if b == b'\n' {
                run = 0;
                line += 1;
            } else {
                run += 1;
                if run > line_limit {
                    return Err(line_too_long(path, line, line_limit));
                }
            }
        }
        if (out.len() + n) as u64 > limit {
            return Err(crate::idx::too_large(path, "the data runs", limit));
        }
        out.extend_from_slice(&chunk[..n]);
    }
    Ok(out)
}

fn line_too_long(path: &Path, line: usize, limit: u64) -> Error {
    Error::format(
        path,
        format!(
            "line {line} is longer than the limit of {limit} bytes on one line (set SINEW_MAX_LINE_BYTES to raise it)"
        ),
    )
}

/// Lines of a file, each read into one reused buffer of at most `limit` bytes.
pub(crate) struct BoundedLines {
    reader: Box<dyn BufRead + Send>,
    path: PathBuf,
    limit: u64,
    /// The 1-based number of the line last read.
    pub line: usize,
}

impl BoundedLines {
    pub(crate) fn open(path: &Path, limit: u64) -> Result<Self> {
        Ok(BoundedLines { reader: Box::new(BufReader::new(open_maybe_gz(path)?)), path: path.into(), limit, line: 0 })
    }
    /// The next line into `buf`, without its line ending; `false` at the end of the file.
    pub(crate) fn next_into(&mut self, buf: &mut Vec<u8>) -> Result<bool> {
        buf.clear();
        let n = (&mut self.reader)
            .take(self.limit.saturating_add(2))
            .read_until(b'\n', buf)
            .map_err(|e| Error::format(&self.path, format!("line {}: cannot read: {e}", self.line + 1)))?;
        if n == 0 {
            return Ok(false);
        }
        self.line += 1;
        if buf.last() == Some(&b'\n') {
            buf.pop();
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        if buf.len() as u64 > self.limit {
            return Err(line_too_long(&self.path, self.line, self.limit));
        }
        Ok(true)
    }
}

/// The column names on the first line of `lines` (trimmed); an empty file or a header that is
/// not UTF-8 text is an error naming the file.
pub(crate) fn read_header(lines: &mut BoundedLines, path: &Path, sep: u8) -> Result<Vec<String>> {
    let mut buf = Vec::new();
    if !lines.next_into(&mut buf)? {
        return Err(Error::format(path, "the file is empty: a header row is needed"));
    }
    let header = std::str::from_utf8(&buf).map_err(|_| Error::format(path, "line 1 (the header) is not UTF-8 text"))?;
    let mut fields = Vec::new();
    split_fields(header.as_bytes(), sep, &mut fields).map_err(|e| Error::format(path, format!("line 1: {e}")))?;
    Ok(fields.iter().map(|f| String::from_utf8_lossy(f).trim().to_string()).collect())
}

/// Splits one CSV line at `sep`, removing the quotes of quoted fields (`""` inside one is a
/// quote). A quoted field cannot span lines here.
pub(crate) fn split_fields<'a>(
    line: &'a [u8],
    sep: u8,
    out: &mut Vec<std::borrow::Cow<'a, [u8]>>,
) -> std::result::Result<(), String> {
    out.clear();
    let mut i = 0;
    loop {
        if line.get(i) == Some(&b'"') {
            let mut field = Vec::new();
            i += 1;
            loop {
                match line.get(i) {
                    None => return Err("a quoted field is not closed on its line".into()),
                    Some(b'"') if line.get(i + 1) == Some(&b'"') => {
                        field.push(b'"');
                        i += 2;
                    }
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(&c) => {
                        field.push(c);
                        i += 1;
                    }
                }
            }
            out.push(field.into());
            match line.get(i) {
                None => return Ok(()),
                Some(&c) if c == sep => i += 1,
                Some(_) => return Err("text follows a quoted field's closing quote".into()),
            }
        } else {
            let end = line[i..].iter().position(|&c| c == sep).map_or(line.len(), |p| i + p);
            out.push(line[i..end].into());
            if end == line.len() {
                return Ok(());
            }
            i = end + 1;
        }
    }
}

/// What [`csv_dataset`] reads (tf.data `make_csv_dataset`'s `label_name` and `select_columns`).
#[derive(Clone, Debug)]
pub struct CsvDatasetOptions {
    /// The target column: each element's `y` (a `[1]` tensor). `None`: elements without `y`.
    pub label_name: Option<String>,
    /// The feature columns, in this order. `None`: every column but the label.
    pub select_columns: Option<Vec<String>>,
    pub separator: u8,
}

impl Default for CsvDatasetOptions {
    fn default() -> Self {
        CsvDatasetOptions { label_name: None, select_columns: None, separator: b',' }
    }
}

impl CsvDatasetOptions {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn label_name(mut self, name: &str) -> Self {
        self.label_name = Some(name.into());
        self
    }
    pub fn select_columns(mut self, names: &[&str]) -> Self {
        self.select_columns = Some(names.iter().map(|s| s.to_string()).collect());
        self
    }
    pub fn separator(mut self, sep: u8) -> Self {
        self.separator = sep;
        self
    }
}

/// A CSV file with a header row and numeric cells as a [`Dataset`] of one element per row: `x`
/// is a `[features]` tensor of the selected columns, `y` the label (tf.data `make_csv_dataset`,
/// unbatched: chain `shuffle`, `batch` and `prefetch`). The file is read again on every pass,
/// one line at a time; a gzip-compressed file is read through its stream.
///
/// The header is checked here: a missing column is an error naming the columns there are.
/// Errors in the rows come out of the iteration, naming the file, the line (1-based, the header
/// is line 1), the column and the value: a cell that is not a number (an empty cell is missing,
/// an error too: impute before streaming), a row with the wrong number of fields, a line past
/// [`max_line_bytes`].
pub fn csv_dataset(path: impl AsRef<Path>, options: &CsvDatasetOptions) -> Result<Dataset> {
    let path = path.as_ref().to_path_buf();
    let limit = max_line_bytes();
    let mut lines = BoundedLines::open(&path, limit)?;
    let names = read_header(&mut lines, &path, options.separator)?;
    let find = |name: &str| {
        names
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| Error::format(&path, format!("column {name:?} is not in the header (columns: {names:?})")))
    };
    let label = options.label_name.as_deref().map(find).transpose()?;
    let features: Vec<usize> = match &options.select_columns {
        Some(cols) => cols.iter().map(|c| find(c)).collect::<Result<_>>()?,
        None => (0..names.len()).filter(|&i| Some(i) != label).collect(),
    };
    if features.is_empty() {
        return Err(Error::format(&path, "no feature columns: the file has only its label column"));
    }
    let (sep, width) = (options.separator, names.len());
    Ok(Dataset::from_generator(move || Rows {
        lines: None,
        path: path.clone(),
        limit,
        names: names.clone(),
        sep,
        width,
        done: false,
        features: features.clone(),
        label,
        buf: Vec::new(),
    }))
}

/// One pass over the rows: opens the file on its first element, stops after an error.
struct Rows {
    lines: Option<BoundedLines>,
    path: PathBuf,
    limit: u64,
    names: Vec<String>,
    sep: u8,
    width: usize,
    done: bool,
    features: Vec<usize>,
    label: Option<usize>,
    buf: Vec<u8>,
}

impl Rows {
    fn next_row(&mut self) -> Result<Option<Element>> {
        // One buffer serves every line of the pass.
        let mut buf = std::mem::take(&mut self.buf);
        let row = self.row_from(&mut buf);
        self.buf = buf;
        row
    }

    fn row_from(&mut self, buf: &mut Vec<u8>) -> Result<Option<Element>> {
        if self.lines.is_none() {
            let mut l = BoundedLines::open(&self.path, self.limit)?;
            l.next_into(buf)?;
            self.lines = Some(l);
        }
        let lines = self.lines.as_mut().expect("opened above");
        loop {
            if !lines.next_into(buf)? {
                return Ok(None);
            }
            if !buf.iter().all(u8::is_ascii_whitespace) {
                break;
            }
        }
        let line = lines.line;
        let at = |what: String| Error::format(&self.path, format!("line {line}: {what}"));
        let mut fields = Vec::with_capacity(self.width);
        split_fields(buf, self.sep, &mut fields).map_err(at)?;
        if fields.len() != self.width {
            return Err(at(format!("{} fields, the header has {}", fields.len(), self.width)));
        }
        let value = |i: usize| -> Result<f32> {
            let text = String::from_utf8_lossy(&fields[i]);
            let t = text.trim();
            if t.is_empty() {
                return Err(at(format!(
                    "column {:?} is empty (impute missing values before streaming)",
                    self.names[i]
                )));
            }
            t.parse::<f32>().map_err(|_| at(format!("column {:?}: {t:?} is not a number", self.names[i])))
        };
        let x: Vec<f32> = self.features.iter().map(|&i| value(i)).collect::<Result<_>>()?;
        let n = x.len();
        let y = match self.label {
            Some(i) => vec![Tensor::from_vec(vec![value(i)?], [1])],
            None => vec![],
        };
        Ok(Some(Element { x: vec![Tensor::from_vec(x, [n])], y }))
    }
}

impl Iterator for Rows {
    type Item = Result<Element>;
    fn next(&mut self) -> Option<Result<Element>> {
        if self.done {
            return None;
        }
        let r = self.next_row();
        if !matches!(r, Ok(Some(_))) {
            self.done = true;
        }
        r.transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::collect;
    use std::io::Write;

    fn write(name: &str, text: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sinew-csv-stream-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn rows_stream_with_their_label_and_selected_columns() {
        let p = write("ok.csv", b"a,b,\"label\",c\r\n1,2,0,3\n\n\"4.5\",-5,1,6e1\n");
        let ds = csv_dataset(&p, &CsvDatasetOptions::new().label_name("label")).unwrap();
        let rows = collect(&ds).unwrap();
        assert_eq!(rows.len(), 2, "the blank line is skipped");
        assert_eq!(rows[1].x[0].to_vec_f32(), vec![4.5, -5.0, 60.0]);
        assert_eq!(rows[1].y[0].to_vec_f32(), vec![1.0]);
        let ds = csv_dataset(&p, &CsvDatasetOptions::new().select_columns(&["c", "a"])).unwrap();
        let rows = collect(&ds.batch(2, false)).unwrap();
        assert_eq!(rows[0].x[0].dims(), &[2, 2]);
        assert_eq!(rows[0].x[0].to_vec_f32(), vec![3.0, 1.0, 60.0, 4.5]);
        assert!(rows[0].y.is_empty());
        // Every pass reads the file again.
        assert_eq!(collect(&ds).unwrap().len(), 2);
    }

    #[test]
    fn bad_rows_name_the_file_line_column_and_value() {
        let err = |text: &[u8]| {
            let p = write("bad.csv", text);
            let ds = csv_dataset(&p, &CsvDatasetOptions::new().label_name("y")).unwrap();
            collect(&ds).unwrap_err().to_string()
        };
        let e = err(b"x,y\n1,0\n2,0\nabc,1\n");
        assert!(e.ends_with("bad.csv: line 4: column \"x\": \"abc\" is not a number"), "{e}");
        assert!(err(b"x,y\n1,0,7\n").contains("line 2: 3 fields, the header has 2"));
        assert!(err(b"x,y\n,1\n").contains("line 2: column \"x\" is empty"));
        assert!(err(b"x,y\n\"1,0\n").contains("line 2: a quoted field is not closed"));
        let p = write("head.csv", b"x,y\n1,2\n");
        let e = csv_dataset(&p, &CsvDatasetOptions::new().label_name("z")).unwrap_err().to_string();
        assert!(e.contains("column \"z\" is not in the header (columns: [\"x\", \"y\"])"), "{e}");
        let e = csv_dataset(write("empty.csv", b""), &CsvDatasetOptions::new()).unwrap_err().to_string();
        assert!(e.contains("the file is empty"), "{e}");
    }

    #[test]
    fn a_line_past_the_limit_is_refused_when_it_passes_it() {
        let mut text = b"a,b\n1,2\n".to_vec();
        text.extend(std::iter::repeat_n(b'7', 5000));
        text.extend(b",1\n");
        let p = write("long.csv", &text);
        let e = read_text_within(&p, 1 << 20, 1000).unwrap_err().to_string();
        assert!(
            e.contains("line 3 is longer than the limit of 1000 bytes on one line (set SINEW_MAX_LINE_BYTES"),
            "{e}"
        );
        let mut lines = BoundedLines::open(&p, 1000).unwrap();
        let mut buf = vec![];
        assert!(lines.next_into(&mut buf).unwrap() && lines.next_into(&mut buf).unwrap());
        let e = lines.next_into(&mut buf).unwrap_err().to_string();
        assert!(e.contains("line 3 is longer than the limit of 1000 bytes"), "{e}");
        assert!(buf.capacity() < 4096, "the reader held {} bytes of the long line", buf.capacity());
        assert!(read_text_within(&p, 1 << 20, 6000).is_ok());
    }

    /// A 1 GB line under the default limits, as a gzip stream of about 1 MB: `read_csv` and the
    /// streaming reader both refuse it after the first 16 MiB of it.
    #[cfg(feature = "tables")]
    #[test]
    fn a_csv_with_a_1_gb_line_is_refused_at_the_default_limit() {
        let p = std::env::temp_dir().join(format!("sinew-csv-stream-{}/gb-line.csv.gz", std::process::id()));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let mut gz = flate2::write::GzEncoder::new(std::fs::File::create(&p).unwrap(), flate2::Compression::fast());
        gz.write_all(b"a,b\n1,").unwrap();
        let block = vec![b'9'; 1 << 20];
        for _ in 0..1024 {
            gz.write_all(&block).unwrap();
        }
        gz.write_all(b"\n").unwrap();
        gz.finish().unwrap();
        let e = crate::frame::read_csv(&p, &crate::frame::CsvOptions::new()).unwrap_err().to_string();
        assert!(e.contains("line 2 is longer than the limit of 16777216 bytes"), "{e}");
        let ds = csv_dataset(&p, &CsvDatasetOptions::new()).unwrap();
        let e = collect(&ds).unwrap_err().to_string();
        assert!(e.contains("line 2 is longer than the limit of 16777216 bytes"), "{e}");
        std::fs::remove_file(&p).unwrap();
    }
}
