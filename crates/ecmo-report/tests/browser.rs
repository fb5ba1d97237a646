//! The report looked at as a person would: rendered by headless Chromium, every chart
//! laid out with a real size and drawn marks inside it.
//!
//! Chromium is found through ECMO_CHROMIUM or /usr/bin/chromium. Without it the test
//! passes with a message, unless ECMO_REQUIRE_BROWSER=1 (CI), where it fails.
//! ECMO_UPDATE_SCREENSHOT=1 also writes docs/img/study-report.png.

mod common;

use ecmo_synth::Profile;
use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    let p = std::env::var_os("ECMO_CHROMIUM").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    p.exists().then_some(p)
}

fn browser(bin: &Path, profile: &Path, extra: &[&str], page: &Path) -> std::process::Output {
    Command::new(bin)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        .args(["--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(page)
        .output()
        .expect("running chromium")
}

/// Measures every chart after layout and writes the numbers into the DOM.
const MEASURE: &str = r#"<script>
const out = [...document.querySelectorAll('svg[data-chart]')].map(s => {
  const r = s.getBoundingClientRect();
  const marks = [...s.querySelectorAll('polyline[data-series], rect[data-estimate], circle[data-bin], rect[data-box], text[data-at-risk]')]
    .map(m => { const b = m.getBBox(); return b.width + b.height; }).filter(v => v > 0).length;
  return s.dataset.chart + ' ' + Math.round(r.width) + ' ' + Math.round(r.height) + ' ' + marks;
});
const pre = document.createElement('pre'); pre.id = 'measured'; pre.textContent = out.join('\n');
document.body.appendChild(pre);
</script>"#;

#[test]
fn charts_render_with_content_in_chromium() {
    let Some(bin) = chromium() else {
        if std::env::var("ECMO_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!(
                "ECMO_REQUIRE_BROWSER=1 but no Chromium at ECMO_CHROMIUM or /usr/bin/chromium (apt-get install chromium)"
            );
        }
        eprintln!(
            "SKIPPED: no Chromium (set ECMO_CHROMIUM or install Debian's chromium); CI sets ECMO_REQUIRE_BROWSER=1"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut sizes = Vec::new();
    for (study, profile, n) in
        [("vis", Profile::CsVis, 200), ("vad", Profile::VadReferral, 120), ("weaning", Profile::CsWeaning, 200)]
    {
        let res = common::study(study, &common::runs(profile, n, 21));
        let html = ecmo_report::render_html(&res);
        let report = dir.path().join(format!("{study}.html"));
        std::fs::write(&report, &html).unwrap();
        let measured_page = dir.path().join(format!("{study}-measure.html"));
        std::fs::write(&measured_page, html.replace("</body>", &format!("{MEASURE}</body>"))).unwrap();
        let o = browser(&bin, &dir.path().join("profile"), &["--dump-dom"], &measured_page);
        assert!(o.status.success(), "chromium failed: {}", String::from_utf8_lossy(&o.stderr));
        let dom = String::from_utf8_lossy(&o.stdout);
        let start = dom.find("<pre id=\"measured\">").expect("measurement script ran") + 19;
        let end = start + dom[start..].find("</pre>").unwrap();
        let lines: Vec<&str> = dom[start..end].lines().collect();
        eprintln!("{study}: {lines:?}");
        let kinds: Vec<&str> = lines.iter().map(|l| l.split(' ').next().unwrap()).collect();
        let expected: &[&str] = match study {
            "vis" => &["flow", "forest", "forest", "calibration", "roc", "dca", "subgroup-forest", "trajectory"],
            "weaning" => &["flow", "forest", "calibration", "stability", "roc", "dca", "cif", "trajectory"],
            _ => &["flow", "forest", "forest", "calibration", "km"],
        };
        for k in expected {
            assert!(kinds.contains(k), "{study}: no {k} chart rendered ({kinds:?})");
        }
        for l in &lines {
            let f: Vec<f64> = l.split(' ').skip(1).map(|v| v.parse().unwrap()).collect();
            assert!(f[0] >= 300.0 && f[1] >= 100.0, "{study}: chart too small: {l}");
            assert!(f[2] >= 1.0, "{study}: chart without drawn marks: {l}");
        }
        let png = dir.path().join(format!("{study}.png"));
        let o = browser(
            &bin,
            &dir.path().join("profile"),
            &[&format!("--screenshot={}", png.display()), "--window-size=1200,3400"],
            &report,
        );
        assert!(o.status.success());
        let bytes = std::fs::read(&png).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        assert_eq!(width, 1200);
        sizes.push(bytes.len());
        // A blank page of this size compresses to ~15 kB; charts and tables are far larger.
        assert!(bytes.len() > 100_000, "{study}: screenshot looks empty ({} bytes)", bytes.len());
        if study == "vis" && std::env::var("ECMO_UPDATE_SCREENSHOT").as_deref() == Ok("1") {
            let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/img");
            std::fs::create_dir_all(&docs).unwrap();
            std::fs::copy(&png, docs.join("study-report.png")).unwrap();
        }
    }
    eprintln!("screenshot sizes {sizes:?}");
}
