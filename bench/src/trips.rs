//! Round trips per request, counted by `pg_stat_statements`: the statements the API's
//! role ran in the bench database (each one round trip; `BEGIN` and `COMMIT` included)
//! over a sequential run of one request kind, divided by the requests.

use std::future::Future;

use anyhow::Context;
use sqlx::PgPool;

use crate::cpu::Meter;
use crate::stats::Summary;
use crate::API_ROLE;

pub(crate) struct Counter {
    /// CPU time per request, next to the round trips.
    pub(crate) cpu: Meter,
    observer: PgPool,
    /// Why counting is unavailable (the library is not preloaded), if it is.
    unavailable: Option<String>,
}

impl Counter {
    pub(crate) async fn new(observer: &PgPool, cpu: Meter) -> Self {
        let check = async {
            sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
                .execute(observer)
                .await?;
            sqlx::query("SELECT count(*) FROM pg_stat_statements")
                .execute(observer)
                .await?;
            anyhow::Ok(())
        };
        let unavailable = check.await.err().map(|e| {
            format!("pg_stat_statements unavailable ({e}); start Postgres with scripts/pg-up.sh")
        });
        if let Some(why) = &unavailable {
            println!("round trips: {why}");
        }
        Self {
            cpu,
            observer: observer.clone(),
            unavailable,
        }
    }

    async fn reset(&self) -> anyhow::Result<()> {
        sqlx::query(&format!(
            "SELECT pg_stat_statements_reset('{API_ROLE}'::regrole, \
             (SELECT oid FROM pg_database WHERE datname = current_database()), 0)"
        ))
        .execute(&self.observer)
        .await
        .context("resetting pg_stat_statements")?;
        Ok(())
    }

    async fn calls(&self) -> anyhow::Result<i64> {
        sqlx::query_scalar(&format!(
            "SELECT COALESCE(sum(calls), 0)::int8 FROM pg_stat_statements \
             WHERE userid = '{API_ROLE}'::regrole \
               AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ))
        .fetch_one(&self.observer)
        .await
        .context("reading pg_stat_statements")
    }

    /// Mean statements per request over `n` sequential requests (`None` when counting is
    /// unavailable).
    pub(crate) async fn per_request<F, Fut>(
        &self,
        n: usize,
        mut request: F,
    ) -> anyhow::Result<Option<f64>>
    where
        F: FnMut(usize) -> Fut,
        Fut: Future<Output = anyhow::Result<()>>,
    {
        if self.unavailable.is_some() || n == 0 {
            return Ok(None);
        }
        self.reset().await?;
        for i in 0..n {
            request(i).await.context("a counted request failed")?;
        }
        Ok(Some(self.calls().await? as f64 / n as f64))
    }

    /// Prints the figure and adds it to the summary.
    pub(crate) fn report(&self, summary: &mut Summary, name: &str, trips: Option<f64>) {
        let value = trips.map_or_else(|| "n/a".to_owned(), |t| format!("{t:.1}"));
        println!("    {name}: {value}");
        summary.row(name, value, "statements of the API role per request");
    }
}
