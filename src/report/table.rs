//! Not implemented yet.

use std::io::{self, Write};

use super::Report;

pub fn write(report: &Report, _opts: &super::RenderOptions, w: &mut dyn Write) -> io::Result<()> {
    for p in &report.plans {
        writeln!(w, "{}: {} findings", p.source, p.findings.len())?;
    }
    Ok(())
}
