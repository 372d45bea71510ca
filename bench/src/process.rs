//! CPU time and memory of a child process, read from `/proc`.

use anyhow::Context;
use procfs::process::Process;

/// Seconds the process has run on a CPU, user and system, all threads.
pub fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = process(pid)?.stat()?;
    Ok((stat.utime + stat.stime) as f64 / procfs::ticks_per_second() as f64)
}

/// Resident memory now and at its peak (since start or the last reset), in MiB.
#[derive(Clone, Copy, Debug, Default)]
pub struct Memory {
    pub rss_mib: f64,
    pub peak_mib: f64,
}

pub fn memory(pid: u32) -> anyhow::Result<Memory> {
    let status = process(pid)?.status()?;
    let mib = |kib: Option<u64>| kib.unwrap_or(0) as f64 / 1024.0;
    Ok(Memory {
        rss_mib: mib(status.vmrss),
        peak_mib: mib(status.vmhwm),
    })
}

/// Starts the peak-RSS count afresh (`clear_refs` 5), so each scenario's peak is its own.
pub fn reset_peak(pid: u32) -> anyhow::Result<()> {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5")
        .with_context(|| format!("cannot reset the peak RSS of process {pid}"))
}

fn process(pid: u32) -> anyhow::Result<Process> {
    let pid = i32::try_from(pid).context("pid out of range")?;
    Process::new(pid).with_context(|| format!("process {pid} is gone"))
}
