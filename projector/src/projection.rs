use async_trait::async_trait;
use domain::class::view::ClassView;
use domain::class_type::view::ClassTypeView;
use domain::client::view::ClientView;
use domain::studio::view::StudioView;
use domain::trainer_calendar::view::TrainerCalendarView;
use infra::envelope::EventEnvelope;
use infra::jobs::NotificationJob;
use sqlx::PgConnection;

use crate::class::Bookings;
use crate::document::DocumentProjection;
use crate::studio::ContactEmailConfirmation;
use crate::trainer::TrainerColumn;

/// A read model: how one aggregate type's events become rows of one table.
#[async_trait]
pub trait Projection: Send + Sync {
    /// Stable name, used for checkpoints and `rebuild`.
    fn name(&self) -> &'static str;
    /// The aggregate type whose streams feed this projection.
    fn aggregate_type(&self) -> &'static str;
    /// The live table.
    fn table(&self) -> &'static str;
    /// Applies one event to `table` (the live table, or a rebuild's fresh copy) and
    /// returns the jobs it causes. Called in stream order, exactly once per event.
    async fn apply(
        &self,
        conn: &mut PgConnection,
        table: &str,
        event: &EventEnvelope,
    ) -> anyhow::Result<Vec<NotificationJob>>;
}

/// Every projection the projector maintains: one line per view. A plain document view
/// is `DocumentProjection::<V>::new()`; a view with side tables, jobs or a column its
/// document does not hold brings a [`Hook`](crate::document::Hook).
pub fn all_projections() -> Vec<Box<dyn Projection>> {
    vec![
        Box::new(DocumentProjection::<StudioView, _>::with_hook(
            ContactEmailConfirmation,
        )),
        Box::new(DocumentProjection::<ClientView>::new()),
        Box::new(DocumentProjection::<ClassTypeView>::new()),
        Box::new(DocumentProjection::<ClassView, _>::with_hook(Bookings)),
        Box::new(DocumentProjection::<TrainerCalendarView, _>::with_hook(
            TrainerColumn,
        )),
    ]
}
