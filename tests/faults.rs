//! Each fault kind, through each front door: the Rust API, the admin
//! endpoint, a fixture file and the shortcut headers.
mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use archil_mock::{Config, FaultRule};
use common::*;
use serde_json::{json, Value};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

async fn with_fixture(name: &str) -> TestServer {
    TestServer::with(Config {
        fixtures: vec![fixture(name)],
        ..Config::default()
    })
    .await
}

async fn create_status(server: &TestServer, name: &str) -> (u16, Value) {
    server
        .call(
            "POST",
            "/api/tokens",
            Some(KEY),
            Some(json!({ "name": name })),
        )
        .await
}

async fn token_names(server: &TestServer) -> Vec<String> {
    server
        .list_all(KEY, 100)
        .await
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_fixture_fails_creates_twice_with_500_then_lets_them_through() {
    let server = with_fixture("flaky-create.json").await;
    for _ in 0..2 {
        let (status, body) = create_status(&server, "retry-me").await;
        assert_error(status, &body, 500, "Internal server error");
        assert_eq!(body["code"], "internal_error");
    }
    let (status, _) = create_status(&server, "retry-me").await;
    assert_eq!(status, 201);
    // Before-phase faults do not execute the request: one token, not three.
    assert_eq!(token_names(&server).await, ["bootstrap", "retry-me"]);
}

#[tokio::test]
async fn an_admin_rule_fails_creates_twice_then_expires() {
    let server = TestServer::start().await;
    let (status, body) = server
        .call(
            "POST",
            "/_mock/faults",
            None,
            Some(json!({"method": "POST", "path": "/api/tokens", "status": 500, "times": 2})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let id = body["data"]["ids"][0].as_str().unwrap().to_owned();
    let (_, listed) = server.call("GET", "/_mock/faults", None, None).await;
    assert_eq!(listed["data"]["faults"][0]["id"], id);
    assert_eq!(create_status(&server, "a").await.0, 500);
    let (_, listed) = server.call("GET", "/_mock/faults", None, None).await;
    assert_eq!(
        listed["data"]["faults"][0]["times"], 1,
        "what remains is shown"
    );
    assert_eq!(create_status(&server, "a").await.0, 500);
    assert_eq!(create_status(&server, "a").await.0, 201);
    let (_, listed) = server.call("GET", "/_mock/faults", None, None).await;
    assert_eq!(
        listed["data"]["faults"],
        json!([]),
        "expired rules are gone"
    );
}

#[tokio::test]
async fn the_shortcut_header_fails_exactly_one_request() {
    let server = TestServer::start().await;
    let (status, _, body) = server
        .raw(
            "POST",
            "/api/tokens",
            &[
                ("authorization", KEY),
                ("x-archil-mock-fault", "503"),
                ("content-type", "application/json"),
            ],
            br#"{"name":"x"}"#.to_vec(),
        )
        .await;
    assert_error(status, &body, 503, "Service unavailable");
    assert_eq!(token_names(&server).await, ["bootstrap"]);
    assert_eq!(create_status(&server, "x").await.0, 201);
}

#[tokio::test]
async fn a_401_outage_holds_until_its_rule_is_removed() {
    let server = with_fixture("auth-outage.json").await;
    for _ in 0..3 {
        let (status, body) = server.call("GET", "/api/tokens", Some(KEY), None).await;
        assert_error(status, &body, 401, "Invalid or expired API key");
    }
    let (status, _) = server
        .call("DELETE", "/_mock/faults/auth-outage", None, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        server.call("GET", "/api/tokens", Some(KEY), None).await.0,
        200
    );
}

#[tokio::test]
async fn a_delay_is_felt_by_the_client_and_the_request_then_succeeds() {
    let server = TestServer::start().await;
    let started = Instant::now();
    let (status, _, _) = server
        .raw(
            "GET",
            "/api/tokens",
            &[("authorization", KEY), ("x-archil-mock-delay-ms", "300")],
            Vec::new(),
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );

    server
        .app
        .add_faults(vec![
            FaultRule::delay(Duration::from_millis(250)).method("GET")
        ])
        .unwrap();
    let started = Instant::now();
    assert_eq!(
        server.call("GET", "/api/tokens", Some(KEY), None).await.0,
        200
    );
    assert!(started.elapsed() >= Duration::from_millis(250));
}

#[tokio::test]
async fn a_reset_fault_is_a_connection_error_for_the_client() {
    let server = with_fixture("dropped-connection.json").await;
    let err = client()
        .get(server.url("/api/tokens"))
        .header("authorization", KEY)
        .send()
        .await
        .expect_err("the connection is dropped without a response");
    assert!(
        err.is_request() || err.is_connect() || err.to_string().contains("connection"),
        "{err:?}"
    );
    // times: 1, so the next request is answered.
    assert_eq!(
        server.call("GET", "/api/tokens", Some(KEY), None).await.0,
        200
    );
    let journal = server.app.requests(&Default::default());
    assert_eq!(journal[0].status, None, "the journal shows the drop");
    assert_eq!(journal[0].fault.as_deref(), Some("dropped-list"));
}

#[tokio::test]
async fn the_reset_header_drops_the_connection() {
    let server = TestServer::start().await;
    let result = client()
        .get(server.url("/api/tokens"))
        .header("authorization", KEY)
        .header("x-archil-mock-fault", "reset")
        .send()
        .await;
    assert!(result.is_err(), "{result:?}");
}

#[tokio::test]
async fn an_after_phase_fault_creates_the_token_but_loses_the_response() {
    let server = with_fixture("lost-create.json").await;
    let (status, body) = create_status(&server, "lost").await;
    assert_error(status, &body, 500, "Internal server error");
    assert!(
        body.get("data").is_none(),
        "the secret is lost with the response"
    );
    // The client retries; both tokens exist, as they would in the cloud.
    assert_eq!(create_status(&server, "lost").await.0, 201);
    assert_eq!(token_names(&server).await, ["bootstrap", "lost", "lost"]);
}

#[tokio::test]
async fn an_after_phase_reset_executes_then_drops() {
    let server = TestServer::start().await;
    server
        .app
        .add_faults(vec![FaultRule::reset().method("POST").after().times(1)])
        .unwrap();
    let result = client()
        .post(server.url("/api/tokens"))
        .header("authorization", KEY)
        .json(&json!({"name": "ghost"}))
        .send()
        .await;
    assert!(result.is_err(), "{result:?}");
    assert_eq!(token_names(&server).await, ["bootstrap", "ghost"]);
}

#[tokio::test]
async fn probability_with_a_fixed_seed_repeats_exactly() {
    async fn pattern(seed: u64) -> Vec<u16> {
        let server = TestServer::with(Config {
            seed: Some(seed),
            fixtures: vec![fixture("rate-limited.json")],
            ..Config::default()
        })
        .await;
        let mut out = Vec::new();
        for _ in 0..40 {
            out.push(server.call("GET", "/api/tokens", Some(KEY), None).await.0);
        }
        out
    }
    let a = pattern(42).await;
    assert_eq!(a, pattern(42).await);
    let limited = a.iter().filter(|&&s| s == 429).count();
    assert!(
        (1..40).contains(&limited),
        "0.25 of 40 fired {limited} times"
    );
    assert!(a.iter().all(|&s| s == 200 || s == 429));
}

#[tokio::test]
async fn rules_match_on_account_header_method_and_path() {
    let server = TestServer::with(Config {
        keys: vec![
            archil_mock::KeySpec::parse("alice=key-alice-000000000001", "default").unwrap(),
            archil_mock::KeySpec::parse("bob=key-bob-0000000000000001", "default").unwrap(),
        ],
        ..Config::default()
    })
    .await;
    server
        .app
        .add_faults(vec![
            FaultRule::status(403).account("alice"),
            FaultRule::status(409).header("x-test", "yes"),
            FaultRule::status(504)
                .method("DELETE")
                .path("/api/tokens/*"),
        ])
        .unwrap();
    let alice = "key-alice-000000000001";
    let bob = "key-bob-0000000000000001";
    assert_eq!(
        server.call("GET", "/api/tokens", Some(alice), None).await.0,
        403
    );
    assert_eq!(
        server.call("GET", "/api/tokens", Some(bob), None).await.0,
        200
    );
    let (status, _, _) = server
        .raw(
            "GET",
            "/api/tokens",
            &[("authorization", bob), ("x-test", "yes")],
            Vec::new(),
        )
        .await;
    assert_eq!(status, 409);
    let (status, _, body) = server
        .raw(
            "DELETE",
            "/api/tokens/abc",
            &[("authorization", bob)],
            Vec::new(),
        )
        .await;
    assert_error(status, &body, 504, "Gateway timeout");
}

#[tokio::test]
async fn the_first_live_matching_rule_wins() {
    let server = TestServer::start().await;
    server
        .app
        .add_faults(vec![
            FaultRule::status(429).times(1),
            FaultRule::status(503).times(1),
        ])
        .unwrap();
    assert_eq!(
        server.call("GET", "/api/tokens", Some(KEY), None).await.0,
        429
    );
    assert_eq!(
        server.call("GET", "/api/tokens", Some(KEY), None).await.0,
        503
    );
    assert_eq!(
        server.call("GET", "/api/tokens", Some(KEY), None).await.0,
        200
    );
}

#[tokio::test]
async fn faults_never_touch_the_admin_api() {
    let server = with_fixture("auth-outage.json").await;
    server
        .app
        .add_faults(vec![FaultRule::reset().path("/**")])
        .unwrap();
    let (status, body) = server.call("GET", "/_mock/health", None, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["status"], "ok");
}

#[tokio::test]
async fn custom_message_and_code_reach_the_envelope() {
    let server = TestServer::start().await;
    server
        .app
        .add_faults(vec![FaultRule::status(503)
            .message("No capacity in region")
            .code("no_capacity")])
        .unwrap();
    let (status, body) = server.call("GET", "/api/tokens", Some(KEY), None).await;
    assert_error(status, &body, 503, "No capacity in region");
    assert_eq!(body["code"], "no_capacity");
}

#[tokio::test]
async fn malformed_shortcut_headers_are_400_and_change_nothing() {
    let server = TestServer::start().await;
    for (name, value) in [
        ("x-archil-mock-fault", "200"),
        ("x-archil-mock-fault", "boom"),
        ("x-archil-mock-delay-ms", "-5"),
        ("x-archil-mock-delay-ms", "9999999999"),
        ("x-archil-mock-fault-phase", "during"),
    ] {
        let (status, _, body) = server
            .raw(
                "POST",
                "/api/tokens",
                &[
                    ("authorization", KEY),
                    (name, value),
                    ("content-type", "application/json"),
                ],
                br#"{"name":"x"}"#.to_vec(),
            )
            .await;
        assert_error(status, &body, 400, name);
    }
    assert_eq!(token_names(&server).await, ["bootstrap"]);
}

#[tokio::test]
async fn invalid_admin_rules_are_refused_whole_naming_the_field() {
    let server = TestServer::start().await;
    for (rule, needle) in [
        (
            json!([{"status": 500}, {"status": 200}]),
            "rule 1: status must be between 400 and 599",
        ),
        (json!({"status": 500, "probability": 2}), "probability"),
        (json!({"stauts": 500}), "unknown field `stauts`"),
        (json!({"status": "500"}), "status"),
        (json!({"path": "/api/tokens"}), "a rule needs an action"),
        (
            json!({"reset": true, "status": 500}),
            "reset cannot be combined",
        ),
        (json!(42), "fault rule object or an array"),
    ] {
        let (status, body) = server.call("POST", "/_mock/faults", None, Some(rule)).await;
        assert_error(status, &body, 400, needle);
    }
    let (_, listed) = server.call("GET", "/_mock/faults", None, None).await;
    assert_eq!(listed["data"]["faults"], json!([]));
}

#[tokio::test]
async fn rules_can_be_removed_one_by_one_or_all_at_once() {
    let server = TestServer::start().await;
    let (_, body) = server
        .call(
            "POST",
            "/_mock/faults",
            None,
            Some(json!([{"status": 500, "id": "one"}, {"status": 502}])),
        )
        .await;
    assert_eq!(body["data"]["ids"][0], "one");
    assert_eq!(
        server
            .call("DELETE", "/_mock/faults/one", None, None)
            .await
            .0,
        200
    );
    assert_eq!(
        server
            .call("DELETE", "/_mock/faults/one", None, None)
            .await
            .0,
        404
    );
    let (_, body) = server.call("DELETE", "/_mock/faults", None, None).await;
    assert_eq!(body["data"]["removed"], 1);
    assert_eq!(
        server.call("GET", "/api/tokens", Some(KEY), None).await.0,
        200
    );
}

#[tokio::test]
async fn the_phase_header_turns_a_shortcut_into_a_lost_response() {
    let server = TestServer::start().await;
    let (status, _, body) = server
        .raw(
            "POST",
            "/api/tokens",
            &[
                ("authorization", KEY),
                ("x-archil-mock-fault", "502"),
                ("x-archil-mock-fault-phase", "after"),
                ("content-type", "application/json"),
            ],
            br#"{"name":"lost-by-header"}"#.to_vec(),
        )
        .await;
    assert_error(status, &body, 502, "Bad gateway");
    assert_eq!(token_names(&server).await, ["bootstrap", "lost-by-header"]);
}
