//! A real SMTP server for the SMTP delivery tests: Python's `aiosmtpd` (installed by
//! `make test` into the test tools venv, `SMTP_SERVER_PYTHON`), storing what it receives
//! in a Maildir.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use tokio::process::{Child, Command};

pub struct SmtpServer {
    port: u16,
    maildir: PathBuf,
    python: String,
    child: Option<Child>,
}

impl SmtpServer {
    /// Starts aiosmtpd on a free local port, storing into a fresh Maildir.
    pub async fn start() -> anyhow::Result<Self> {
        let python = std::env::var("SMTP_SERVER_PYTHON").context(
            "SMTP_SERVER_PYTHON is not set: this test talks to a real SMTP server (aiosmtpd). \
             Run it with `make test`, which installs it.",
        )?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let maildir = std::env::temp_dir().join(format!("repstream-smtp-{}", uuid::Uuid::now_v7()));
        let mut server = Self {
            port,
            maildir,
            python,
            child: None,
        };
        server.up().await?;
        Ok(server)
    }

    /// `smtp://127.0.0.1:<port>` (plain: a local relay).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Stops the server (the port refuses connections until [`Self::up`]).
    pub async fn down(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().await.context("stopping aiosmtpd")?;
        }
        Ok(())
    }

    /// Starts the server (again) on its port and waits until it accepts connections.
    pub async fn up(&mut self) -> anyhow::Result<()> {
        let child = Command::new(&self.python)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{}", self.port))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&self.maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting aiosmtpd")?;
        self.child = Some(child);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("aiosmtpd did not start on port {}", self.port)
    }

    /// The raw messages received so far.
    pub fn received(&self) -> Vec<Vec<u8>> {
        let read = |dir: &Path| -> Vec<Vec<u8>> {
            std::fs::read_dir(dir)
                .map(|d| {
                    d.filter_map(Result::ok)
                        .filter_map(|e| std::fs::read(e.path()).ok())
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut all = read(&self.maildir.join("new"));
        all.extend(read(&self.maildir.join("cur")));
        all
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.maildir);
    }
}
