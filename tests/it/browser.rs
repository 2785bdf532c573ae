//! The pages in a real browser: headless Chromium opens them from disk
//! with every host name made unresolvable — quickstart's run page, a
//! compare page of two tiny runs, and openb's run page with its GPU plots
//! — and the tests check that the console stayed silent (a failed fetch or
//! a broken page logs there), that every plot is present and not blank
//! (openb's GPU panels too), and that at 700 px wide no table widens the
//! page: a table wider than its column scrolls inside its own box, and the
//! per-band tables fit. `.ci/run` installs Debian's `chromium` when it is
//! missing; where no browser can be found each test says so and passes.

use super::{borgsim, root, text};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Each plot is laid in a box of this size (px) for its screenshot: a
/// plot is 1000 px wide, and three panels with a legend fit its height.
const BOX_PX: usize = 1000;
/// The top of a chart's panels, and each panel's height, in the drawing's
/// px (src/report/draw.rs: `TITLE_H`, `PANEL_H`).
const TITLE_PX: usize = 40;
const PANEL_PX: usize = 280;

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

/// Runs Chromium headless on `page` with `args` (a fresh profile under
/// `scratch`); returns its stdout and stderr.
fn chromium_on(browser: &Path, page: &Path, scratch: &Path, args: &[String]) -> (String, String) {
    let profile = tempfile::tempdir_in(scratch).unwrap();
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
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    (text(&o.stdout), text(&o.stderr))
}

/// Renders `page` into `shot` (PNG) at `size` (`W,H`); returns Chromium's
/// stderr.
fn render(browser: &Path, page: &Path, shot: &Path, scratch: &Path, size: &str) -> String {
    let args = [
        format!("--window-size={size}"),
        format!("--screenshot={}", shot.display()),
    ];
    let (_, err) = chromium_on(browser, page, scratch, &args);
    assert!(shot.exists(), "no screenshot: {err}");
    err
}

/// A screenshot's pixels.
struct Shot {
    width: usize,
    channels: usize,
    px: Vec<u8>,
}

impl Shot {
    fn read(path: &Path) -> Shot {
        let decoder = png::Decoder::new(fs::File::open(path).unwrap());
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        buf.truncate(info.buffer_size());
        Shot {
            width: info.width as usize,
            channels: info.color_type.samples(),
            px: buf,
        }
    }

    /// The shares of the pixels of rows `top..bottom` that are not (near)
    /// white, and that are coloured (a data series; axes, grid and text
    /// are grey or black).
    fn inked(&self, top: usize, bottom: usize) -> (f64, f64) {
        let row = self.width * self.channels;
        let px = &self.px[top * row..(bottom * row).min(self.px.len())];
        let n = (px.len() / self.channels) as f64;
        let pixels = || px.chunks(self.channels).map(|p| &p[..3]);
        let inked = pixels().filter(|p| p.iter().any(|&c| c < 230)).count();
        let coloured = pixels()
            .filter(|p| p.iter().max().unwrap() - p.iter().min().unwrap() > 60)
            .count();
        (inked as f64 / n, coloured as f64 / n)
    }
}

/// The page's inline plots, in order.
fn plots(html: &str) -> Vec<&str> {
    html.match_indices("<svg")
        .map(|(i, _)| &html[i..i + html[i..].find("</svg>").unwrap() + 6])
        .collect()
}

/// Opens `page` as a person would: the console stays silent and the page
/// is drawn; then every inline plot, each alone in a box of its own in
/// one screenshot, is present and not blank. Returns each plot with its
/// pixels' box, for closer looks.
fn check_page(
    browser: &Path,
    page: &Path,
    scratch: &Path,
    min_plots: usize,
) -> (Vec<String>, Shot) {
    let what = page.display();
    let shot = scratch.join("page.png");
    let log = render(browser, page, &shot, scratch, "1200,3000");
    let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(
        console.is_empty(),
        "{what}: the console spoke:\n{}",
        console.join("\n")
    );
    assert!(
        Shot::read(&shot).inked(0, 3000).0 > 0.02,
        "{what}: a blank page"
    );
    let html = fs::read_to_string(page).unwrap();
    let plots: Vec<String> = plots(&html).into_iter().map(String::from).collect();
    assert!(plots.len() >= min_plots, "{what}: {} plots", plots.len());
    let boxes: String = plots
        .iter()
        .map(|svg| {
            format!("<div style=\"width:{BOX_PX}px;height:{BOX_PX}px;overflow:hidden\">{svg}</div>")
        })
        .collect();
    let alone = scratch.join("plots.html");
    fs::write(
        &alone,
        format!("<!doctype html><body style=\"margin:0;width:{BOX_PX}px\">{boxes}</body>"),
    )
    .unwrap();
    let shot = scratch.join("plots.png");
    let size = format!("{BOX_PX},{}", BOX_PX * plots.len());
    render(browser, &alone, &shot, scratch, &size);
    let shot = Shot::read(&shot);
    for i in 0..plots.len() {
        let (inked, coloured) = shot.inked(i * BOX_PX, (i + 1) * BOX_PX);
        eprintln!(
            "{what}: plot {i}: {:.2} % inked, {:.2} % coloured",
            inked * 100.0,
            coloured * 100.0
        );
        assert!(
            inked > 0.01 && coloured > 0.001,
            "{what}: plot {i} looks blank: {:.2} % inked, {:.2} % in a series' colours",
            inked * 100.0,
            coloured * 100.0
        );
    }
    (plots, shot)
}

