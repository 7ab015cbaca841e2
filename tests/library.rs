//! The library handle, black-box: `MockServer` as a Rust test suite would use
//! it, over real HTTP on 127.0.0.1:0.

use std::time::{Duration, Instant};

use archil_mock::{FaultRule, JournalFilter, MockServer, DEFAULT_KEY};
use serde_json::{json, Value};

async fn get_tokens(server: &MockServer, key: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}/api/tokens", server.uri()))
        .header("Authorization", key)
        .send()
        .await
        .expect("the server answers")
}

async fn create_token(server: &MockServer, key: &str, name: &str) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}/api/tokens", server.uri()))
        .header("Authorization", key)
        .json(&json!({ "name": name }))
        .send()
        .await
        .expect("the server answers");
    (resp.status().as_u16(), resp.json().await.unwrap())
}

/// Connects until refused; false if the port still accepts after `within`.
async fn refused_within(addr: std::net::SocketAddr, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

/// The README's five-line test.
#[tokio::test]
async fn a_five_line_test_lists_the_bootstrap_key() {
    let server = MockServer::start().await;
    let resp = get_tokens(&server, server.api_key()).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["data"]["tokens"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn two_servers_in_one_process_are_isolated() {
    let a = MockServer::start().await;
    let b = MockServer::builder()
        .api_key("key-server-b-only")
        .start()
        .await;
    assert_ne!(a.addr(), b.addr());

    let (status, _) = create_token(&a, a.api_key(), "only-on-a").await;
    assert_eq!(status, 201);
    a.faults().add(FaultRule::status(503).path("/api/tokens"));

    // b has its own keys, tokens, faults and journal.
    assert_eq!(get_tokens(&b, DEFAULT_KEY).await.status(), 401);
    assert_eq!(get_tokens(&a, "key-server-b-only").await.status(), 503);
    let listed: Value = get_tokens(&b, b.api_key()).await.json().await.unwrap();
    let names: Vec<&str> = listed["data"]["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(!names.contains(&"only-on-a"), "{names:?}");
    assert!(b.faults().list().is_empty());
    assert_eq!(a.requests().len(), 2);
    assert_eq!(b.requests().len(), 2);
    assert!(a.state().accounts[0]
        .tokens
        .iter()
        .any(|t| t.name == "only-on-a"));
}

#[tokio::test]
async fn dropping_the_handle_shuts_the_server_down() {
    let server = MockServer::start().await;
    let addr = server.addr();
    assert_eq!(get_tokens(&server, server.api_key()).await.status(), 200);

    drop(server);

    assert!(
        refused_within(addr, Duration::from_secs(2)).await,
        "{addr} still accepts connections after the handle was dropped"
    );
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_delayed_request_complete() {
    let server = MockServer::start().await;
    let addr = server.addr();
    let url = format!("{}/api/tokens", server.uri());
    let key = server.api_key().to_owned();
    let in_flight = tokio::spawn(async move {
        reqwest::Client::new()
            .get(url)
            .header("Authorization", key)
            .header("X-Archil-Mock-Delay-Ms", "300")
            .send()
            .await
    });
    // Let the request reach the server and start its delay.
    tokio::time::sleep(Duration::from_millis(100)).await;

    let started = Instant::now();
    server.shutdown().await;

    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "shutdown returned before the delayed request was answered"
    );
    let resp = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(resp.status(), 200);
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn shutdown_cuts_off_requests_after_the_drain_timeout() {
    let server = MockServer::builder()
        .drain_timeout(Duration::from_millis(200))
        .start()
        .await;
    let url = format!("{}/api/tokens", server.uri());
    let in_flight = tokio::spawn(async move {
        reqwest::Client::new()
            .get(url)
            .header("X-Archil-Mock-Delay-Ms", "60000")
            .send()
            .await
    });
    tokio::time::sleep(Duration::from_millis(100)).await;

    let started = Instant::now();
    server.shutdown().await;

    assert!(started.elapsed() < Duration::from_secs(3));
    let cut = tokio::time::timeout(Duration::from_secs(3), in_flight)
        .await
        .expect("the connection is closed, not left sleeping")
        .unwrap();
    assert!(cut.is_err(), "{cut:?}");
}

#[tokio::test]
async fn faults_added_through_the_handle_fire_over_http_and_expire() {
    let server = MockServer::start().await;
    let id = server.faults().add(
        FaultRule::status(429)
            .method("POST")
            .path("/api/tokens")
            .times(2),
    );
    assert_eq!(server.faults().list()[0].id.as_deref(), Some(id.as_str()));

    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(create_token(&server, server.api_key(), "retry").await.0);
    }

    assert_eq!(statuses, [429, 429, 201]);
    assert!(server.faults().list().is_empty());
    let posts = server.requests_matching(JournalFilter {
        method: Some("POST".into()),
        ..Default::default()
    });
    let fired: Vec<Option<&str>> = posts.iter().map(|e| e.fault.as_deref()).collect();
    assert_eq!(fired, [Some(id.as_str()), Some(id.as_str()), None]);
}

#[tokio::test]
async fn faults_can_be_removed_and_cleared_through_the_handle() {
    let server = MockServer::start().await;
    let first = server.faults().add(FaultRule::status(500));
    server.faults().add(FaultRule::status(502));

    assert!(server.faults().remove(&first));
    assert!(!server.faults().remove(&first));
    assert_eq!(get_tokens(&server, server.api_key()).await.status(), 502);
    assert_eq!(server.faults().clear(), 1);
    assert_eq!(get_tokens(&server, server.api_key()).await.status(), 200);
}

#[tokio::test]
#[should_panic(expected = "invalid fault rule")]
async fn adding_an_invalid_fault_rule_panics_with_the_reason() {
    let server = MockServer::start().await;
    server.faults().add(FaultRule::status(200));
}

#[tokio::test]
async fn reset_returns_to_the_startup_state() {
    let server = MockServer::builder()
        .fixture(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/flaky-create.json"
        ))
        .start()
        .await;
    let startup = server.state();
    let startup_faults = server.faults().list();
    assert!(!startup_faults.is_empty(), "the fixture brings faults");
    server.faults().clear();
    let (status, _) = create_token(&server, server.api_key(), "temporary").await;
    assert_eq!(status, 201);

    server.reset().await;

    assert_eq!(server.state(), startup);
    assert_eq!(server.faults().list(), startup_faults);
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn the_builder_sets_accounts_keys_and_journal_size() {
    let server = MockServer::builder()
        .default_account("acme")
        .api_key("key-acme-1234")
        .account_key("other", "key-other-5678")
        .journal_size(2)
        .seed(99)
        .start()
        .await;

    assert_eq!(server.api_key(), "key-acme-1234");
    assert_eq!(server.seed(), 99);
    let accounts: Vec<String> = server
        .state()
        .accounts
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(accounts, ["acme", "other"]);
    assert_eq!(get_tokens(&server, "key-other-5678").await.status(), 200);
    assert_eq!(get_tokens(&server, DEFAULT_KEY).await.status(), 401);
    get_tokens(&server, "key-acme-1234").await;
    let journal = server.requests();
    assert_eq!(journal.len(), 2, "the journal keeps two entries");
    assert_eq!(journal[1].account.as_deref(), Some("acme"));
}

#[tokio::test]
async fn an_invalid_key_is_an_error_that_does_not_show_the_secret() {
    let err = MockServer::builder()
        .account_key("ops", "key-sec ret-value")
        .try_start()
        .await
        .unwrap_err()
        .to_string();

    assert!(err.contains("visible ASCII"), "{err}");
    assert!(!err.contains("sec ret"), "{err}");
}

#[tokio::test]
#[should_panic(expected = "no-such-fixture.json")]
async fn starting_with_a_missing_fixture_panics_naming_the_file() {
    MockServer::builder()
        .fixture("/nonexistent/no-such-fixture.json")
        .start()
        .await;
}

#[tokio::test]
async fn the_handle_works_with_the_admin_api_off() {
    let server = MockServer::builder().admin(false).start().await;
    let health = reqwest::get(format!("{}/_mock/health", server.uri()))
        .await
        .unwrap();
    assert_eq!(health.status(), 404);

    server.faults().add(FaultRule::status(503).times(1));

    assert_eq!(get_tokens(&server, server.api_key()).await.status(), 503);
    assert_eq!(get_tokens(&server, server.api_key()).await.status(), 200);
}
