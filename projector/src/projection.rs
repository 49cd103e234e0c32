use async_trait::async_trait;
use infra::envelope::EventEnvelope;
use infra::jobs::NotificationJob;
use sqlx::PgConnection;

/// A read model: how one aggregate type's events become rows of one table.
#[async_trait]
pub trait Projection: Send + Sync {
    /// Stable name, used for checkpoints and `rebuild`.
    fn name(&self) -> &'static str;
    /// The aggregate type whose streams feed this projection.
    fn aggregate_type(&self) -> &'static str;
    /// The live table; `None` for a projection that only causes jobs (it has nothing to
    /// rebuild, and a rebuild never re-sends jobs).
    fn table(&self) -> Option<&'static str>;
    /// Tables the projection writes besides its own (e.g. `booking_view`): a rebuild
    /// rebuilds them into `{table}_rebuild` copies too and swaps them in together.
    fn side_tables(&self) -> &'static [&'static str] {
        &[]
    }
    /// Applies one event to `table` (the live table, or a rebuild's fresh copy) and
    /// returns the jobs it causes. Called in stream order, exactly once per event.
    async fn apply(
        &self,
        conn: &mut PgConnection,
        table: &str,
        event: &EventEnvelope,
    ) -> anyhow::Result<Vec<NotificationJob>>;

    /// Applies consecutive events of one stream, in order (a gap fill, a rebuild's
    /// page). A projection may do it in fewer statements than one event at a time.
    async fn apply_run(
        &self,
        conn: &mut PgConnection,
        table: &str,
        run: &[EventEnvelope],
    ) -> anyhow::Result<Vec<NotificationJob>> {
        let mut jobs = Vec::new();
        for event in run {
            jobs.extend(self.apply(conn, table, event).await?);
        }
        Ok(jobs)
    }

    /// Applies runs of distinct streams (each as for [`Self::apply_run`]), e.g. a
    /// rebuild's page. A projection may do it in fewer statements than one run at a time.
    async fn apply_runs(
        &self,
        conn: &mut PgConnection,
        table: &str,
        runs: &[&[EventEnvelope]],
    ) -> anyhow::Result<Vec<NotificationJob>> {
        let mut jobs = Vec::new();
        for run in runs {
            jobs.extend(self.apply_run(conn, table, run).await?);
        }
        Ok(jobs)
    }
}
