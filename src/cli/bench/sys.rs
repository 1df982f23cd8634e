//! What the machine says about itself: CPU time of processes and of the whole machine from
//! `/proc`, and a description of the machine for the report.

use std::path::Path;

use serde_json::{Value, json};

/// Clock ticks per second of the times in `/proc/<pid>/stat` (`USER_HZ`, 100 on Linux).
const TICKS: f64 = 100.0;

/// Seconds of CPU (user + system) a process has used, its waited-for children included.
pub fn process_cpu(pid: u32) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    cpu_of_stat(&text)
}

/// Seconds of CPU this process has used.
pub fn self_cpu() -> Option<f64> {
    process_cpu(std::process::id())
}

fn cpu_of_stat(text: &str) -> Option<f64> {
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 to 17 of proc(5): utime, stime, cutime, cstime; here from index 11.
    let ticks: f64 = fields
        .get(11..15)?
        .iter()
        .map(|f| f.parse::<f64>().unwrap_or(0.0))
        .sum();
    Some(ticks / TICKS)
}

/// Seconds of CPU used by every process whose command name starts with `name` (the
/// PostgreSQL server and its backends); `None` when none can be read.
pub fn processes_cpu(name: &str) -> Option<f64> {
    let mut total = None;
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let file = entry.file_name();
        let Some(pid) = file
            .to_str()
            .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(comm) = std::fs::read_to_string(format!("/proc/{pid}/comm")) else {
            continue;
        };
        if !comm.starts_with(name) {
            continue;
        }
        if let Some(cpu) = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .as_deref()
            .and_then(cpu_of_stat)
        {
            *total.get_or_insert(0.0) += cpu;
        }
    }
    total
}

/// Seconds of CPU the whole machine has been busy (all cores: everything but idle and
/// waiting for I/O), from `/proc/stat`.
pub fn machine_busy() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0.0))
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let busy: f64 = v.iter().take(8).sum::<f64>() - v.get(3)? - v.get(4).unwrap_or(&0.0);
    Some(busy / TICKS)
}

/// The processes whose CPU a measurement reads, besides its own and the machine's.
#[derive(Clone, Copy, Debug, Default)]
pub struct Watched {
    /// `daftar serve`, when the engine runs there.
    pub server: Option<u32>,
    /// The simulator.
    pub simulator: Option<u32>,
    /// Whether to read PostgreSQL's processes.
    pub database: bool,
}

/// Seconds of CPU used so far by each watched process, read at one moment.
#[derive(Clone, Copy, Debug)]
pub struct CpuReading {
    at: std::time::Instant,
    this: Option<f64>,
    server: Option<f64>,
    simulator: Option<f64>,
    database: Option<f64>,
    machine: Option<f64>,
}

impl Watched {
    /// Reads the CPU time of every watched process now.
    pub fn read(&self) -> CpuReading {
        CpuReading {
            at: std::time::Instant::now(),
            this: self_cpu(),
            server: self.server.and_then(process_cpu),
            simulator: self.simulator.and_then(process_cpu),
            database: self.database.then(|| processes_cpu("postgres")).flatten(),
            machine: machine_busy(),
        }
    }
}

/// CPU used between two readings, in cores (seconds of CPU per second).
#[derive(Clone, Debug, Default)]
pub struct Cpu {
    /// This process.
    pub this: Option<f64>,
    /// `daftar serve`.
    pub server: Option<f64>,
    /// The simulator.
    pub simulator: Option<f64>,
    /// PostgreSQL's processes.
    pub database: Option<f64>,
    /// The whole machine.
    pub machine: Option<f64>,
}

impl Cpu {
    /// The CPU used from `first` to `last`.
    pub fn between(first: &CpuReading, last: &CpuReading) -> Cpu {
        let secs = last.at.duration_since(first.at).as_secs_f64().max(1e-9);
        let rate = |a: Option<f64>, b: Option<f64>| Some((b? - a?) / secs);
        Cpu {
            this: rate(first.this, last.this),
            server: rate(first.server, last.server),
            simulator: rate(first.simulator, last.simulator),
            database: rate(first.database, last.database),
            machine: rate(first.machine, last.machine),
        }
    }

    /// As JSON, in cores: this process named `this`, the server `server` (left out when
    /// `None`).
    pub fn to_json(&self, this: &str, server: Option<&str>) -> Value {
        let mut v = json!({
            this: cores(self.this),
            "simulator": cores(self.simulator),
            "database": cores(self.database),
            "machine": cores(self.machine),
        });
        if let Some(name) = server {
            v[name] = json!(cores(self.server));
        }
        v
    }
}

fn cores(c: Option<f64>) -> Option<f64> {
    c.map(|c| (c * 1000.0).round() / 1000.0)
}

/// Milliseconds of CPU per request, from cores used and requests completed per second.
pub fn ms_per_request(cores: Option<f64>, completed_per_s: f64) -> Option<f64> {
    cores
        .filter(|_| completed_per_s > 0.0)
        .map(|c| (c * 1e6 / completed_per_s).round() / 1000.0)
}

/// The load average over 1, 5 and 15 minutes, from `/proc/loadavg`: how busy the machine was
/// with other work around a measurement.
pub fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut fields = text.split_whitespace().map(|f| f.parse::<f64>().ok());
    Some([fields.next()??, fields.next()??, fields.next()??])
}

/// The machine, for the report: cores, CPU model, memory, the disk under the stores, the
/// kernel, and whether `perf` can be used.
pub fn machine(store_dir: &Path) -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned());
    let memory_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|l| l.split_whitespace().next()?.parse::<f64>().ok())
        })
        .map(|kib| (kib / 1024.0 / 1024.0 * 10.0).round() / 10.0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|s| s.trim().to_owned());
    json!({
        "cores": std::thread::available_parallelism().map(|n| n.get()).ok(),
        "cpu": model,
        "memory_gib": memory_gib,
        "disk": disk_of(store_dir),
        "kernel": kernel,
    })
}

/// The block device under `dir` and whether it is rotational, from `/proc/mounts` and
/// `/sys/block`.
fn disk_of(dir: &Path) -> Value {
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned());
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let best = mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (dev, at, fs) = (f.next()?, f.next()?, f.next()?);
            dir.starts_with(at).then_some((dev, at, fs))
        })
        .max_by_key(|(_, at, _)| at.len());
    let Some((dev, at, fs)) = best else {
        return Value::Null;
    };
    let name = dev.rsplit('/').next().unwrap_or(dev);
    let rotational = std::fs::read_to_string(format!("/sys/block/{name}/queue/rotational"))
        .ok()
        .map(|s| s.trim() == "1");
    json!({ "device": dev, "mount": at, "filesystem": fs, "rotational": rotational })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_times_of_a_stat_line_whose_name_has_spaces() {
        let line = "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 1 0";
        assert_eq!(cpu_of_stat(line), Some(3.1));
    }

    #[test]
    fn this_process_has_used_some_cpu() {
        assert!(self_cpu().is_some());
        assert!(machine_busy().is_some_and(|b| b > 0.0));
        assert!(load_average().is_some_and(|l| l.iter().all(|x| *x >= 0.0)));
    }
}
