//! (reads) `GET` of a projected view through the API.

use std::sync::Arc;

use anyhow::ensure;
use sqlx::PgPool;
use tokio::time::Instant;
use uuid::Uuid;

use crate::commands::{measure, StepFn, COUNTED};
use crate::e2e::{wait_for_views, CATCH_UP_LIMIT};
use crate::http::{transport_error, Http};
use crate::services::{self, Binaries};
use crate::stats::Summary;
use crate::trips::Counter;
use crate::{Args, World};

/// `--clients` closed-loop clients read studio views; the studios are the e2e
/// section's (already projected) or, when it was skipped, created and projected here.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn section(
    args: &Args,
    world: &World,
    bins: &Binaries,
    http: &Http,
    observer: &PgPool,
    counter: &Counter,
    projected: Option<Vec<Uuid>>,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    println!(
        "\n(reads) GET /studios/{{id}}: {} clients, {} s",
        args.clients, args.duration_secs
    );
    let studios = match projected {
        Some(s) if !s.is_empty() => s,
        _ => {
            // Earlier sections' rows were never relayed; they must not delay this one.
            crate::commands::empty_outbox(observer).await?;
            let pipeline = services::start_pipeline(bins, world).await?;
            let started = Instant::now();
            let created = http.create_studios(args.studios, "reads").await;
            let ready = match &created {
                Ok(s) => wait_for_views(observer, s, started + CATCH_UP_LIMIT).await,
                Err(_) => Ok(()),
            };
            services::stop_all(pipeline).await;
            ready?;
            created?
        }
    };
    let studios = Arc::new(studios);
    let (h, s) = (http.clone(), studios.clone());
    let request: StepFn = Arc::new(move |c, k| {
        let (http, studios) = (h.clone(), s.clone());
        Box::pin(async move {
            let studio = studios[(c + k as usize) % studios.len()];
            Some(match http.get_studio(studio).await {
                Ok(None) => Ok(()),
                Ok(Some((status, code))) => Err(format!("HTTP {status} {code}")),
                Err(e) => Err(transport_error(&e)),
            })
        })
    });
    let name = format!("(reads) view GETs/s ({} clients)", args.clients);
    measure(args, counter, summary, name, "GETs/s", request).await?;
    let studio = studios[0];
    let trips = counter
        .per_request(COUNTED, |_| async move {
            ensure!(http.get_studio(studio).await?.is_none(), "GET failed");
            Ok(())
        })
        .await?;
    counter.report(summary, "(reads) round trips / view GET", trips);
    Ok(())
}
