//! Crashes at any moment lose nothing and apply nothing twice (issue 10).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use repstream_tests::{eventually, Component, TestEnv};
use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use crate::{replayed_view, stored_view};

/// A pseudo-random number below `n` (the test needs variety, not quality).
fn below(n: u64) -> u64 {
    u64::from_le_bytes(
        Uuid::new_v4().as_bytes()[..8]
            .try_into()
            .unwrap_or_default(),
    ) % n
}

#[tokio::test]
async fn components_killed_at_random_moments_leave_every_view_at_its_head_and_each_mail_once(
) -> anyhow::Result<()> {
    let env = Arc::new(TestEnv::new().await?);
    let _ = std::fs::remove_dir_all(&env.mailbox);
    let app = env.spawn_api().await?;
    let owner = app.user("Chaos Owner").await?;
    let mut studios = Vec::new();
    for n in 0..10 {
        studios.push(app.create_studio(&owner, &format!("Chaos {n}")).await?);
    }

    // The supervisor: every component runs, and is killed and restarted at random.
    let stop = Arc::new(AtomicBool::new(false));
    let chaos_env = env.clone();
    let supervisor = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let kinds = [Component::Relay, Component::Projector, Component::Worker];
            let mut running: Vec<_> = kinds
                .iter()
                .map(|k| chaos_env.spawn_crashable(*k))
                .collect();
            let mut kills = 0u32;
            while !stop.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(50 + below(400))).await;
                let victim = below(3) as usize;
                running[victim].abort();
                kills += 1;
                running[victim] = chaos_env.spawn_crashable(kinds[victim]);
            }
            for task in running {
                task.abort();
            }
            kills
        })
    };

    // A client's load: each command the moment the previous one answered.
    let mut mails = Vec::new();
    for i in 0..1500u32 {
        let (path, body) = if i % 150 == 7 {
            // One contact change per studio: well inside each studio's mail budget.
            let studio = studios[(i / 150) as usize];
            mails.push(format!("desk{i}@chaos.example"));
            (
                format!("/api/v1/studios/{studio}/settings"),
                json!({"settings": {"contact_email": format!("desk{i}@chaos.example")}}),
            )
        } else {
            let studio = studios[(i % 10) as usize];
            (
                format!("/api/v1/studios/{studio}/rename"),
                json!({"name": format!("Chaos {i}")}),
            )
        };
        let method = if i % 150 == 7 {
            Method::PUT
        } else {
            Method::POST
        };
        let (status, answer) = app.call(method, &path, &owner, Some(body)).await?;
        assert_eq!(status, 200, "{answer}");
    }
    stop.store(true, Ordering::SeqCst);
    let kills = supervisor.await?;
    assert!(kills > 5, "only {kills} crashes");

    // Calm again: one of each, and everything settles.
    env.spawn_relay();
    env.spawn_projector();
    env.spawn_worker();
    for studio in &studios {
        let pool = env.pool.clone();
        let studio = *studio;
        eventually(
            Duration::from_secs(90),
            "the view at its stream's head",
            || {
                let pool = pool.clone();
                async move {
                    let stored = stored_view(&pool, studio).await?;
                    let replayed = replayed_view(&pool, studio).await?;
                    Ok((stored.as_ref() == Some(&replayed)).then_some(()))
                }
            },
        )
        .await?;
    }
    let sent = eventually(
        Duration::from_secs(60),
        "every confirmation sent",
        || async {
            let sent: Vec<usize> = mails.iter().map(|to| env.mails_to(to).len()).collect();
            Ok(sent.iter().all(|&n| n >= 1).then_some(sent))
        },
    )
    .await?;
    assert!(
        sent.iter().all(|&n| n == 1),
        "a confirmation was sent twice: {sent:?}"
    );
    let doubled: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM side_effect WHERE consumer = 'notifications' AND state <> 'done'",
    )
    .fetch_one(&env.pool)
    .await?;
    assert_eq!(doubled, 0);
    let _ = std::fs::remove_dir_all(&env.mailbox);
    Ok(())
}
