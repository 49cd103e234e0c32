//! The AI worker: turns a health intake version into a recommendation, stored in S3 and
//! reported back to the client's aggregate as a command.
//!
//! ```text
//! AI queue: job (client, intake version; no health data)
//!   ─► the client's health events, tenant-bound ─► skip a version a newer one, a
//!      withdrawal or an earlier recommendation overtook
//!   ─► input hash = SHA-256(prompt version ‖ the intake without its consent ‖ the day it
//!      was given, if it dates anything)
//!   ─► s3://{bucket}/{tenant}/by-input/{hash}.json there? reuse it: no provider call
//!      else provider (rules engine, or an LLM) ─► Recommendation::validate ─► store it
//!   ─► s3://{bucket}/{tenant}/{client}/{version}/{hash}.json (the intake's artifact)
//!   ─► RecordRecommendation (one per intake version: a redelivered job adds nothing)
//!   (a failing provider: the job's failures are counted; at the last one before the DLQ,
//!    RecommendationFailed tells the trainer why)
//! AI queue: job (client, question) ─► the question, the latest intake and recommendation
//!   ─► the provider's answer, held to rules::answer (never less careful), with its
//!      sources ─► AnswerQuestion (answered once)
//! ```
//!
//! Exactly once per intake version without a ledger of its own: the aggregate refuses a
//! second recommendation for a version, and the artifacts are written under keys derived
//! from the input, so a job redelivered after a crash rewrites the same objects. An
//! identical input (an empty intake, say) anywhere in the studio reuses the stored
//! artifact. Providers sit behind [`RecommendationProvider`]; the default is
//! [`RulesEngine`] (`domain::health::rules`), deterministic and free.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use async_trait::async_trait;
use domain::client::{Client, ClientCommand, ClientError, RecommendationRecord};
use domain::health::{DateOrMonthsAgo, HealthSubmission, Recommendation};
use infra::consumer::MessageHandler;
use infra::event_store::{bind_tenant, CommandBus, CommandError, CommandMetadata};
use infra::jobs::{Channel, NotificationJob, AI_QUESTION, AI_RECOMMENDATION};
use infra::s3::S3Client;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tracing::{info, info_span, Instrument};
use uuid::Uuid;

/// The version of what providers are asked (the prompt of an LLM, the rule table of the
/// engine). Part of the input hash: a new prompt never reuses an old answer.
pub const PROMPT_VERSION: &str = "recommendation-v1";

/// What a provider answered: its raw text (kept in the artifact) and the parsed answer.
#[derive(Debug, Clone)]
pub struct ProviderAnswer {
    pub raw: String,
    pub recommendation: Recommendation,
    /// The model that answered (the rule table's version for the engine).
    pub model: String,
}

/// Something that turns an intake into a recommendation: the rules engine here, an
/// OpenAI-compatible chat model in production.
#[async_trait]
pub trait RecommendationProvider: Send + Sync {
    /// Stable name recorded with every recommendation, e.g. `rules`.
    fn name(&self) -> &'static str;
    async fn recommend(&self, intake: &HealthSubmission) -> anyhow::Result<ProviderAnswer>;

    /// Answers a trainer's question from the intake and its recommendation. The
    /// default is the rules engine's answer.
    async fn answer(
        &self,
        question: &str,
        intake: &HealthSubmission,
        recommendation: &Recommendation,
    ) -> anyhow::Result<domain::health::rules::Answer> {
        Ok(domain::health::rules::answer(
            question,
            intake,
            recommendation,
        ))
    }
}

/// The deterministic rules engine (`domain::health::rules`): the default provider,
/// used when no LLM is configured. Never fails, costs nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct RulesEngine;

#[async_trait]
impl RecommendationProvider for RulesEngine {
    fn name(&self) -> &'static str {
        "rules"
    }

    async fn recommend(&self, intake: &HealthSubmission) -> anyhow::Result<ProviderAnswer> {
        let recommendation = domain::health::rules::recommend(intake);
        Ok(ProviderAnswer {
            raw: serde_json::to_string(&recommendation)?,
            recommendation,
            model: PROMPT_VERSION.to_owned(),
        })
    }
}

