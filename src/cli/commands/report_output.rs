//! Where the report goes: `--output FILE`, standard output, and under GitHub Actions the
//! annotations and the step summary.
//!
//! The rule:
//! - without `--output`, standard output gets `--format` (default: table on a terminal, concise
//!   otherwise);
//! - with `--output FILE`, FILE gets `--format` (or the format its extension names: `.sarif`,
//!   `.json`, `.xml` for JUnit, `.md`) and standard output gets the human default (table on a
//!   terminal, concise otherwise);
//! - with `GITHUB_ACTIONS=true`, annotations (`--format github`) follow a human report (table,
//!   concise, Markdown) on standard output, unless `--no-github-annotations`. They are never
//!   mixed into a machine format (JSON, SARIF, JUnit, GitLab), which must stay parseable;
//! - with `GITHUB_STEP_SUMMARY` set, the Markdown report is appended to the file it names.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::cli::args::ReportArgs;
use crate::report::{self, OutputFormat, RenderOptions, Report};

/// Where each report goes for one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Targets {
    pub stdout: OutputFormat,
    pub file: Option<(PathBuf, OutputFormat)>,
    /// Add GitHub annotations after the stdout report.
    pub annotations: bool,
    /// Append the Markdown report to this file (`GITHUB_STEP_SUMMARY`).
    pub step_summary: Option<PathBuf>,
}

/// Decide the targets from the options, whether stdout is a terminal, and the environment.
pub fn targets(
    args: &ReportArgs,
    stdout_is_terminal: bool,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Targets> {
    let human = if stdout_is_terminal {
        OutputFormat::Table
    } else {
        OutputFormat::Concise
    };
    let (stdout, file) = match &args.output {
        None => (args.format.unwrap_or(human), None),
        Some(path) => {
            let format = match args.format {
                Some(f) => f,
                None => format_from_extension(path).with_context(|| {
                    format!(
                        "--output {}: cannot tell the format from the extension \
                         (.sarif, .json, .xml, .md); give --format",
                        path.display()
                    )
                })?,
            };
            (human, Some((path.clone(), format)))
        }
    };
    let on_github = env("GITHUB_ACTIONS").as_deref() == Some("true");
    let human_stdout = matches!(
        stdout,
        OutputFormat::Table | OutputFormat::Concise | OutputFormat::Markdown
    );
    Ok(Targets {
        stdout,
        file,
        annotations: on_github && human_stdout && !args.no_github_annotations,
        step_summary: env("GITHUB_STEP_SUMMARY")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from),
    })
}

/// Check `--output` before any work is done, so a bad extension does not cost a diagnose run.
pub fn check(args: &ReportArgs) -> Result<()> {
    targets(args, false, &|_| None).map(|_| ())
}

/// `.sarif` → SARIF, `.json` → JSON, `.xml` → JUnit, `.md` → Markdown (case-insensitive).
pub fn format_from_extension(path: &Path) -> Option<OutputFormat> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "sarif" => Some(OutputFormat::Sarif),
        "json" => Some(OutputFormat::Json),
        "xml" => Some(OutputFormat::Junit),
        "md" | "markdown" => Some(OutputFormat::Markdown),
        _ => None,
    }
}

/// Render the report into `path`: written to a temporary file beside it, then renamed over it,
/// so a reader (or a crash) never sees half a report.
pub fn write_file(
    report: &Report,
    format: OutputFormat,
    opts: &RenderOptions,
    path: &Path,
) -> Result<()> {
    let mut bytes = Vec::new();
    report::write(report, format, opts, &mut bytes)?;
    write_bytes(path, &bytes)
}

/// Write an already rendered report into `path`, atomically (see `write_file`).
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically(path, bytes).with_context(|| format!("--output {}", path.display()))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".pgdiag-{}.tmp", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Append the Markdown report to the GitHub step summary file.
pub fn append_step_summary(report: &Report, path: &Path) -> io::Result<()> {
    let mut md = Vec::new();
    report::markdown::write(report, &mut md)?;
    let mut f = OpenOptions::new().create(true).append(true).open(path)?;
    f.write_all(b"# pgdiag\n\n")?;
    f.write_all(&md)?;
    f.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(argv: &[&str]) -> ReportArgs {
        #[derive(Parser)]
        struct T {
            #[command(flatten)]
            r: ReportArgs,
        }
        T::try_parse_from(std::iter::once("t").chain(argv.iter().copied()))
            .unwrap()
            .r
    }

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn output_file_takes_the_format_and_stdout_the_human_default() {
        let t = targets(&args(&["-o", "r.sarif"]), false, &env(&[])).unwrap();
        assert_eq!(t.stdout, OutputFormat::Concise);
        assert_eq!(t.file, Some(("r.sarif".into(), OutputFormat::Sarif)));
        let t = targets(&args(&["-o", "r.txt", "-F", "gitlab"]), true, &env(&[])).unwrap();
        assert_eq!(t.stdout, OutputFormat::Table);
        assert_eq!(t.file, Some(("r.txt".into(), OutputFormat::Gitlab)));
        assert!(targets(&args(&["-o", "r.txt"]), false, &env(&[])).is_err());
        for (f, want) in [
            ("a.JSON", OutputFormat::Json),
            ("a.xml", OutputFormat::Junit),
            ("a.md", OutputFormat::Markdown),
        ] {
            assert_eq!(format_from_extension(Path::new(f)), Some(want));
        }
    }

    #[test]
    fn annotations_only_on_github_and_only_after_a_human_report() {
        let gh = [("GITHUB_ACTIONS", "true")];
        assert!(targets(&args(&[]), false, &env(&gh)).unwrap().annotations);
        assert!(!targets(&args(&[]), false, &env(&[])).unwrap().annotations);
        assert!(
            !targets(&args(&["--no-github-annotations"]), false, &env(&gh))
                .unwrap()
                .annotations
        );
        assert!(
            !targets(&args(&["-F", "json"]), false, &env(&gh))
                .unwrap()
                .annotations
        );
        // SARIF goes to the file; stdout is concise, so the annotations follow it.
        assert!(
            targets(&args(&["-o", "x.sarif"]), false, &env(&gh))
                .unwrap()
                .annotations
        );
        let t = targets(&args(&[]), false, &env(&[("GITHUB_STEP_SUMMARY", "/s.md")])).unwrap();
        assert_eq!(t.step_summary, Some("/s.md".into()));
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary_file() {
        let dir = std::env::temp_dir().join(format!("pgdiag-atomic-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("r.sarif");
        fs::write(&p, "old").unwrap();
        write_atomically(&p, b"new").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "new");
        let names: Vec<_> = fs::read_dir(&dir).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "{names:?}");
        assert!(write_atomically(&dir.join("no/such/dir/r.sarif"), b"x").is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
