//! Starting before the database: alive, not ready, then ready without a restart.

use std::time::Duration;

use tessera_server::{Config, Database, Server};
use tessera_testkit::PostgresDatabase;

#[tokio::test]
async fn readyz_says_not_ready_until_the_database_answers() {
    let Some(database) = PostgresDatabase::planned("readyz_until_the_database_answers").await else { return };
    let data_dir = tempfile::tempdir().expect("data dir");
    let mut config = Config::for_test(data_dir.path());
    config.database = Database::Postgres(database.url.clone());
    config.database_startup_timeout = Duration::from_secs(60);
    config.listen =
        std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr");
    let base = format!("http://{}", config.listen);
    let starting = tokio::spawn(Server::start(config));

    let http = reqwest::Client::new();
    let status = |path: &'static str| {
        let request = http.get(format!("{base}{path}")).send();
        async move { request.await.map(|response| response.status().as_u16()).unwrap_or(0) }
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while status("/readyz").await != 503 {
        assert!(tokio::time::Instant::now() < deadline, "no 503 from /readyz while the database is missing");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status("/healthz").await, 200, "the process is alive");
    assert_eq!(status("/.well-known/openid-configuration").await, 503, "nothing is served half-ready");
    assert!(!starting.is_finished(), "still retrying, not crashed");

    database.create_now().await;
    let server = tokio::time::timeout(Duration::from_secs(30), starting)
        .await
        .expect("starts once the database exists")
        .expect("task")
        .expect("server");
    let running = tokio::spawn(server.run(std::future::pending()));
    assert_eq!(status("/readyz").await, 200);
    assert_eq!(status("/.well-known/openid-configuration").await, 200);
    running.abort();
}

#[tokio::test]
async fn readyz_fails_while_the_database_is_gone_and_recovers_when_it_returns() {
    let Some(database) = PostgresDatabase::create("readyz_while_the_database_is_gone").await else { return };
    let data_dir = tempfile::tempdir().expect("data dir");
    let mut config = Config::for_test(data_dir.path());
    config.database = Database::Postgres(database.url.clone());
    let server = Server::start(config).await.expect("server");
    let base = format!("http://{}", server.local_addr());
    let running = tokio::spawn(server.run(std::future::pending()));
    let http = reqwest::Client::new();
    let readyz = || {
        let request = http.get(format!("{base}/readyz")).send();
        async move { request.await.map(|response| response.status().as_u16()).unwrap_or(0) }
    };
    assert_eq!(readyz().await, 200);

    database.cut_off().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while readyz().await != 503 {
        assert!(tokio::time::Instant::now() < deadline, "/readyz kept saying ready without a database");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let healthz = http.get(format!("{base}/healthz")).send().await.expect("healthz");
    assert_eq!(healthz.status(), 200, "alive all along");

    database.restore().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while readyz().await != 200 {
        assert!(tokio::time::Instant::now() < deadline, "/readyz did not recover when the database returned");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    running.abort();
}