/// The hash a recommendation is stored and reused under: the prompt version and the
/// intake without its consent (two clients' identical forms are one input), plus the
/// day it was given when it names a date (a surgery "on 2026-10-01" is recent on one
/// day and not on another; "3 months ago" means the same whenever it is read).
pub fn input_hash(intake: &HealthSubmission) -> anyhow::Result<String> {
    let mut content = intake_content(intake)?;
    if let Some(object) = content.as_object_mut() {
        let dated = intake
            .injuries
            .iter()
            .filter_map(|i| i.when)
            .chain(intake.surgeries.iter().map(|s| s.when))
            .any(|w| matches!(w, DateOrMonthsAgo::Date(_)));
        if dated {
            object.insert("as_of".to_owned(), intake.as_of().to_string().into());
        }
    }
    let mut hasher = Sha256::new();
    hasher.update(PROMPT_VERSION.as_bytes());
    hasher.update([0]);
    hasher.update(serde_json::to_vec(&content)?);
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// The intake as a provider is given it: everything but its consent (who agreed to
/// what, and when, says nothing about training).
pub fn intake_content(intake: &HealthSubmission) -> anyhow::Result<serde_json::Value> {
    let mut content = serde_json::to_value(intake)?;
    if let Some(object) = content.as_object_mut() {
        object.remove("consent");
    }
    Ok(content)
}

/// What became of one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Computed by the provider and recorded.
    Computed,
    /// Recorded from a stored artifact of the same input.
    Reused,
    /// Nothing to do: a newer version or a withdrawal overtook it, or it was recorded.
    Skipped,
}

/// The AI worker. Cheap to clone.
#[derive(Clone)]
pub struct AiWorker {
    pool: PgPool,
    s3: S3Client,
    bucket: String,
    provider: Arc<dyn RecommendationProvider>,
    /// Failures of a job after which `RecommendationFailed` is recorded: the AI queue's
    /// `maxReceiveCount`, so it is recorded on the receive that dead-letters the job.
    max_failures: u32,
}

/// A client's health history as the worker needs it.
#[derive(Default)]
struct History {
    latest: u32,
    submission: Option<HealthSubmission>,
    withdrawn: bool,
    recommended: bool,
}

impl AiWorker {
    pub fn new(
        pool: PgPool,
        s3: S3Client,
        bucket: String,
        provider: Arc<dyn RecommendationProvider>,
    ) -> Self {
        Self {
            pool,
            s3,
            bucket,
            provider,
            max_failures: 5,
        }
    }

    /// Records `RecommendationFailed` after `n` failed attempts of a job (default 5).
    pub fn with_max_failures(mut self, n: u32) -> Self {
        self.max_failures = n.max(1);
        self
    }

    /// Counts a failed attempt of job `job` (outages are not failures) and, at the last
    /// one, tells the client's record why no recommendation came.
    async fn failed(
        &self,
        job: &NotificationJob,
        client: Uuid,
        version: u32,
        error: &anyhow::Error,
    ) -> anyhow::Result<()> {
        let reason = format!("{error:#}");
        let mut tx = self.pool.begin().await?;
        bind_tenant(&mut tx, job.tenant_id).await?;
        let failures: i32 = sqlx::query_scalar(
            "INSERT INTO ai_job_failure (job_id, tenant_id, failures, last_error) \
             VALUES ($1, $2, 1, $3) ON CONFLICT (job_id) DO UPDATE \
             SET failures = ai_job_failure.failures + 1, last_error = EXCLUDED.last_error, \
                 updated_at = now() RETURNING failures",
        )
        .bind(job.job_id)
        .bind(job.tenant_id)
        .bind(&reason)
        .fetch_one(&mut *tx)
        .await
        .context("counting the job's failures")?;
        let failures = u32::try_from(failures).unwrap_or(0);
        if failures >= self.max_failures {
            let bus = CommandBus::<Client>::new(self.pool.clone(), ());
            let meta = CommandMetadata::system(job.tenant_id, "ai", job.correlation_id.clone());
            let command = ClientCommand::RecordRecommendationFailure {
                intake_version: version,
                reason,
                attempts: failures,
                at: chrono::Utc::now(),
            };
            bus.execute_in(&mut tx, &client.to_string(), command, None, &meta)
                .await
                .map_err(|e| anyhow::anyhow!("recording the failure: {e}"))?;
            metrics::counter!("repstream_ai_recommendations_total", "outcome" => "failed")
                .increment(1);
        }
        tx.commit().await.context("committing the failure count")?;
        Ok(())
    }

