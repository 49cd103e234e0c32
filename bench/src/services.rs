//! The services under test, started as the release binaries `make run` starts, each in
//! a process of its own: the load generator (this process) shares the CPUs with them,
//! as any client on the same machine would, but not their runtime or allocator.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::process::{Child, Command};
use tokio::time::Instant;
use uuid::Uuid;

use crate::{World, API_ROLE, PROJECTOR_ROLE, RELAY_ROLE};

/// Rate-limit budget that no run reaches (per minute, and burst): every request comes
/// from 127.0.0.1 and one account, so production budgets would measure the limiter.
const UNLIMITED: u32 = 100_000_000;
/// How long a service may take to become ready.
const READY_WITHIN: Duration = Duration::from_secs(30);

/// Where the service binaries are: `REPSTREAM_BIN_DIR`, else next to this binary
/// (`target/release/`, which `make bench` builds in the same cargo invocation).
pub(crate) struct Binaries {
    dir: PathBuf,
}

impl Binaries {
    pub(crate) fn locate() -> anyhow::Result<Self> {
        let dir = match std::env::var_os("REPSTREAM_BIN_DIR") {
            Some(d) => PathBuf::from(d),
            None => std::env::current_exe()
                .context("locating the bench binary")?
                .parent()
                .map(Path::to_path_buf)
                .context("the bench binary has no directory")?,
        };
        let bins = Self { dir };
        for name in [
            "repstream-api",
            "repstream-outbox-relay",
            "repstream-projector",
        ] {
            let path = bins.path(name);
            if !path.is_file() {
                bail!(
                    "{} is missing: build the services next to the bench \
                     (`cargo build --release -p repstream-api -p repstream-outbox-relay \
                     -p repstream-projector -p repstream-bench`, as `make bench` does) \
                     or point REPSTREAM_BIN_DIR at them",
                    path.display()
                );
            }
        }
        Ok(bins)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// A command for one service with the bench's database (as `role`) and queues; the
    /// AWS endpoint and credentials come from the environment (`make bench` sets them).
    fn command(&self, name: &str, world: &World, role: &str) -> Command {
        let mut command = Command::new(self.path(name));
        command
            .env("DATABASE_URL", world.role_url(role))
            .env("DATABASE_MAX_CONNECTIONS", "16")
            .env("EVENTS_QUEUE", queue_name(&world.env.events_queue))
            .env(
                "NOTIFICATIONS_QUEUE",
                queue_name(&world.env.notifications_queue),
            )
            .env("LOG_FORMAT", "pretty")
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".to_owned()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        command
    }
}

/// One running service process.
pub(crate) struct Service {
    name: &'static str,
    child: Child,
}

impl Service {
    fn spawn(name: &'static str, mut command: Command) -> anyhow::Result<Self> {
        let child = command
            .spawn()
            .with_context(|| format!("starting {name}"))?;
        Ok(Self { name, child })
    }

    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Fails if the process has already exited.
    fn check_running(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => bail!("{} exited early: {status}", self.name),
            Err(e) => bail!("{}: {e}", self.name),
        }
    }

    /// Asks the service to shut down (SIGTERM, as a deployment would) and waits for it;
    /// kills it after 15 s.
    pub(crate) async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status()
                .await;
        }
        match tokio::time::timeout(Duration::from_secs(15), self.child.wait()).await {
            Ok(Ok(status)) if status.success() => {}
            Ok(Ok(status)) => eprintln!("    {} stopped with {status}", self.name),
            Ok(Err(e)) => eprintln!("    {}: {e}", self.name),
            Err(_) => {
                eprintln!("    {} did not stop within 15 s; killing it", self.name);
                let _ = self.child.kill().await;
            }
        }
    }
}

/// The API binary on a free port, with a random signing key and rate limits out of
/// reach; returns the process and its base URL once `/healthz` answers.
pub(crate) async fn start_api(bins: &Binaries, world: &World) -> anyhow::Result<(Service, String)> {
    let port = free_port().await?;
    let secret = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
    let unlimited = UNLIMITED.to_string();
    let mut command = bins.command("repstream-api", world, API_ROLE);
    command
        .arg("serve")
        .env("API_ADDR", format!("127.0.0.1:{port}"))
        .env("JWT_SECRET", secret)
        .env("ACCESS_TOKEN_TTL_SECS", "3600")
        .env("RATE_LIMIT_PER_IP_PER_MINUTE", &unlimited)
        .env("RATE_LIMIT_PER_ACCOUNT_PER_MINUTE", &unlimited)
        .env("RATE_LIMIT_AUTH_PER_IP_PER_MINUTE", &unlimited)
        .env("RATE_LIMIT_BURST", &unlimited);
    let mut api = Service::spawn("repstream-api", command)?;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + READY_WITHIN;
    loop {
        api.check_running()?;
        let ready = client
            .get(format!("{base}/healthz"))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ready {
            return Ok((api, base));
        }
        if Instant::now() >= deadline {
            api.stop().await;
            bail!("repstream-api did not answer /healthz within {READY_WITHIN:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The outbox relay and the projector (production settings), as processes.
pub(crate) async fn start_pipeline(bins: &Binaries, world: &World) -> anyhow::Result<Vec<Service>> {
    let relay = Service::spawn(
        "repstream-outbox-relay",
        bins.command("repstream-outbox-relay", world, RELAY_ROLE),
    )?;
    let mut projector = bins.command("repstream-projector", world, PROJECTOR_ROLE);
    projector.arg("run");
    let projector = Service::spawn("repstream-projector", projector)?;
    let mut services = vec![relay, projector];
    // Both connect and resolve their queues at start; a bad setup ends them at once.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for s in &mut services {
        s.check_running()?;
    }
    Ok(services)
}

pub(crate) async fn stop_all(services: Vec<Service>) {
    for s in services {
        s.stop().await;
    }
}

async fn free_port() -> anyhow::Result<u16> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

fn queue_name(url: &str) -> String {
    url.rsplit('/').next().unwrap_or(url).to_owned()
}