/// Measures the page's layout in the browser, at `width` px: the page's
/// width and its window's, then per table: id, content width, box width,
/// `overflow-x`, and the right edges of the table's box and of its
/// container. (A copy of the page with a script added: the page itself
/// has none.)
const MEASURE: &str = "<script>addEventListener('load', () => {
  const d = document.documentElement, out = ['page ' + d.scrollWidth + ' ' + d.clientWidth];
  document.querySelectorAll('table').forEach((t, i) => out.push(['table', t.id || 'table-' + i,
    t.scrollWidth, t.clientWidth, getComputedStyle(t).overflowX,
    Math.round(t.getBoundingClientRect().right), Math.round(t.parentElement.getBoundingClientRect().right)].join(' ')));
  const pre = document.createElement('pre'); pre.id = 'measured'; pre.textContent = out.join('\\n');
  document.body.appendChild(pre);
});</script>";

/// At 700 px wide (a narrow window, a tablet) the page never scrolls
/// sideways: a table wider than its column scrolls inside its own box,
/// which stays in the column; and the tables named in `fit` fit whole.
fn check_narrow(browser: &Path, page: &Path, scratch: &Path, fit: &[&str]) {
    let what = page.display();
    let html = fs::read_to_string(page).unwrap();
    let copy = scratch.join("measured.html");
    fs::write(&copy, html.replace("</body>", &format!("{MEASURE}</body>"))).unwrap();
    let args = [
        "--window-size=700,3000".to_string(),
        "--dump-dom".to_string(),
    ];
    let (dom, err) = chromium_on(browser, &copy, scratch, &args);
    let at = dom
        .find("<pre id=\"measured\">")
        .unwrap_or_else(|| panic!("{what}: nothing measured: {err}"));
    let measured = &dom[at + 19..at + dom[at..].find("</pre>").unwrap()];
    let mut tables = 0;
    for line in measured.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let n = |i: usize| f[i].parse::<i64>().unwrap();
        if f[0] == "page" {
            assert!(
                n(1) <= n(2),
                "{what}: the page scrolls sideways at 700 px: {line}"
            );
            continue;
        }
        tables += 1;
        let (id, content, width, overflow) = (f[1], n(2), n(3), f[4]);
        assert!(
            n(5) <= n(6) + 1,
            "{what}: table {id} sticks out of its column at 700 px: {line}"
        );
        if content > width {
            assert!(
                overflow == "auto" || overflow == "scroll",
                "{what}: table {id} overflows without scrolling at 700 px: {line}"
            );
        }
        if fit.contains(&id) {
            assert!(
                content <= width,
                "{what}: table {id} does not fit at 700 px: {line}"
            );
        }
    }
    assert!(
        tables >= fit.len().max(1),
        "{what}: {tables} tables measured"
    );
}

fn run(dir: &Path, args: &[&str]) {
    let o = borgsim(dir, args);
    assert!(o.status.success(), "{args:?}: {}", text(&o.stderr));
}

#[test]
fn the_run_page_renders_in_a_browser_with_every_plot_drawn() {
    let Some(browser) = chromium() else {
        eprintln!("skipped: no Chromium here (.ci/run installs Debian's chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(d, &["run", "quickstart", "--quiet", "--out", "o"]);
    let page = d.join("o/report.html");
    check_page(&browser, &page, d, 5);
    // The reviewer's window: the per-band tables fit, whatever scrolls.
    check_narrow(&browser, &page, d, &["by-band", "waits-by-band"]);
}

#[test]
fn the_compare_page_renders_in_a_browser_with_every_plot_drawn() {
    let Some(browser) = chromium() else {
        eprintln!("skipped: no Chromium here (.ci/run installs Debian's chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tiny = root().join("tests/golden/tiny.toml");
    let tiny = tiny.to_str().unwrap();
    for (out, preemption) in [("on", "on"), ("off", "off")] {
        let args = [
            "run",
            tiny,
            "-q",
            "--no-plots",
            "--preemption",
            preemption,
            "--out",
            out,
        ];
        run(d, &args);
    }
    run(d, &["compare", "on", "off", "-q", "--out", "cmp"]);
    let page = d.join("cmp/report.html");
    check_page(&browser, &page, d, 3);
    check_narrow(&browser, &page, d, &[]);
}

#[test]
fn the_gpu_run_page_renders_in_a_browser_with_its_gpu_plots_drawn() {
    let Some(browser) = chromium() else {
        eprintln!("skipped: no Chromium here (.ci/run installs Debian's chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run(d, &["run", "openb", "--quiet", "--out", "o"]);
    let page = d.join("o/report.html");
    let (plots, shot) = check_page(&browser, &page, d, 4);
    // The GPU panel (the third) of each allocation plot has a series in
    // it, and the GPU packing curve is drawn.
    let mut gpu = 0;
    for (i, svg) in plots.iter().enumerate() {
        let top = i * BOX_PX;
        if svg.contains(">\nGPU\n<") {
            let panel = top + TITLE_PX + 2 * PANEL_PX;
            let (_, coloured) = shot.inked(panel, panel + PANEL_PX);
            assert!(
                coloured > 0.01,
                "plot {i}: the GPU panel is blank ({coloured})"
            );
            gpu += 1;
        }
        if svg.contains("GPU demand arrived (% of GPU capacity)") {
            let (_, coloured) = shot.inked(top, top + BOX_PX);
            assert!(coloured > 0.001, "plot {i}: the GPU packing curve is blank");
            gpu += 1;
        }
    }
    assert_eq!(gpu, 3, "GPU panels by band and by class, and GPU packing");
    check_narrow(&browser, &page, d, &["by-band", "waits-by-band"]);
}