    /// The recommendation for `client`'s intake `version` (see the module docs).
    pub async fn recommend(
        &self,
        tenant: Uuid,
        client: Uuid,
        version: u32,
        correlation: Option<String>,
    ) -> anyhow::Result<Outcome> {
        let history = self.history(tenant, client, version).await?;
        let Some(submission) = history
            .submission
            .filter(|_| history.latest == version && !history.withdrawn && !history.recommended)
        else {
            info!(%client, version, "recommendation not needed (superseded, withdrawn or done)");
            return Ok(Outcome::Skipped);
        };
        let hash = input_hash(&submission)?;
        let cache_key = format!("{tenant}/by-input/{hash}.json");
        let (artifact, reused) = match infra::s3::get(&self.s3, &self.bucket, &cache_key).await? {
            Some(bytes) => (
                serde_json::from_slice::<serde_json::Value>(&bytes)
                    .context("a stored artifact is not JSON")?,
                true,
            ),
            None => {
                let artifact = self.compute(&submission, &hash).await?;
                infra::s3::put_json(&self.s3, &self.bucket, &cache_key, &artifact).await?;
                (artifact, false)
            }
        };
        let artifact_key = format!("{tenant}/{client}/{version}/{hash}.json");
        infra::s3::put_json(&self.s3, &self.bucket, &artifact_key, &artifact).await?;
        let recommendation: Recommendation =
            serde_json::from_value(artifact["output"].clone()).context("the artifact's output")?;
        let provider = artifact["provider"]
            .as_str()
            .unwrap_or("unknown")
            .to_owned();
        let record = RecommendationRecord {
            intake_version: version,
            recommendation,
            input_hash: hash,
            artifact_key,
            provider,
            reused,
            recorded_at: chrono::Utc::now(),
        };
        let bus = CommandBus::<Client>::new(self.pool.clone(), ());
        let meta = CommandMetadata::system(tenant, "ai", correlation);
        let command = ClientCommand::RecordRecommendation {
            recommendation: Box::new(record),
        };
        match bus.execute(&client.to_string(), command, None, meta).await {
            Ok(_) => {}
            // Overtaken while it was computed: nothing to record.
            Err(CommandError::Rejected(
                ClientError::IntakeSuperseded { .. } | ClientError::ConsentWithdrawn,
            )) => return Ok(Outcome::Skipped),
            Err(e) => return Err(anyhow::anyhow!("recording the recommendation: {e}")),
        }
        let outcome = if reused {
            Outcome::Reused
        } else {
            Outcome::Computed
        };
        metrics::counter!("repstream_ai_recommendations_total", "outcome" => if reused { "reused" } else { "computed" })
            .increment(1);
        Ok(outcome)
    }

    /// Asks the provider, checks its answer, and builds the artifact.
    async fn compute(
        &self,
        submission: &HealthSubmission,
        hash: &str,
    ) -> anyhow::Result<serde_json::Value> {
        let started = Instant::now();
        let answer = self.provider.recommend(submission).await?;
        let elapsed = started.elapsed();
        metrics::histogram!("repstream_ai_provider_seconds", "provider" => self.provider.name())
            .record(elapsed.as_secs_f64());
        answer
            .recommendation
            .validate()
            .map_err(|e| anyhow::anyhow!("the provider's answer is invalid: {e}"))?;
        Ok(serde_json::json!({
            "input_hash": hash,
            "prompt_version": PROMPT_VERSION,
            "provider": self.provider.name(),
            "model": answer.model,
            "raw_output": answer.raw,
            "output": answer.recommendation,
            "timings": { "provider_ms": elapsed.as_millis() },
            "created_at": chrono::Utc::now(),
        }))
    }

