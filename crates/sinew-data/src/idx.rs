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

/// Reads raw bytes, gunzipping when the file starts with the gzip magic.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(raw.len() * 4);
        GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| Error::format(path, format!("corrupt gzip data: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// The first line of a text file, gzip-compressed or not, reading no further than it (for a
/// header). Without its line ending; an empty file gives an empty line.
pub fn read_first_line(path: &Path) -> Result<String> {
    use std::io::{BufRead, BufReader};
    let mut f = BufReader::new(std::fs::File::open(path).map_err(|e| Error::io(path, e))?);
    let gz = f.fill_buf().map_err(|e| Error::io(path, e))?.starts_with(&[0x1f, 0x8b]);
    let mut line = Vec::new();
    let read = if gz {
        BufReader::new(GzDecoder::new(f)).read_until(b'\n', &mut line)
    } else {
        f.read_until(b'\n', &mut line)
    };
    read.map_err(|e| Error::format(path, format!("cannot read the first line: {e}")))?;
    let line = String::from_utf8(line).map_err(|_| Error::format(path, "line 1 is not UTF-8 text"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Parses an IDX file of u8 values, checking the magic and that the payload fills the dims.
pub fn read_idx_u8(path: &Path) -> Result<IdxU8> {
    parse_idx_u8(&read_maybe_gz(path)?).map_err(|what| Error::format(path, what))
}

fn parse_idx_u8(b: &[u8]) -> std::result::Result<IdxU8, String> {
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
    let dims: Vec<usize> =
        (0..nd).map(|i| u32::from_be_bytes(b[4 + 4 * i..8 + 4 * i].try_into().unwrap()) as usize).collect();
    let n = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| format!("IDX dimensions {dims:?} overflow"))?;
    let payload = &b[4 + 4 * nd..];
    if payload.len() != n {
        return Err(format!(
            "IDX dimensions {dims:?} need {n} bytes of data, the file has {} (truncated or corrupt)",
            payload.len()
        ));
    }
    Ok(IdxU8 { dims, data: payload.to_vec() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idx_parses_and_rejects_bad_headers() {
        let ok = [0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6];
        let a = parse_idx_u8(&ok).unwrap();
        assert_eq!((a.dims.clone(), a.data.len()), (vec![2, 3], 6));
        assert!(parse_idx_u8(&ok[..10]).unwrap_err().contains("declares 2 dimensions"));
        assert!(parse_idx_u8(&ok[..16]).unwrap_err().contains("need 6 bytes of data, the file has 4"));
        assert!(parse_idx_u8(&[1, 2, 3, 4, 5]).unwrap_err().contains("not an IDX file"));
        assert!(parse_idx_u8(&[0, 0, 0x0d, 1, 0, 0, 0, 1, 0]).unwrap_err().contains("not supported"));
        assert!(parse_idx_u8(&[]).unwrap_err().contains("shorter than the 4-byte magic"));
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
