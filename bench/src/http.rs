//! The load generator's HTTP client: the requests every section sends.

use std::time::Duration;

use anyhow::{bail, ensure, Context};
use chrono::Utc;
use futures::StreamExt;
use serde_json::{json, Value};
use uuid::Uuid;

/// Upper bound of any single HTTP request.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
    base: String,
    /// The bench account's access token (it owns every studio the bench creates).
    token: String,
}

/// How a command request ended.
pub(crate) enum Reply {
    /// Accepted, with the aggregate's new version.
    Accepted(u64),
    /// An HTTP error status with the problem `code`, if any.
    Refused(u16, String),
}

impl Http {
    /// A client with one keep-alive connection per concurrent caller.
    pub(crate) fn new(base: String, clients: usize) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(clients.max(64))
            .timeout(HTTP_TIMEOUT)
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            client,
            base,
            token: String::new(),
        })
    }

    /// Signs up the bench account and signs it in.
    pub(crate) async fn sign_in(&mut self) -> anyhow::Result<()> {
        let email = format!("bench-{}@example.com", Uuid::new_v4().simple());
        let password = "Bench-Horse-Battery-Staple-9";
        let response = self
            .client
            .post(format!("{}/api/v1/auth/signup", self.base))
            .json(&json!({"email": email, "password": password, "full_name": "Bench Owner"}))
            .send()
            .await
            .context("signing up")?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            bail!("signing up the bench account: HTTP {status} {body}");
        }
        let response = self
            .client
            .post(format!("{}/api/v1/auth/token", self.base))
            .form(&[
                ("grant_type", "password"),
                ("username", email.as_str()),
                ("password", password),
            ])
            .send()
            .await
            .context("signing in")?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        ensure!(
            status.is_success(),
            "signing in the bench account: HTTP {status} {body}"
        );
        self.token = body["access_token"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("no access_token in {body}"))?;
        Ok(())
    }

    pub(crate) async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Reply> {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            let version = body["version"]
                .as_u64()
                .with_context(|| format!("no version in {body}"))?;
            Ok(Reply::Accepted(version))
        } else {
            let code = body["code"].as_str().unwrap_or("").to_owned();
            Ok(Reply::Refused(status.as_u16(), code))
        }
    }

    pub(crate) async fn create_studio(&self, name: &str) -> anyhow::Result<Uuid> {
        let id = Uuid::now_v7();
        let body = json!({"id": id, "name": name, "timezone": "Europe/Berlin", "currency": "EUR"});
        match self.post("/api/v1/studios", &body).await? {
            Reply::Accepted(_) => Ok(id),
            Reply::Refused(status, code) => bail!("creating a studio: HTTP {status} {code}"),
        }
    }

    pub(crate) async fn create_studios(&self, n: usize, label: &str) -> anyhow::Result<Vec<Uuid>> {
        let results: Vec<anyhow::Result<Uuid>> = futures::stream::iter(0..n)
            .map(|i| async move { self.create_studio(&format!("{label} studio {i}")).await })
            .buffered(8)
            .collect()
            .await;
        results.into_iter().collect()
    }

    /// Adds a location (`add`) or renames the studio; `tag` makes the name unique.
    pub(crate) async fn command(
        &self,
        studio: Uuid,
        add: bool,
        tag: &str,
    ) -> anyhow::Result<Reply> {
        if add {
            self.post(
                &format!("/api/v1/studios/{studio}/locations"),
                &json!({
                    "name": format!("Location {tag}"),
                    "address": format!("Hafenstrasse {tag}, 20457 Hamburg"),
                }),
            )
            .await
        } else {
            self.post(
                &format!("/api/v1/studios/{studio}/rename"),
                &json!({"name": format!("Studio {tag}")}),
            )
            .await
        }
    }

    /// Creates something and returns the `id` of the answer.
    pub(crate) async fn create(&self, path: &str, body: &Value) -> anyhow::Result<Uuid> {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        ensure!(status.is_success(), "POST {path}: HTTP {status} {body}");
        body["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .with_context(|| format!("POST {path}: no id in {body}"))
    }

    /// `n` client records in `studio`.
    pub(crate) async fn create_clients(&self, studio: Uuid, n: usize) -> anyhow::Result<Vec<Uuid>> {
        let path = format!("/api/v1/studios/{studio}/clients");
        let results: Vec<anyhow::Result<Uuid>> = futures::stream::iter(0..n)
            .map(|i| {
                let path = path.clone();
                async move {
                    self.create(&path, &json!({"full_name": format!("Bench Client {i}")}))
                        .await
                }
            })
            .buffered(8)
            .collect()
            .await;
        results.into_iter().collect()
    }

    /// `n` classes of `capacity` spots in `studio`, two days ahead.
    pub(crate) async fn create_classes(
        &self,
        studio: Uuid,
        n: usize,
        capacity: u32,
    ) -> anyhow::Result<Vec<Uuid>> {
        let path = format!("/api/v1/studios/{studio}/classes");
        let results: Vec<anyhow::Result<Uuid>> = futures::stream::iter(0..n)
            .map(|i| {
                let path = path.clone();
                let starts_at =
                    Utc::now() + chrono::Duration::days(2) + chrono::Duration::hours(i as i64);
                async move {
                    self.create(
                        &path,
                        &json!({"title": format!("Bench Class {i}"), "starts_at": starts_at,
                                "duration_minutes": 50, "capacity": capacity}),
                    )
                    .await
                }
            })
            .buffered(8)
            .collect()
            .await;
        results.into_iter().collect()
    }

    /// Books `client` into `class` (staff booking on the client's behalf).
    pub(crate) async fn book(
        &self,
        studio: Uuid,
        class: Uuid,
        client: Uuid,
    ) -> anyhow::Result<Reply> {
        self.post(
            &format!("/api/v1/studios/{studio}/classes/{class}/bookings"),
            &json!({"client_id": client}),
        )
        .await
    }

    /// `GET` of a studio's view: `Ok(None)` on 200, else the status and problem code.
    pub(crate) async fn get_studio(&self, studio: Uuid) -> anyhow::Result<Option<(u16, String)>> {
        let response = self
            .client
            .get(format!("{}/api/v1/studios/{studio}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?;
        let status = response.status();
        let body = response.bytes().await?;
        if status.is_success() {
            return Ok(None);
        }
        let code = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|b| b["code"].as_str().map(str::to_owned))
            .unwrap_or_default();
        Ok(Some((status.as_u16(), code)))
    }
}

/// A short name for a transport failure.
pub(crate) fn transport_error(e: &anyhow::Error) -> String {
    match e.downcast_ref::<reqwest::Error>() {
        Some(r) if r.is_timeout() => "timeout".to_owned(),
        Some(r) if r.is_connect() => "connect".to_owned(),
        Some(_) => "transport".to_owned(),
        None => "bad response".to_owned(),
    }
}
