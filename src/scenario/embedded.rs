//! The trace files built-in scenarios replay, compiled into the binary.
//!
//! A built-in scenario (`borgsim run openb`, and the bench suite, which runs
//! only built-ins) must not depend on where the binary is or what directory
//! it runs in: a binary copied away from its checkout has no `traces/`
//! beside it. So the trace files the built-ins name are embedded here (they
//! are small: the openb node and pod lists, ~0.6 MB, and Alibaba 2018's
//! `machine_meta`, ~0.55 MB, and the synthetic Google 2011-layout trace with
//! usage, ~0.4 MB), and a built-in's `[trace].files` and
//! `cell.from_trace.files` — written relative to `scenarios/` like any
//! scenario file's, so the same TOML also works as a file — resolve against
//! this table rather than the disk. A user's scenario file still reads real files
//! relative to itself; nothing on disk can shadow an embedded file, nor the
//! other way round.

use crate::error::{Error, Result};
use crate::trace::{Embedded, Source};
use std::path::{Component, Path, PathBuf};

/// An embedded file: its source-tree path, under `<embedded>/` (so errors
/// and `trace inspect`'s output name it), and its bytes.
macro_rules! embed {
    ($path:literal) => {
        Embedded {
            path: concat!("<embedded>/", $path),
            bytes: include_bytes!(concat!("../../", $path)),
        }
    };
}

/// Every trace file a built-in scenario names (a test checks that each
/// built-in's files resolve here, and that each file here is used).
pub static FILES: &[Embedded] = &[
    embed!("traces/alibaba-2018/machine_meta.csv"),
    embed!("traces/alibaba-openb-2023/openb_node_list_gpu_node.csv"),
    embed!("traces/alibaba-openb-2023/openb_pod_list_default.csv"),
    embed!("traces/google2011-synth-usage/job_events/part-00000-of-00001.csv"),
    embed!("traces/google2011-synth-usage/machine_events/part-00000-of-00001.csv"),
    embed!("traces/google2011-synth-usage/task_events/part-00000-of-00001.csv"),
    embed!("traces/google2011-synth-usage/task_usage/part-00000-of-00001.csv"),
];

/// Where a built-in scenario's relative paths start, as a scenario file in
/// the source tree would have them.
const SCENARIOS_DIR: &str = "scenarios";

/// A built-in scenario's `[trace].files`, as embedded files: each path,
/// relative to `scenarios/`, names an embedded file or a directory of them
/// (standing for the files under it, in path order, as on disk).
pub fn resolve(origin: &Path, files: &[PathBuf]) -> Result<Vec<Source>> {
    let mut out = Vec::new();
    for f in files {
        let found = normal(&Path::new(SCENARIOS_DIR).join(f)).map(|rel| under(&rel));
        match found {
            Some(v) if !v.is_empty() => out.extend(v),
            _ => {
                return Err(Error::Invalid {
                    path: origin.to_path_buf(),
                    key: "trace.files".into(),
                    message: format!(
                        "{} is not embedded in borgsim (a built-in scenario reads only the \
                         trace files compiled in with it)",
                        f.display()
                    ),
                })
            }
        }
    }
    Ok(out)
}

/// The embedded files at `rel` (a source-tree path): the file itself, or
/// those under it if it is a directory, in path order.
fn under(rel: &Path) -> Vec<Source> {
    let mut v: Vec<&'static Embedded> = FILES
        .iter()
        .filter(|e| {
            let p = tree_path(e);
            p == rel || (p.starts_with(rel) && !crate::trace::replay::is_documentation(p))
        })
        .collect();
    v.sort_by_key(|e| e.path);
    v.into_iter().map(Source::Embedded).collect()
}

/// An embedded file's path in the source tree.
fn tree_path(e: &Embedded) -> &Path {
    Path::new(e.path.strip_prefix("<embedded>/").unwrap_or(e.path))
}

/// `p` with `.` and `dir/..` removed, lexically; `None` if it is absolute
/// or climbs above the source tree's root.
fn normal(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Scenario, BUILTIN};

    fn names(v: &[Source]) -> Vec<String> {
        v.iter().map(|s| s.path().display().to_string()).collect()
    }

    #[test]
    fn paths_resolve_relative_to_scenarios_as_on_disk() {
        let origin = Path::new("<embedded>/openb.toml");
        let one = "../traces/alibaba-openb-2023/./openb_pod_list_default.csv";
        let got = resolve(origin, &[PathBuf::from(one)]).unwrap();
        assert_eq!(
            names(&got),
            ["<embedded>/traces/alibaba-openb-2023/openb_pod_list_default.csv"]
        );
        // A directory stands for the embedded files under it, in path order.
        let dir = resolve(origin, &[PathBuf::from("../traces/alibaba-openb-2023/")]).unwrap();
        assert_eq!(dir.len(), 2);
        assert!(names(&dir)[0].ends_with("openb_node_list_gpu_node.csv"));
    }

    #[test]
    fn a_file_not_embedded_is_an_error_naming_it() {
        let origin = Path::new("<embedded>/openb.toml");
        for bad in [
            "../traces/alibaba-openb-2023/openb_node_list_all_node.csv",
            "../traces/alibaba-openb-2023/openb_pod_list",
            "/etc/passwd",
            "../../outside.csv",
        ] {
            let e = resolve(origin, &[PathBuf::from(bad)]).unwrap_err();
            let msg = e.to_string();
            assert!(msg.contains("<embedded>/openb.toml"), "{msg}");
            assert!(msg.contains(bad) && msg.contains("not embedded"), "{msg}");
        }
    }

    /// Every built-in's trace files are embedded, and every embedded file
    /// is some built-in's (nothing compiled in for nothing).
    #[test]
    fn every_builtin_trace_file_is_embedded_and_every_embedded_file_used() {
        let mut used = Vec::new();
        for (name, _) in BUILTIN {
            let sc = Scenario::builtin(name).unwrap().unwrap();
            if let Some(tc) = &sc.trace {
                let files = sc.trace_files(tc).unwrap();
                assert!(!files.is_empty(), "{name}");
                assert!(files.iter().all(|f| f.on_disk().is_none()), "{name}");
                used.extend(names(&files));
            }
            if let Some(ft) = &sc.cell.from_trace {
                let files = resolve(Path::new(name), &ft.files).unwrap();
                assert!(!files.is_empty(), "{name}");
                used.extend(names(&files));
            }
        }
        for e in FILES {
            assert!(used.iter().any(|u| u == e.path), "{} unused", e.path);
        }
    }
}