    /// Answers question `question` about `client` from their latest intake and
    /// recommendation (the rules engine's answer, with its sources). Skipped once
    /// answered, or when consent was withdrawn meanwhile.
    pub async fn answer_question(
        &self,
        tenant: Uuid,
        client: Uuid,
        question: Uuid,
        correlation: Option<String>,
    ) -> anyhow::Result<Outcome> {
        let rows = self.health_events(tenant, client).await?;
        let (mut intake, mut withdrawn, mut recommendation) = (None, false, None);
        let (mut asked, mut answered) = (None, false);
        let id = question.to_string();
        for (kind, payload) in rows {
            match kind.as_str() {
                "HealthIntakeSubmitted" => {
                    intake = Some(payload["submission"].clone());
                    withdrawn = false;
                }
                "HealthConsentWithdrawn" => withdrawn = true,
                "RecommendationRecorded" => {
                    recommendation = Some(payload["recommendation"]["recommendation"].clone());
                }
                "QuestionAsked" if payload["question_id"] == id.as_str() => {
                    asked = payload["question"].as_str().map(str::to_owned);
                }
                "QuestionAnswered" if payload["question_id"] == id.as_str() => answered = true,
                _ => {}
            }
        }
        let (Some(text), Some(intake), false, false) = (asked, intake, withdrawn, answered) else {
            return Ok(Outcome::Skipped);
        };
        let intake: HealthSubmission = serde_json::from_value(intake).context("a stored intake")?;
        // The recommendation trainers see, or (still on its way) what the rules say.
        let recommendation: Recommendation = match recommendation {
            Some(r) => serde_json::from_value(r).context("a stored recommendation")?,
            None => domain::health::rules::recommend(&intake),
        };
        // The provider's answer, never less careful than the rules' (Answer::within).
        let rules = domain::health::rules::answer(&text, &intake, &recommendation);
        let answer = self
            .provider
            .answer(&text, &intake, &recommendation)
            .await?
            .within(&rules);
        let bus = CommandBus::<Client>::new(self.pool.clone(), ());
        let meta = CommandMetadata::system(tenant, "ai", correlation);
        let command = ClientCommand::AnswerQuestion {
            question_id: question,
            answer: Box::new(answer),
            provider: self.provider.name().to_owned(),
            at: chrono::Utc::now(),
        };
        bus.execute(&client.to_string(), command, None, meta)
            .await
            .map_err(|e| anyhow::anyhow!("recording the answer: {e}"))?;
        metrics::counter!("repstream_ai_answers_total").increment(1);
        Ok(Outcome::Computed)
    }

    /// The client's health events in order, read bound to the tenant.
    async fn health_events(
        &self,
        tenant: Uuid,
        client: Uuid,
    ) -> anyhow::Result<Vec<(String, serde_json::Value)>> {
        let mut tx = self.pool.begin().await?;
        bind_tenant(&mut tx, tenant).await?;
        let rows: Vec<(String, serde_json::Value)> = sqlx::query_as(
            "SELECT event_type, payload FROM events WHERE aggregate_type = 'client' \
             AND aggregate_id = $1 AND event_type IN ('HealthIntakeSubmitted', \
               'HealthConsentWithdrawn', 'RecommendationRecorded', 'QuestionAsked', \
               'QuestionAnswered') \
             ORDER BY sequence",
        )
        .bind(client.to_string())
        .fetch_all(&mut *tx)
        .await
        .context("reading the client's health events")?;
        tx.commit().await?;
        Ok(rows)
    }

