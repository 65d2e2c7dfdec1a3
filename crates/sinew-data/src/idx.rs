//! The IDX format of MNIST and Fashion-MNIST: a big-endian magic (`0x00 0x00 type ndim`), the
//! dimensions as big-endian u32, then the payload. Files may be gzip-compressed.

use crate::error::{Error, Result};
use flate2::read::GzDecoder;
use std::io::Read;
use std::path::Path;

/// A decoded IDX array of unsigned bytes (the only type MNIST uses).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxU8 {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// The most bytes a data file may hold once decompressed, unless `SINEW_MAX_INPUT_BYTES` says
/// otherwise: 4 GiB. A gzip stream that expands past it, or an IDX header that declares more, is
/// refused before the memory is taken.
pub const DEFAULT_MAX_INPUT_BYTES: u64 = 4 << 30;

/// The limit on a data file's decompressed size: `SINEW_MAX_INPUT_BYTES` when set to a number,
/// else [`DEFAULT_MAX_INPUT_BYTES`].
pub fn max_input_bytes() -> u64 {
    std::env::var("SINEW_MAX_INPUT_BYTES").ok().and_then(|v| v.trim().parse().ok()).unwrap_or(DEFAULT_MAX_INPUT_BYTES)
}

pub(crate) fn too_large(path: &Path, what: &str, limit: u64) -> Error {
    Error::format(
        path,
        format!("{what} past the limit of {limit} bytes on a data file's decompressed size (set SINEW_MAX_INPUT_BYTES to raise it)"),
    )
}

/// The file as a byte stream, gunzipped when it starts with the gzip magic.
pub(crate) fn open_maybe_gz(path: &Path) -> Result<Box<dyn Read + Send>> {
    use std::io::{BufRead, BufReader};
    let mut f = BufReader::new(std::fs::File::open(path).map_err(|e| Error::io(path, e))?);
    let gz = f.fill_buf().map_err(|e| Error::io(path, e))?.starts_with(&[0x1f, 0x8b]);
    Ok(if gz { Box::new(GzDecoder::new(f)) } else { Box::new(f) })
}

/// Reads raw bytes, gunzipping when the file starts with the gzip magic. A file that holds (or
/// expands to) more than [`max_input_bytes`] is refused once the limit is passed, not after.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    read_bounded(path, max_input_bytes())
}

fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    open_maybe_gz(path)?
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| Error::format(path, format!("corrupt gzip data: {e}")))?;
    if out.len() as u64 > limit {
        return Err(too_large(path, "the data runs", limit));
    }
    Ok(out)
}

/// The first line of a text file, gzip-compressed or not, reading no further than it (for a
/// header). Without its line ending; an empty file gives an empty line.
/// A first line longer than `max_line_bytes` is refused once it passes the limit.
pub fn read_first_line(path: &Path) -> Result<String> {
    let mut lines = crate::csv_stream::BoundedLines::open(path, crate::csv_stream::max_line_bytes())?;
    let mut line = Vec::new();
    lines.next_into(&mut line)?;
    String::from_utf8(line).map_err(|_| Error::format(path, "line 1 is not UTF-8 text"))
}

/// Parses an IDX file of u8 values, checking the magic and that the payload fills the dims. The
/// header is read first: a payload it declares larger than [`max_input_bytes`] is refused before
/// any of it is read.
pub fn read_idx_u8(path: &Path) -> Result<IdxU8> {
    read_idx_bounded(path, max_input_bytes())
}

fn read_idx_bounded(path: &Path, limit: u64) -> Result<IdxU8> {
    let mut r = open_maybe_gz(path)?;
    let mut head = Vec::with_capacity(4 + 4 * 255);
    // The magic, then as many dimensions as it declares.
    let fill = |r: &mut Box<dyn Read + Send>, head: &mut Vec<u8>, upto: usize| -> Result<()> {
        let need = upto.saturating_sub(head.len()) as u64;
        r.take(need).read_to_end(head).map_err(|e| Error::format(path, format!("corrupt gzip data: {e}")))?;
        Ok(())
    };
    fill(&mut r, &mut head, 4)?;
    let nd = if head.len() == 4 { head[3] as usize } else { 0 };
    fill(&mut r, &mut head, 4 + 4 * nd)?;
    let dims = parse_header(&head).map_err(|what| Error::format(path, what))?;
    let n = dims.iter().try_fold(1u64, |a, &d| a.checked_mul(d as u64)).unwrap_or(u64::MAX);
    if n > limit {
        return Err(too_large(path, &format!("the IDX header declares dimensions {dims:?}, {n} bytes,"), limit));
    }
    let mut data = Vec::with_capacity(n as usize);
    r.take(n + 1).read_to_end(&mut data).map_err(|e| Error::format(path, format!("corrupt gzip data: {e}")))?;
    if data.len() as u64 != n {
        let more = if data.len() as u64 > n { "more".to_string() } else { data.len().to_string() };
        return Err(Error::format(
            path,
            format!("IDX dimensions {dims:?} need {n} bytes of data, the file has {more} (truncated or corrupt)"),
        ));
    }
    Ok(IdxU8 { dims, data })
}

