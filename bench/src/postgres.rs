//! A private PostgreSQL server for the chaos test: a fresh cluster made with
//! the machine's own `initdb` in a temporary directory, run with `pg_ctl` on
//! a free loopback port, restarted on demand, and stopped and removed when
//! dropped. PostgreSQL refuses to run as root (CI runs as root), so as root
//! its programs run as the `postgres` user, on a directory it owns. A reaper
//! process stops the server and removes the directory even if the benchmark
//! itself is killed.

use std::{
    io::Read,
    path::{Path, PathBuf},
    process::Stdio,
};

use anyhow::{Context, bail};
use tokio::process::Command;

/// The `BENCH_ROLE` of the reaper (see `reap`).
pub const REAPER_ROLE: &str = "postgres-reaper";
/// The user PostgreSQL's programs run as when the benchmark runs as root.
const SERVER_USER: &str = "postgres";
/// Longest `pg_ctl` waits for the server to start or stop.
const PG_CTL_WAIT_SECONDS: &str = "60";

/// A running private server.
#[derive(Debug)]
pub struct PrivatePostgres {
    bin: PathBuf,
    /// The temporary directory: the cluster (`data`), the server's log and its socket.
    root: PathBuf,
    /// Where the server's log is copied when it stops (it goes with `root`).
    keep_log_in: PathBuf,
    pub port: u16,
    /// `Some("postgres")` when running as root.
    run_as: Option<&'static str>,
    stopped: bool,
    /// Its stdin closing (when this process ends, however it ends) tells the
    /// reaper to clean up.
    _reaper: std::process::Child,
}

impl PrivatePostgres {
    /// Makes a cluster in a new temporary directory and starts it on a free
    /// port, with the programs in `bindir` (or found as `find_bindir` says).
    /// The server's log is copied into `log_dir` when it stops.
    pub async fn start(bindir: Option<&Path>, log_dir: &Path) -> anyhow::Result<Self> {
        let bin = find_bindir(bindir)?;
        let run_as = if is_root()? { Some(SERVER_USER) } else { None };
        let root = std::env::temp_dir().join(format!(
            "todo-chaos-pg-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        ));
        std::fs::create_dir(&root).with_context(|| format!("cannot create {}", root.display()))?;
        if let Some(user) = run_as {
            let (uid, gid) = user_ids(user)?;
            std::os::unix::fs::chown(&root, Some(uid), Some(gid))
                .with_context(|| format!("cannot give {} to the {user} user", root.display()))?;
        }
        let reaper = std::process::Command::new(std::env::current_exe()?)
            .env(crate::child::ROLE_VAR, REAPER_ROLE)
            .arg(&bin)
            .arg(&root)
            .arg(run_as.unwrap_or(""))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .context("cannot start the PostgreSQL reaper")?;
        let postgres = Self {
            bin,
            root,
            keep_log_in: log_dir.to_owned(),
            port: testkit::smtp::free_port(),
            run_as,
            stopped: false,
            _reaper: reaper,
        };
        let data = postgres.data();
        postgres
            .run(
                "initdb",
                &[
                    "-D".as_ref(),
                    data.as_os_str(),
                    "-A".as_ref(),
                    "trust".as_ref(),
                    "-U".as_ref(),
                    "postgres".as_ref(),
                    "-E".as_ref(),
                    "UTF8".as_ref(),
                    "--locale=C".as_ref(),
                    "--no-sync".as_ref(),
                ],
            )
            .await?;
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
            postgres.port,
            postgres.root.display()
        );
        postgres
            .pg_ctl(&["-o".as_ref(), options.as_ref(), "start".as_ref()])
            .await?;
        Ok(postgres)
    }

    /// The URL of `database` on this server.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    pub async fn create_database(&self, name: &str) -> anyhow::Result<()> {
        let port = self.port.to_string();
        self.run(
            "createdb",
            &[
                "-h".as_ref(),
                "127.0.0.1".as_ref(),
                "-p".as_ref(),
                port.as_ref(),
                "-U".as_ref(),
                "postgres".as_ref(),
                name.as_ref(),
            ],
        )
        .await
    }

    /// `pg_ctl restart -m fast`: connections are cut, the server stops
    /// cleanly and starts again; returns once it accepts connections.
    pub async fn restart(&self) -> anyhow::Result<()> {
        self.pg_ctl(&["-m".as_ref(), "fast".as_ref(), "restart".as_ref()])
            .await
    }

    /// Stops the server (`-m fast`) and removes its directory.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let stopped = self
            .pg_ctl(&["-m".as_ref(), "fast".as_ref(), "stop".as_ref()])
            .await;
        self.remove();
        stopped
    }

    /// The server's directory (removed when it stops).
    pub fn dir(&self) -> &Path {
        &self.root
    }

    fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    fn log(&self) -> PathBuf {
        self.root.join("server.log")
    }

    fn remove(&mut self) {
        self.stopped = true;
        let _ = std::fs::copy(self.log(), self.keep_log_in.join("postgres.log"));
        let _ = std::fs::remove_dir_all(&self.root);
    }

    async fn pg_ctl(&self, args: &[&std::ffi::OsStr]) -> anyhow::Result<()> {
        let data = self.data();
        let log = self.log();
        let mut all: Vec<&std::ffi::OsStr> = vec![
            "-D".as_ref(),
            data.as_os_str(),
            "-l".as_ref(),
            log.as_os_str(),
            "-w".as_ref(),
            "-t".as_ref(),
            PG_CTL_WAIT_SECONDS.as_ref(),
        ];
        all.extend_from_slice(args);
        self.run("pg_ctl", &all).await
    }

    /// Runs one of the PostgreSQL programs, as the server's user, and fails
    /// with its output and the server's log when it fails.
    async fn run(&self, program: &str, args: &[&std::ffi::OsStr]) -> anyhow::Result<()> {
        let output = Command::from(command(&self.bin, self.run_as, &self.root, program))
            .args(args)
            .kill_on_drop(true)
            .stdin(Stdio::null())
            .output()
            .await
            .with_context(|| format!("cannot run {program}"))?;
        if !output.status.success() {
            let log = std::fs::read_to_string(self.log()).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(20).collect();
            bail!(
                "{program} {} failed ({}):\n{}{}\nserver log (last lines):\n{}",
                args.iter()
                    .map(|arg| arg.to_string_lossy())
                    .collect::<Vec<_>>()
                    .join(" "),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
            );
        }
        Ok(())
    }
}

