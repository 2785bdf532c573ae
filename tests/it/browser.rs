//! The run report in a real browser: headless Chromium opens quickstart's
//! `report.html` from disk with every host name made unresolvable, and the
//! test checks that the console stayed silent (a failed fetch or a broken
//! page logs there) and that every plot, rendered alone, is present and
//! not blank. `.ci/run` installs Debian's `chromium` when it is missing;
//! where no browser can be found the test says so and passes.

use super::{borgsim, text};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

/// Renders `page` headless into `shot` (PNG); returns Chromium's stderr.
fn render(browser: &Path, page: &Path, shot: &Path, profile: &Path, size: &str) -> String {
    let o = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--window-size={size}"))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(shot.exists(), "no screenshot: {}", text(&o.stderr));
    text(&o.stderr)
}

/// The shares of a PNG's pixels that are not (near) white, and that are
/// coloured (a data series; axes, grid and text are grey or black).
fn inked_share(png_path: &Path) -> (f64, f64) {
    let decoder = png::Decoder::new(fs::File::open(png_path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let px = &buf[..info.buffer_size()];
    let n = (px.len() / channels) as f64;
    let inked = px
        .chunks(channels)
        .filter(|p| p.iter().take(3).any(|&c| c < 230))
        .count();
    let coloured = px
        .chunks(channels)
        .filter(|p| {
            let (lo, hi) = (p[..3].iter().min().unwrap(), p[..3].iter().max().unwrap());
            hi - lo > 60
        })
        .count();
    (inked as f64 / n, coloured as f64 / n)
}

#[test]
fn the_report_renders_in_a_browser_with_every_plot_drawn() {
    let Some(browser) = chromium() else {
        eprintln!("skipped: no Chromium here (.ci/run installs Debian's chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let o = borgsim(d, &["run", "quickstart", "--quiet", "--out", "o"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let page = d.join("o/report.html");
    let log = render(
        &browser,
        &page,
        &d.join("page.png"),
        &d.join("p0"),
        "1200,3000",
    );
    let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(
        console.is_empty(),
        "the console spoke:\n{}",
        console.join("\n")
    );
    assert!(inked_share(&d.join("page.png")).0 > 0.02);
    // Every inline plot, alone on a page: present, and drawn.
    let html = fs::read_to_string(&page).unwrap();
    let plots: Vec<&str> = html
        .match_indices("<svg")
        .map(|(i, _)| &html[i..i + html[i..].find("</svg>").unwrap() + 6])
        .collect();
    assert!(plots.len() >= 5, "{} plots", plots.len());
    for (i, svg) in plots.iter().enumerate() {
        let alone = d.join(format!("plot-{i}.html"));
        fs::write(
            &alone,
            format!("<!doctype html><body style=\"margin:0\">{svg}</body>"),
        )
        .unwrap();
        let shot = d.join(format!("plot-{i}.png"));
        render(
            &browser,
            &alone,
            &shot,
            &d.join(format!("p{}", i + 1)),
            "1000,900",
        );
        let (inked, coloured) = inked_share(&shot);
        eprintln!(
            "plot {i}: {:.2} % inked, {:.2} % coloured",
            inked * 100.0,
            coloured * 100.0
        );
        assert!(
            inked > 0.01 && coloured > 0.001,
            "plot {i} looks blank: {:.2} % inked, {:.2} % in a series' colours",
            inked * 100.0,
            coloured * 100.0
        );
    }
}