/// The dimensions an IDX header (magic and dims, nothing after) declares.
fn parse_header(b: &[u8]) -> std::result::Result<Vec<usize>, String> {
    if b.len() < 4 {
        return Err(format!("not an IDX file: {} bytes is shorter than the 4-byte magic", b.len()));
    }
    if b[0] != 0 || b[1] != 0 {
        return Err(format!("not an IDX file: magic starts with {:#04x} {:#04x}, expected 0x00 0x00", b[0], b[1]));
    }
    if b[2] != 0x08 {
        return Err(format!("IDX element type {:#04x} is not supported (only 0x08, unsigned byte)", b[2]));
    }
    let nd = b[3] as usize;
    if nd == 0 || b.len() < 4 + 4 * nd {
        return Err(format!("IDX header declares {nd} dimensions but the file has {} bytes", b.len()));
    }
    Ok((0..nd).map(|i| u32::from_be_bytes(b[4 + 4 * i..8 + 4 * i].try_into().unwrap()) as usize).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("sinew-idx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
        dir.join(name)
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn idx_parses_and_rejects_bad_headers() {
        let ok = [0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6];
        let read = |b: &[u8]| read_idx_bounded(&file("t.idx", b), 1 << 20);
        let a = read(&ok).unwrap();
        assert_eq!((a.dims.clone(), a.data.len()), (vec![2, 3], 6));
        assert_eq!(read_idx_bounded(&file("t.idx.gz", &gz(&ok)), 1 << 20).unwrap(), a);
        let msg = |b: &[u8]| read(b).unwrap_err().message;
        assert!(msg(&ok[..10]).contains("declares 2 dimensions"));
        assert!(msg(&ok[..16]).contains("need 6 bytes of data, the file has 4"));
        assert!(msg(&[ok.as_slice(), &[7]].concat()).contains("need 6 bytes of data, the file has more"));
        assert!(msg(&[1, 2, 3, 4, 5]).contains("not an IDX file"));
        assert!(msg(&[0, 0, 0x0d, 1, 0, 0, 0, 1, 0]).contains("not supported"));
        assert!(msg(&[]).contains("shorter than the 4-byte magic"));
    }

    #[test]
    fn declared_and_decompressed_sizes_past_the_limit_are_refused_before_reading() {
        // A header that claims 10^12 images of 28x28 is refused from its 16 bytes.
        let mut huge = vec![0, 0, 8, 3];
        for d in [1_000_000_000u32, 1000, 784] {
            huge.extend(d.to_be_bytes());
        }
        let e = read_idx_bounded(&file("huge.idx", &huge), DEFAULT_MAX_INPUT_BYTES).unwrap_err().message;
        assert!(
            e.contains("declares dimensions [1000000000, 1000, 784]") && e.contains("SINEW_MAX_INPUT_BYTES"),
            "{e}"
        );
        // A gzip stream that expands past the limit stops at the limit (10 MB of zeros, 1 MB limit).
        let bomb = file("bomb.csv.gz", &gz(&vec![0u8; 10 << 20]));
        let e = read_bounded(&bomb, 1 << 20).unwrap_err().message;
        assert!(e.contains("the data runs past the limit of 1048576 bytes"), "{e}");
        assert_eq!(read_bounded(&bomb, 16 << 20).unwrap().len(), 10 << 20);
    }
}

#[cfg(test)]
mod first_line_tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn read_first_line_stops_at_the_header_plain_or_gzip() {
        let dir = std::env::temp_dir().join(format!("sinew-first-line-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // The rest of the file is not text: reading it would fail, so only the header is read.
        let mut body = b"a,b,c\r\n".to_vec();
        body.extend([0xff, 0xfe, 0x00, b'\n']);
        let plain = dir.join("t.csv");
        std::fs::write(&plain, &body).unwrap();
        assert_eq!(read_first_line(&plain).unwrap(), "a,b,c");
        let gz = dir.join("t.csv.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&body).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        assert_eq!(read_first_line(&gz).unwrap(), "a,b,c");
        let e = read_first_line(&dir.join("missing.csv")).unwrap_err();
        assert!(e.message.contains("missing.csv"), "{}", e.message);
        // The file is a field too (issue 14: errors carry what they are about).
        assert_eq!(e.file.as_deref(), Some(dir.join("missing.csv").as_path()));
    }
}
