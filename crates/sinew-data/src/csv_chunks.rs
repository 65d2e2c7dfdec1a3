//! A CSV table read a chunk of rows at a time ([`CsvChunks`]): each chunk is a `DataFrame` of
//! text columns, as [`crate::frame_from_rows`] makes them, with the file line of every row. Only
//! one chunk is held, so a file larger than memory streams through a model's `partial_fit`.

use crate::csv_stream::{max_line_bytes, read_header, split_fields, BoundedLines};
use crate::error::{Error, Result};
use crate::frame::CsvOptions;
use polars::prelude::{Column, DataFrame};
use std::path::{Path, PathBuf};

/// The rows of a CSV file, `rows` at a time. Options as [`crate::read_csv`] takes them (header
/// or column names, separator, extra null values, trimming); every column comes out as text,
/// missing values as null. Blank lines are skipped. Errors name the file and the line.
pub struct CsvChunks {
    lines: BoundedLines,
    path: PathBuf,
    names: Vec<String>,
    options: CsvOptions,
    rows: usize,
}

impl CsvChunks {
    pub fn open(path: impl AsRef<Path>, options: &CsvOptions, rows: usize) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if rows == 0 {
            return Err(Error::invalid("CsvChunks.open: chunks of 0 rows"));
        }
        let mut lines = BoundedLines::open(&path, max_line_bytes())?;
        let names = if options.has_header {
            read_header(&mut lines, &path, options.separator)?
        } else {
            options.column_names.clone().ok_or_else(|| {
                Error::invalid(format!("CsvChunks.open: {}: no header and no column names", path.display()))
            })?
        };
        Ok(CsvChunks { lines, path, names, options: options.clone(), rows })
    }

    /// The column names, from the header or the options.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The next chunk of at most `rows` rows and the 1-based file line of each; `None` after
    /// the last row.
    pub fn next_chunk(&mut self) -> Result<Option<(DataFrame, Vec<usize>)>> {
        let width = self.names.len();
        let mut columns: Vec<Vec<Option<String>>> = vec![Vec::with_capacity(self.rows); width];
        let (mut lines, mut buf) = (vec![], Vec::new());
        while lines.len() < self.rows && self.lines.next_into(&mut buf)? {
            if buf.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            let line = self.lines.line;
            let text = std::str::from_utf8(&buf)
                .map_err(|_| Error::format(&self.path, format!("line {line} is not UTF-8 text")))?;
            let mut fields = Vec::with_capacity(width);
            split_fields(text.as_bytes(), self.options.separator, &mut fields)
                .map_err(|e| Error::format(&self.path, format!("line {line}: {e}")))?;
            if fields.len() != width {
                return Err(Error::format(
                    &self.path,
                    format!("line {line} has {} fields, the header {width}", fields.len()),
                ));
            }
            for (col, f) in columns.iter_mut().zip(&fields) {
                col.push(self.options.cell(&String::from_utf8_lossy(f)));
            }
            lines.push(line);
        }
        if lines.is_empty() {
            return Ok(None);
        }
        let cols = self.names.iter().zip(columns).map(|(name, values)| Column::new(name.as_str().into(), values));
        let df = DataFrame::new(lines.len(), cols.collect()).map_err(|e| Error::format(&self.path, e))?;
        Ok(Some((df, lines)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::column_str;

    #[test]
    fn chunks_cover_every_row_once_with_its_line() {
        let path = std::env::temp_dir().join(format!("sinew-csv-chunks-{}.csv", std::process::id()));
        std::fs::write(&path, "a,b\n1,x\n\n2,NA\n3,\"y,z\"\n4,w\n5,v\n").unwrap();
        let mut c = CsvChunks::open(&path, &CsvOptions::new(), 2).unwrap();
        assert_eq!(c.names(), ["a", "b"]);
        let mut seen = vec![];
        while let Some((df, lines)) = c.next_chunk().unwrap() {
            assert!(df.height() <= 2 && df.height() == lines.len());
            for (v, l) in column_str(&df, "b").unwrap().into_iter().zip(lines) {
                seen.push((v, l));
            }
        }
        let want = [(Some("x"), 2), (None, 4), (Some("y,z"), 5), (Some("w"), 6), (Some("v"), 7)];
        assert_eq!(seen, want.map(|(v, l)| (v.map(String::from), l)));
        std::fs::write(&path, "a,b\n1,x\n2\n").unwrap();
        let e = CsvChunks::open(&path, &CsvOptions::new(), 5).unwrap().next_chunk().unwrap_err();
        assert!(e.to_string().contains("line 3 has 1 fields, the header 2"), "{e}");
        std::fs::remove_file(&path).unwrap();
    }
}