impl Drop for PrivatePostgres {
    /// A run that failed or was interrupted still stops its server (at once:
    /// nothing of it is kept) and removes its directory.
    fn drop(&mut self) {
        if !self.stopped {
            stop_now(&self.bin, self.run_as, &self.root);
            self.remove();
        }
    }
}

/// `program` of `bin`, run as `run_as` (through runuser) when given, in `root`.
fn command(bin: &Path, run_as: Option<&str>, root: &Path, program: &str) -> std::process::Command {
    let mut command = match run_as {
        Some(user) => {
            let mut command = std::process::Command::new("runuser");
            command.args(["-u", user, "--"]).arg(bin.join(program));
            command
        }
        None => std::process::Command::new(bin.join(program)),
    };
    // As the server's user, the benchmark's own directory may be unreadable.
    command.current_dir(root);
    command
}

/// `pg_ctl stop -m immediate`, blocking: for cleaning up when nothing else can.
fn stop_now(bin: &Path, run_as: Option<&str>, root: &Path) {
    let data = root.join("data");
    if !data.join("postmaster.pid").exists() {
        return;
    }
    let _ = command(bin, run_as, root, "pg_ctl")
        .arg("-D")
        .arg(&data)
        .args(["-w", "-t", PG_CTL_WAIT_SECONDS, "-m", "immediate", "stop"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The reaper: started with the server's directory, it waits for its stdin
/// to close (the benchmark ended, however it ended), then stops the server
/// if it still runs and removes the directory.
pub fn reap() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [bin, root, user] = args.as_slice() else {
        bail!("the reaper takes the PostgreSQL bindir, the server's directory and its user");
    };
    let _ = std::io::stdin().lock().read_to_end(&mut Vec::new());
    let root = Path::new(root);
    if root.exists() {
        stop_now(
            Path::new(bin),
            Some(user.as_str()).filter(|u| !u.is_empty()),
            root,
        );
        let _ = std::fs::remove_dir_all(root);
    }
    Ok(())
}

/// The directory of initdb and pg_ctl: `bindir` when given, else what
/// `pg_config --bindir` says, else the newest /usr/lib/postgresql/*/bin.
fn find_bindir(bindir: Option<&Path>) -> anyhow::Result<PathBuf> {
    let has_programs = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = bindir {
        if has_programs(dir) {
            return Ok(dir.to_owned());
        }
        bail!(
            "{} has no initdb and pg_ctl (PostgreSQL's server programs)",
            dir.display()
        );
    }
    let mut candidates = Vec::new();
    if let Ok(output) = std::process::Command::new("pg_config")
        .arg("--bindir")
        .output()
        && output.status.success()
    {
        candidates.push(PathBuf::from(
            String::from_utf8_lossy(&output.stdout).trim(),
        ));
    }
    let mut installed: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    installed.sort();
    candidates.extend(installed.into_iter().rev().map(|(_, dir)| dir));
    candidates
        .into_iter()
        .find(|dir| has_programs(dir))
        .context(
            "PostgreSQL's server programs (initdb, pg_ctl) were not found: the chaos test starts \
             a private PostgreSQL of its own. Install them (Debian: apt-get install postgresql-15, \
             which puts them in /usr/lib/postgresql/15/bin) or name their directory with \
             --pg-bindir or PG_BINDIR",
        )
}

/// Whether this process runs as root (its effective user).
fn is_root() -> anyhow::Result<bool> {
    let status = procfs::process::Process::myself()?.status()?;
    Ok(status.euid == 0)
}

/// The uid and gid of `user`, from /etc/passwd.
fn user_ids(user: &str) -> anyhow::Result<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").context("cannot read /etc/passwd")?;
    passwd
        .lines()
        .map(|line| line.split(':').collect::<Vec<_>>())
        .find(|fields| fields.first() == Some(&user))
        .and_then(|fields| Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?)))
        .with_context(|| {
            format!(
                "running as root, and initdb refuses root: PostgreSQL's programs run as the \
                 {user} user, which does not exist here (create it, e.g. by installing the \
                 postgresql package, or run as another user)"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_directory_without_the_programs_is_refused_by_name() {
        let error = find_bindir(Some(Path::new("/nonexistent/pg/bin")))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("/nonexistent/pg/bin has no initdb"),
            "{error}"
        );
    }

    #[test]
    fn the_root_user_is_found_in_passwd() {
        assert_eq!(user_ids("root").unwrap(), (0, 0));
        let error = user_ids("no-such-user-here").unwrap_err().to_string();
        assert!(
            error.contains("no-such-user-here user, which does not exist"),
            "{error}"
        );
    }
}
