//! A `daftar` subcommand run as a child process of the bench (the simulator, `serve`), which
//! prints its address on its first line of standard output and is stopped when dropped.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// A running `daftar` child process and the address it announced.
#[derive(Debug)]
pub struct ChildProcess {
    child: Child,
    /// Its base URL (`http://127.0.0.1:PORT`).
    pub url: String,
    // Kept open: a child writing to a closed pipe would be stopped by SIGPIPE.
    _stdout: BufReader<ChildStdout>,
}

impl ChildProcess {
    /// Runs this executable with `args`, its standard error into `log` (or nowhere), and
    /// waits for the first line of its standard output, whose last word is its URL.
    pub fn start(args: &[&std::ffi::OsStr], log: Option<&Path>) -> anyhow::Result<Self> {
        let what = format!(
            "`daftar {}`",
            args.first().map_or("".into(), |a| a.to_string_lossy())
        );
        let stderr = match log {
            Some(path) => Stdio::from(
                std::fs::File::create(path)
                    .with_context(|| format!("cannot create {}", path.display()))?,
            ),
            None => Stdio::null(),
        };
        let exe = std::env::current_exe().context("cannot find the daftar executable")?;
        let mut command = Command::new(exe);
        // Everything the child needs is in its arguments: a `DAFTAR_…` variable of the
        // bench's environment (a public key that conflicts with the secret, say) must not
        // change what is measured.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("DAFTAR_") {
                command.env_remove(name);
            }
        }
        let mut child = command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("cannot start {what}"))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            bail!("{what} has no standard output");
        };
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        let read = stdout.read_line(&mut line);
        let url = match (read, line.split_whitespace().last()) {
            (Ok(n), Some(url)) if n > 0 && url.starts_with("http://") => url.to_owned(),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                let said = log
                    .and_then(|p| std::fs::read_to_string(p).ok())
                    .unwrap_or_default();
                bail!("{what} did not print its address (it said {line:?}) {said}");
            }
        };
        Ok(ChildProcess {
            child,
            url,
            _stdout: stdout,
        })
    }

    /// Its process id, to read its CPU time.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Asks it to stop (SIGTERM, through `kill(1)`: the crate forbids the unsafe call) and
    /// waits up to `patience` for it to finish what it was doing; kills it after that.
    /// Whether it stopped by itself.
    pub fn terminate(&mut self, patience: Duration) -> bool {
        let asked = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        let deadline = Instant::now() + patience;
        while asked && Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        false
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
