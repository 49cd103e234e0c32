//! An OpenAI-compatible chat-completions provider: OpenAI itself, or a local server
//! speaking the same API (vLLM, llama.cpp's server, Ollama) by base URL alone.
//!
//! One request per intake: a versioned system prompt, the intake (without its consent)
//! as the user message, `response_format` = the [`Recommendation`] JSON schema in strict
//! mode, temperature 0. The answer is parsed and then held to the same checks as the
//! rules engine's ([`Recommendation::validate`], done by the AI worker). Token usage
//! goes to `/metrics` (`repstream_ai_tokens_total{kind}`). A `429` defers the job by its
//! `Retry-After` ([`infra::consumer::RetryAfter`]); a timeout, a `5xx`, malformed JSON or
//! an answer outside the schema fail the attempt, and the job is retried.
//!
//! Written on `reqwest` (already the webhook client) rather than a full SDK: one
//! endpoint, one request shape, and the timeouts, retries and metrics are ours.

use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use domain::health::rules::Answer;
use domain::health::{HealthSubmission, Recommendation};
use serde_json::json;

use crate::ai::{intake_content, ProviderAnswer, RecommendationProvider, PROMPT_VERSION};

/// The instructions every request starts with ([`PROMPT_VERSION`] names this text).
pub const SYSTEM_PROMPT: &str = "You are an exercise-safety assistant for personal \
trainers. From a client's health intake (PAR-Q+ answers with follow-ups, conditions, \
injuries, surgeries, medications, pregnancy, pain, fitness level, limitations, goals), \
write a recommendation that follows the JSON schema exactly. Be conservative: require \
medical clearance for any PAR-Q+ 'yes' not cleared by a professional, chest pain, \
pregnancy complications or recent surgery; list every movement to avoid with the reason \
and its source guideline (e.g. PAR-Q+ 2023, ACSM, ACOG); plan a first week that never \
uses a movement you list as contraindicated; write the summary in plain English for the \
trainer. This is not medical advice and must not claim to be.";

/// The instructions of a trainer's question.
pub const QUESTION_PROMPT: &str = "You answer a personal trainer's question about one \
client, from the client's health intake and the recommendation trainers work from. \
Answer in the JSON schema: verdict `not_yet` if anything asked about involves a movement \
the recommendation rules out (or needs clearance first), `yes` if it is safe within the \
recommendation, `unsure` if you cannot tell; a short plain-English text; the guidelines \
you rest on as sources. Be conservative. This is not medical advice.";

/// Where and how to reach the model.
#[derive(Clone)]
pub struct OpenAiConfig {
    /// E.g. `https://api.openai.com/v1`, `http://127.0.0.1:11434/v1` (Ollama).
    pub base_url: String,
    /// Default `gpt-4o-mini`.
    pub model: String,
    /// Sent as a bearer token when set (local servers need none).
    pub api_key: Option<String>,
    /// The whole request, answer included.
    pub timeout: Duration,
}

impl std::fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The provider. Cheap to clone.
#[derive(Debug, Clone)]
pub struct OpenAiProvider {
    client: reqwest::Client,
    config: OpenAiConfig,
}

impl OpenAiProvider {
    pub fn new(config: OpenAiConfig) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(Duration::from_secs(5))
            .user_agent("repstream-ai/1")
            .build()
            .context("building the model's HTTP client")?;
        Ok(Self { client, config })
    }

    /// Posts one chat completion and returns the answer's content (and the model).
    async fn complete(&self, body: &serde_json::Value) -> anyhow::Result<(String, String)> {
        let url = format!(
            "{}/chat/completions",
            self.config.base_url.trim_end_matches('/')
        );
        let mut request = self.client.post(&url).json(body);
        if let Some(key) = &self.config.api_key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.context("calling the model")?;
        let status = response.status();
        // Rate limited: come back when the server says (the job is deferred, which is
        // not a failure of the job).
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            let wait = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(30)
                .clamp(1, 600);
            return Err(infra::consumer::RetryAfter(Duration::from_secs(wait)).into());
        }
        let body: serde_json::Value = response
            .json()
            .await
            .with_context(|| format!("the model answered {status} without JSON"))?;
        anyhow::ensure!(
            status.is_success(),
            "the model answered {status}: {}",
            body["error"]["message"].as_str().unwrap_or("no message")
        );
        for kind in ["prompt_tokens", "completion_tokens"] {
            if let Some(n) = body["usage"][kind].as_u64() {
                metrics::counter!("repstream_ai_tokens_total", "kind" => kind).increment(n);
            }
        }
        let raw = body["choices"][0]["message"]["content"]
            .as_str()
            .context("the model's answer has no content")?
            .to_owned();
        let model = body["model"]
            .as_str()
            .unwrap_or(&self.config.model)
            .to_owned();
        Ok((raw, model))
    }

    /// The request body for `intake` (public for tests and for logging its shape).
    pub fn request(&self, intake: &HealthSubmission) -> anyhow::Result<serde_json::Value> {
        let mut content = intake_content(intake)?;
        if let Some(object) = content.as_object_mut() {
            object.insert("as_of".to_owned(), intake.as_of().to_string().into());
        }
        Ok(json!({
            "model": self.config.model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": content.to_string()},
            ],
            "response_format": {
                "type": "json_schema",
                "json_schema": {
                    "name": "recommendation",
                    "strict": true,
                    "schema": Recommendation::json_schema(),
                },
            },
            "metadata": {"prompt_version": PROMPT_VERSION},
        }))
    }
}

#[async_trait]
impl RecommendationProvider for OpenAiProvider {
    fn name(&self) -> &'static str {
        "openai"
    }

    async fn recommend(&self, intake: &HealthSubmission) -> anyhow::Result<ProviderAnswer> {
        let (raw, model) = self.complete(&self.request(intake)?).await?;
        let recommendation: Recommendation =
            serde_json::from_str(&raw).context("the model's answer is not a recommendation")?;
        Ok(ProviderAnswer {
            raw,
            recommendation,
            model,
        })
    }

    async fn answer(
        &self,
        question: &str,
        intake: &HealthSubmission,
        recommendation: &Recommendation,
    ) -> anyhow::Result<Answer> {
        let content = intake_content(intake)?;
        let body = json!({
            "model": self.config.model,
            "temperature": 0,
            "messages": [
                {"role": "system", "content": QUESTION_PROMPT},
                {"role": "user", "content": json!({
                    "question": question,
                    "intake": content,
                    "recommendation": recommendation,
                }).to_string()},
            ],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "answer", "strict": true, "schema": Answer::json_schema()},
            },
        });
        let (raw, _) = self.complete(&body).await?;
        serde_json::from_str(&raw).context("the model's answer is not an answer")
    }
}
