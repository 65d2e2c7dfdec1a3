//! Keras `load_data()` for the IDX datasets: the files live in a data directory (an argument,
//! else `$SINEW_DATA_DIR/<name>`, else `~/.cache/sinew/datasets/<name>`); missing ones are
//! downloaded from the canonical mirrors, and every file is checked against its published MD5
//! before it is used. A file whose checksum is wrong is an error that says so, never silently
//! trained on.

use crate::datasets::{load_mnist, Mnist};
use crate::error::{Error, ErrorKind, Result};
use crate::idx::read_maybe_gz;
use md5::{Digest, Md5};
use std::path::{Path, PathBuf};

/// One published file of a dataset.
#[derive(Clone, Copy, Debug)]
pub struct RemoteFile {
    pub name: &'static str,
    /// MD5 of the file as the mirrors serve it.
    pub md5: &'static str,
    /// MD5 of the decompressed content, where it is published (a re-compressed copy of the same
    /// data then passes too).
    pub raw_md5: Option<&'static str>,
}

/// A dataset that [`load_data`] can fetch.
#[derive(Clone, Copy, Debug)]
pub struct Remote {
    pub name: &'static str,
    /// Base URLs, tried in order.
    pub mirrors: &'static [&'static str],
    pub files: &'static [RemoteFile],
}

/// MNIST (LeCun, Cortes and Burges; CC BY-SA 3.0). The checksums are the originals'.
pub const MNIST: Remote = Remote {
    name: "mnist",
    mirrors: &["https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/"],
    files: &[
        RemoteFile {
            name: "train-images-idx3-ubyte.gz",
            md5: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            raw_md5: Some("6bbc9ace898e44ae57da46a324031adb"),
        },
        RemoteFile {
            name: "train-labels-idx1-ubyte.gz",
            md5: "d53e105ee54ea40749a09fcbcd1e9432",
            raw_md5: Some("a25bea736e30d166cdddb491f175f624"),
        },
        RemoteFile {
            name: "t10k-images-idx3-ubyte.gz",
            md5: "9fb629c4189551a2d022fa330f9573f3",
            raw_md5: Some("2646ac647ad5339dbf082846283269ea"),
        },
        RemoteFile {
            name: "t10k-labels-idx1-ubyte.gz",
            md5: "ec29112dd5afa0611ce80d1b7f02629c",
            raw_md5: Some("27ae3e4e09519cfbb04c329615203637"),
        },
    ],
};

