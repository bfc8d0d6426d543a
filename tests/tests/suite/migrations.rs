//! Migrations run once however many processes start together: sqlx's advisory lock serialises
//! them, and the ones that wait find the schema applied and change nothing.

use std::process::Command;

use integration_tests::TestEnv;
use integration_tests::process::workers_binary;

/// The migrations the repository holds.
fn migration_count() -> i64 {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    std::fs::read_dir(dir)
        .expect("migrations folder")
        .filter_map(Result::ok)
        .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "sql"))
        .count() as i64
}

async fn applied(database_url: &str) -> (i64, i64, bool) {
    let pool = sqlx::PgPool::connect(database_url).await.expect("connect");
    let row: (i64, i64, bool) = sqlx::query_as(
        "select count(*), count(distinct version), coalesce(bool_and(success), false) from _sqlx_migrations",
    )
    .fetch_one(&pool)
    .await
    .expect("migration table");
    pool.close().await;
    row
}

#[tokio::test]
async fn four_tasks_migrating_a_fresh_database_at_once_all_succeed_and_apply_it_once() {
    let env = TestEnv::new();
    let runs = (0..4).map(|_| {
        let url = env.database_url.clone();
        tokio::spawn(async move { common::db::connect_and_migrate(&url, 2).await })
    });
    for run in futures::future::join_all(runs).await {
        let pool = run.expect("task").expect("every migrator succeeds");
        pool.close().await;
    }
    let (rows, versions, succeeded) = applied(&env.database_url).await;
    assert_eq!(rows, migration_count(), "each migration recorded once");
    assert_eq!(versions, rows);
    assert!(succeeded);
}

#[tokio::test]
async fn four_workers_migrate_processes_at_once_all_exit_zero_and_apply_it_once() {
    let env = TestEnv::new();
    let binary = workers_binary();
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(&binary)
                .arg("migrate")
                .envs(env.vars())
                .env("RUST_LOG", "warn")
                .spawn()
                .unwrap_or_else(|e| {
                    panic!(
                        "starting {} (cargo build -p workers first): {e}",
                        binary.display()
                    )
                })
        })
        .collect();
    for mut child in children {
        let status = tokio::task::spawn_blocking(move || child.wait())
            .await
            .expect("join")
            .expect("wait");
        assert!(status.success(), "workers migrate exited with {status}");
    }
    let (rows, versions, succeeded) = applied(&env.database_url).await;
    assert_eq!(rows, migration_count(), "each migration recorded once");
    assert_eq!(versions, rows);
    assert!(succeeded);
}
