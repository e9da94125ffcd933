//! tokio-cron-scheduler fires a tick in every server process; the work
//! itself is claimed through database rows (see `jobs`).

use std::sync::Arc;
use std::time::Duration;

use tokio_cron_scheduler::{Job, JobScheduler};

use crate::jobs;
use crate::mailer::Mailer;
use crate::state::AppState;

pub async fn start(state: AppState) -> anyhow::Result<JobScheduler> {
    let mailer = Arc::new(Mailer::from_settings(&state.settings)?);
    let worker = Arc::new(format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()));
    let busy = Arc::new(tokio::sync::Mutex::new(()));
    let sched = JobScheduler::new().await?;
    let every = Duration::from_secs(state.settings.tick_seconds.max(1));
    let run = move || {
        let state = state.clone();
        let mailer = mailer.clone();
        let worker = worker.clone();
        let busy = busy.clone();
        async move {
            // Skip a tick while the previous one still runs.
            let Ok(_guard) = busy.try_lock() else { return };
            let started = std::time::Instant::now();
            let result = jobs::tick(&state, &mailer, &worker).await;
            let elapsed_ms = started.elapsed().as_millis() as u64;
            match result {
                Ok(report) => tracing::debug!(?report, elapsed_ms, "scheduler tick"),
                Err(e) => tracing::error!(error = %format!("{e:#}"), elapsed_ms, "scheduler tick failed"),
            }
        }
    };
    // Catch up at once on what came due while the server was down.
    tokio::spawn(run());
    sched.add(Job::new_repeated_async(every, move |_id, _l| Box::pin(run()))?).await?;
    sched.start().await?;
    Ok(sched)
}
