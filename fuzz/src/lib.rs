//! What every fuzz target shares: an allocator that aborts on any single allocation past
//! [`MAX_ALLOC`], the input limits the targets run under, and the scratch file a target hands
//! its input to the parser through (the parsers read files, as users give them).

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;

/// The largest single allocation a parser may make on a fuzz input: 64 MiB. Inputs are at most
/// 1 MiB (`-max_len`), and the data limits are set to 16 MiB ([`limits`]), so anything larger is
/// memory taken on a size the input only claims.
pub const MAX_ALLOC: usize = 64 << 20;

/// The system allocator, aborting (a crash libFuzzer reports with its input) on an allocation
/// past [`MAX_ALLOC`].
pub struct BoundedAlloc;

unsafe impl GlobalAlloc for BoundedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        System.alloc(layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        System.alloc_zeroed(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        check(new_size);
        System.realloc(ptr, layout, new_size)
    }
}

fn check(size: usize) {
    if size > MAX_ALLOC {
        // No formatting here: it would allocate.
        let msg = b"sinew-fuzz: an allocation past MAX_ALLOC (64 MiB)\n";
        say(msg);
        std::process::abort();
    }
}

fn say(msg: &[u8]) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(msg);
}

/// The data limits the targets run under: 16 MiB decompressed, 1 MiB a line.
pub fn limits() {
    std::env::set_var("SINEW_MAX_INPUT_BYTES", (16u64 << 20).to_string());
    std::env::set_var("SINEW_MAX_LINE_BYTES", (1u64 << 20).to_string());
}

/// Writes `data` to this process's scratch file named `name` (in /dev/shm when there is one)
/// and returns its path.
pub fn scratch(name: &str, data: &[u8]) -> PathBuf {
    let dir = if std::path::Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
    let p = dir.join(format!("sinew-fuzz-{}-{name}", std::process::id()));
    std::fs::write(&p, data).expect("write the scratch file");
    p
}
