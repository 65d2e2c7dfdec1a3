//! The HTML report in a real browser: headless Chromium (Debian's `chromium`, which `.ci/run`
//! installs) loads the demo's report; the test checks that the charts are in the rendered DOM,
//! that nothing is fetched from the network, and that the console shows no message. The same
//! check is first shown to catch a page that does log an error. Under CI a missing Chromium is a
//! failure; elsewhere the test says it could not run.

use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SINEW_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// Renders `page` headless; returns the DOM after load and the console lines.
fn render(browser: &Path, page: &Path) -> (String, Vec<String>) {
    let o = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0", "--dump-dom"])
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(o.status.success(), "chromium failed: {}", String::from_utf8_lossy(&o.stderr));
    let console =
        String::from_utf8_lossy(&o.stderr).lines().filter(|l| l.contains(":CONSOLE")).map(String::from).collect();
    (String::from_utf8_lossy(&o.stdout).into_owned(), console)
}

#[test]
fn report_renders_in_headless_chromium_without_console_errors() {
    let Some(browser) = chromium() else {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI needs chromium (.ci/run installs Debian's chromium)");
        eprintln!("browser test not run: no chromium found (set SINEW_CHROMIUM or install Debian's chromium)");
        return;
    };
    let dir = std::env::temp_dir().join(format!("sinew-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The harness sees console errors.
    let bad = dir.join("bad.html");
    std::fs::write(&bad, "<html><body><script>console.error('boom'); missing();</script></body></html>").unwrap();
    let (_, console) = render(&browser, &bad);
    assert_eq!(console.len(), 2, "{console:?}");

    let out = dir.join("demo");
    let o = Command::new(env!("CARGO_BIN_EXE_sinew")).args(["--quiet", "demo", "--out"]).arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (dom, console) = render(&browser, &out.join("report.html"));
    assert!(console.is_empty(), "console messages: {console:?}");
    // Two models, each with two learning curves and a confusion matrix, plus sample images.
    assert!(dom.matches("class=\"chart\"").count() >= 6, "charts missing from the DOM");
    assert!(dom.matches("class=\"sample-image\"").count() >= 16);
    assert!(dom.contains("<h1>sinew demo: handwritten digits</h1>"));
    assert!(!dom.contains("src=\"http") && !dom.contains("href=\"http"), "the report fetches from the network");
}
