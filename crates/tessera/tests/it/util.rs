//! Running the built binary in a temporary directory (ripgrep's `Dir` +
//! `TestCommand` idea), and a `tessera serve` process that stops when dropped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

pub(crate) struct Dir {
    tmp: tempfile::TempDir,
}

impl Dir {
    pub(crate) fn new() -> Dir {
        Dir { tmp: tempfile::tempdir().expect("temp dir") }
    }

    pub(crate) fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// `tessera ARGS` in this directory, with no `TESSERA_*` from the outside.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tessera"));
        command.current_dir(self.path()).args(args);
        for (name, _) in std::env::vars() {
            if name.starts_with("TESSERA_") {
                command.env_remove(name);
            }
        }
        command
    }

    /// Runs and asserts success; returns stdout.
    #[track_caller]
    pub(crate) fn run(&self, args: &[&str]) -> String {
        let output = self.command(args).output().expect("run tessera");
        assert!(
            output.status.success(),
            "tessera {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("utf-8 stdout")
    }

    /// Runs with `stdin` as standard input (passwords); returns everything.
    pub(crate) fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        use std::io::Write;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tessera");
        child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
        child.wait_with_output().expect("run tessera")
    }

    /// Runs and asserts failure; returns stderr.
    #[track_caller]
    pub(crate) fn run_failing(&self, args: &[&str]) -> String {
        let output: Output = self.command(args).output().expect("run tessera");
        assert!(!output.status.success(), "tessera {args:?} should fail");
        String::from_utf8(output.stderr).expect("utf-8 stderr")
    }
}

/// A `tessera serve` child process, killed on drop.
pub(crate) struct ServeProcess {
    child: Child,
    pub(crate) issuer: String,
    /// `http://ADDR` of this process, which differs from the issuer for a
    /// replica configured with its load balancer's issuer.
    pub(crate) local_url: String,
    /// Every line the process has written to standard output so far.
    output: Arc<Mutex<Vec<String>>>,
}

impl ServeProcess {
    pub(crate) fn start(mut command: Command) -> ServeProcess {
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("spawn serve");
        let stdout = child.stdout.take().expect("stdout");
        let (found, banner) = mpsc::channel();
        let output = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::clone(&output);
        std::thread::spawn(move || {
            let mut local_addr = None;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                lines.lock().expect("output lock").push(line.clone());
                if let Some((_, addr)) = line.trim().split_once(" is listening on ") {
                    local_addr = Some(addr.trim().to_owned());
                }
                if let Some(issuer) = line.trim().strip_prefix("issuer:") {
                    let _ = found.send((local_addr.take().unwrap_or_default(), issuer.trim().to_owned()));
                }
                // `tessera proxy` has no issuer of its own: it is reached at its address.
                if line.trim().starts_with("upstream:") {
                    let addr = local_addr.take().unwrap_or_default();
                    let _ = found.send((addr.clone(), format!("http://{addr}")));
                }
            }
        });
        let (local_addr, issuer) = match banner.recv_timeout(Duration::from_secs(30)) {
            Ok(banner) => banner,
            Err(_) => {
                let _ = child.kill();
                panic!("tessera did not print its address within 30s");
            }
        };
        ServeProcess { child, issuer, local_url: format!("http://{local_addr}"), output }
    }

    /// What the process has written to standard output (its logs) so far.
    pub(crate) fn output(&self) -> String {
        self.output.lock().expect("output lock").join("\n")
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// A URL at this process itself (not at the issuer).
    pub(crate) fn local(&self, path: &str) -> String {
        format!("{}{path}", self.local_url)
    }

    /// The process id, e.g. for `kill -TERM`.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (`"TERM"`, `"INT"`, …) with the system's `kill` command.
    #[track_caller]
    pub(crate) fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([format!("-{signal}"), self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -{signal} {} failed", self.pid());
    }

    /// SIGKILL, then reaps the process: it gets no chance to clean up.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The exit status if the process has exited; does not wait.
    pub(crate) fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("poll the child")
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).expect("stdout is JSON")
}

pub(crate) fn data_db(dir: &Path) -> PathBuf {
    dir.join("tessera-data").join("tessera.db")
}