/// Fashion-MNIST (Zalando Research, MIT), the same layout as MNIST.
pub const FASHION_MNIST: Remote = Remote {
    name: "fashion-mnist",
    mirrors: &["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
    files: &[
        RemoteFile { name: "train-images-idx3-ubyte.gz", md5: "8d4fb7e6c68d591d4c3dfef9ec88bf0d", raw_md5: None },
        RemoteFile { name: "train-labels-idx1-ubyte.gz", md5: "25c81989df183df01b3e8a0aad5dffbe", raw_md5: None },
        RemoteFile { name: "t10k-images-idx3-ubyte.gz", md5: "bef4ecab320f06d8554ea6380940ec79", raw_md5: None },
        RemoteFile { name: "t10k-labels-idx1-ubyte.gz", md5: "bb300cfdad3c16e7a12a480ee83cd310", raw_md5: None },
    ],
};

/// The folder `load_data` uses for `name` when none is given: `$SINEW_DATA_DIR/name`, else
/// `~/.cache/sinew/datasets/name`.
pub fn data_dir(name: &str) -> PathBuf {
    if let Some(root) = std::env::var_os("SINEW_DATA_DIR") {
        return Path::new(&root).join(name);
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
    Path::new(&home).join(".cache/sinew/datasets").join(name)
}

fn hex_md5(bytes: &[u8]) -> String {
    Md5::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks `path` against `file`'s published checksums.
pub fn verify(path: &Path, file: &RemoteFile) -> Result<()> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let got = hex_md5(&bytes);
    if got == file.md5 {
        return Ok(());
    }
    if let Some(raw) = file.raw_md5 {
        // A truncated archive does not decompress: that is a checksum mismatch too.
        if read_maybe_gz(path).is_ok_and(|content| hex_md5(&content) == raw) {
            return Ok(());
        }
    }
    Err(Error::format(
        path,
        format!(
            "checksum mismatch: md5 {got}, expected {} (the file is corrupt or truncated; delete it to download it again)",
            file.md5
        ),
    ))
}

/// Makes sure every file of `remote` is in `dir` (downloading what is missing) and verified.
pub fn fetch(remote: &Remote, dir: &Path) -> Result<()> {
    for file in remote.files {
        let path = dir.join(file.name);
        let raw = dir.join(file.name.trim_end_matches(".gz"));
        let local = if path.is_file() {
            path
        } else if raw.is_file() {
            raw
        } else {
            download(remote, file, dir)?
        };
        verify(&local, file)?;
    }
    Ok(())
}

#[cfg(feature = "download")]
fn download(remote: &Remote, file: &RemoteFile, dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let dest = dir.join(file.name);
    let mut failures = vec![];
    for base in remote.mirrors {
        let url = format!("{base}{}", file.name);
        match ureq::get(&url).call().and_then(|r| r.into_body().with_config().limit(200 << 20).read_to_vec()) {
            Ok(bytes) => {
                // Write through a temporary sibling so an interrupted download leaves no file.
                let tmp = dir.join(format!(".{}.part-{}", file.name, std::process::id()));
                std::fs::write(&tmp, &bytes).map_err(|e| Error::io(&tmp, e))?;
                std::fs::rename(&tmp, &dest).map_err(|e| Error::io(&dest, e))?;
                return Ok(dest);
            }
            Err(e) => failures.push(format!("{url}: {e}")),
        }
    }
    Err(Error {
        kind: ErrorKind::Io,
        row: None,
        file: None,
        message: format!(
            "{}: not in {} and the download failed (offline?): {}. Copy the files there, or set SINEW_DATA_DIR",
            file.name,
            dir.display(),
            failures.join("; ")
        ),
    })
}

#[cfg(not(feature = "download"))]
fn download(_remote: &Remote, file: &RemoteFile, dir: &Path) -> Result<PathBuf> {
    Err(Error {
        kind: ErrorKind::Io,
        row: None,
        file: None,
        message: format!(
            "{}: not in {} (this build has no `download` feature); copy the files there, or set SINEW_DATA_DIR",
            file.name,
            dir.display()
        ),
    })
}

/// Keras `mnist.load_data()` / `fashion_mnist.load_data()`: the four arrays, from `dir` or the
/// default [`data_dir`], downloaded if absent and verified by checksum.
pub fn load_data(remote: &Remote, dir: Option<&Path>) -> Result<Mnist> {
    let dir = dir.map(Path::to_path_buf).unwrap_or_else(|| data_dir(remote.name));
    fetch(remote, &dir)?;
    load_mnist(&dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_rejects_a_corrupt_file_and_offline_download_is_clear() {
        let dir = std::env::temp_dir().join(format!("sinew-download-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = &MNIST.files[3];
        std::fs::write(dir.join(f.name), b"not mnist").unwrap();
        let e = verify(&dir.join(f.name), f).unwrap_err();
        assert!(e.message.contains("checksum mismatch: md5 "), "{}", e.message);
        assert!(e.message.contains("expected ec29112dd5afa0611ce80d1b7f02629c"), "{}", e.message);
        // A mirror that cannot be reached (no network, or a closed local port) names the file,
        // the folder and what to do.
        let offline = Remote { name: "x", mirrors: &["http://127.0.0.1:9/"], files: MNIST.files };
        let empty = dir.join("empty");
        let e = fetch(&offline, &empty).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Io);
        assert!(e.message.starts_with("train-images-idx3-ubyte.gz: not in "), "{}", e.message);
        assert!(e.message.contains("SINEW_DATA_DIR"), "{}", e.message);
    }
}