    /// What [`Self::recommend`] needs to know of the client's health history.
    async fn history(&self, tenant: Uuid, client: Uuid, version: u32) -> anyhow::Result<History> {
        let rows = self.health_events(tenant, client).await?;
        let mut history = History::default();
        for (kind, payload) in rows {
            match kind.as_str() {
                "HealthIntakeSubmitted" => {
                    history.latest = payload["version"].as_u64().unwrap_or(0) as u32;
                    history.withdrawn = false;
                    if history.latest == version {
                        history.submission = Some(
                            serde_json::from_value(payload["submission"].clone())
                                .context("a stored intake")?,
                        );
                    }
                }
                "HealthConsentWithdrawn" => history.withdrawn = true,
                "RecommendationRecorded"
                    if payload["recommendation"]["intake_version"].as_u64()
                        == Some(u64::from(version)) =>
                {
                    history.recommended = true;
                }
                _ => {}
            }
        }
        Ok(history)
    }
}

#[async_trait]
impl MessageHandler for AiWorker {
    async fn handle(&self, body: &str) -> anyhow::Result<()> {
        let job: NotificationJob = serde_json::from_str(body).context("message is not a job")?;
        anyhow::ensure!(job.channel == Channel::Ai, "not an AI job");
        let client: Uuid =
            serde_json::from_value(job.data["client_id"].clone()).context("the job's client")?;
        let correlation = job.correlation_id.clone();
        let span = info_span!("ai_job", job_id = %job.job_id, task = %job.template, %client);
        match job.template.as_str() {
            AI_RECOMMENDATION => {
                let version: u32 = serde_json::from_value(job.data["intake_version"].clone())
                    .context("the job's intake version")?;
                let done = self
                    .recommend(job.tenant_id, client, version, correlation)
                    .instrument(span)
                    .await;
                if let Err(e) = done {
                    // Outages pause the consumer and rate limits defer the job: neither
                    // is a failure of the job.
                    let deferred = e.downcast_ref::<infra::consumer::RetryAfter>().is_some();
                    if !deferred && !infra::consumer::is_outage(&e) {
                        self.failed(&job, client, version, &e).await?;
                    }
                    return Err(e);
                }
            }
            AI_QUESTION => {
                let question: Uuid = serde_json::from_value(job.data["question_id"].clone())
                    .context("the job's question")?;
                self.answer_question(job.tenant_id, client, question, correlation)
                    .instrument(span)
                    .await?;
            }
            other => anyhow::bail!("unknown AI task `{other}`"),
        }
        Ok(())
    }

    async fn ready(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intake(day: u32) -> HealthSubmission {
        use chrono::TimeZone as _;
        let given_at = chrono::Utc
            .with_ymd_and_hms(2026, 12, day, 9, 0, 0)
            .single()
            .expect("time");
        HealthSubmission::new(domain::health::Consent {
            text_version: 1,
            given_at,
        })
    }

    #[test]
    fn identical_forms_share_a_hash_unless_a_date_makes_the_day_matter() {
        assert_eq!(
            input_hash(&intake(1)).expect("hash"),
            input_hash(&intake(2)).expect("hash"),
            "the consent is not part of the input"
        );
        let mut dated = (intake(1), intake(2));
        for d in [&mut dated.0, &mut dated.1] {
            d.surgeries.push(domain::health::Surgery {
                description: "appendix".to_owned(),
                kind: domain::health::SurgeryKind::Abdominal,
                area: None,
                when: DateOrMonthsAgo::Date(
                    chrono::NaiveDate::from_ymd_opt(2026, 10, 1).expect("date"),
                ),
            });
        }
        assert_ne!(
            input_hash(&dated.0).expect("hash"),
            input_hash(&dated.1).expect("hash")
        );
        let mut other = intake(1);
        other.limitations = Some("no jumping".to_owned());
        assert_ne!(
            input_hash(&intake(1)).expect("hash"),
            input_hash(&other).expect("hash")
        );
    }
}
