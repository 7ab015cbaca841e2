//! The admin API under /_mock/: reset, the journal, the state snapshot, and
//! how the admin API is disabled or protected.
mod common;

use std::path::PathBuf;

use archil_mock::{Config, FaultRule};
use common::*;
use serde_json::{json, Value};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

const ALICE: &str = "key-alice-0000000000000000000000000000000001";

#[tokio::test]
async fn health_answers_without_auth() {
    let server = TestServer::start().await;
    let (status, body) = server.call("GET", "/_mock/health", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["status"], "ok");
}

#[tokio::test]
async fn reset_returns_to_the_fixtures_and_clears_faults_and_journal() {
    let server = TestServer::with(Config {
        fixtures: vec![fixture("two-accounts.json"), fixture("flaky-create.json")],
        ..Config::default()
    })
    .await;
    // Use up the fixture's fault, add state, add a fault, fill the journal.
    for _ in 0..2 {
        server
            .call(
                "POST",
                "/api/tokens",
                Some(ALICE),
                Some(json!({"name": "x"})),
            )
            .await;
    }
    let created = server.create(ALICE, "made-after-startup").await;
    server
        .app
        .add_faults(vec![FaultRule::status(418).path("/nowhere")])
        .unwrap();
    let alice_tokens = server.list_all(ALICE, 50).await;
    assert_eq!(alice_tokens.len(), 2);
    assert!(!server.app.requests(&Default::default()).is_empty());

    let (status, _) = server.call("POST", "/_mock/reset", None, None).await;
    assert_eq!(status, 200);

    let names: Vec<Value> = server
        .list_all(ALICE, 50)
        .await
        .iter()
        .map(|t| t["name"].clone())
        .collect();
    assert_eq!(names, [json!("alice-ci")]);
    let (status, _) = server
        .call(
            "GET",
            "/api/tokens",
            Some(created["token"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 401, "a token made after startup is gone");
    let faults = server.app.faults();
    assert_eq!(faults.len(), 1);
    assert_eq!(faults[0].id.as_deref(), Some("flaky-create"));
    assert_eq!(
        faults[0].times,
        Some(2),
        "the fixture's fault is back at full count"
    );
    let journal = server.app.requests(&Default::default());
    assert_eq!(
        journal.len(),
        2,
        "only the two list calls since reset: {journal:?}"
    );
}

#[tokio::test]
async fn the_journal_records_each_request_with_its_outcome() {
    let server = TestServer::start().await;
    server
        .app
        .add_faults(vec![FaultRule::status(503)
            .method("DELETE")
            .with_id("maint")])
        .unwrap();
    let created = server.create(KEY, "journaled").await;
    server
        .call("GET", "/api/tokens?limit=5", Some(KEY), None)
        .await;
    server
        .call(
            "DELETE",
            &format!("/api/tokens/{}", created["id"].as_str().unwrap()),
            Some(KEY),
            None,
        )
        .await;
    server
        .call("GET", "/api/tokens", Some("key-nobody-000000"), None)
        .await;

    let (status, body) = server.call("GET", "/_mock/requests", None, None).await;
    assert_eq!(status, 200);
    let entries = body["data"]["requests"].as_array().unwrap();
    assert_eq!(entries.len(), 4);
    assert_eq!(entries[0]["method"], "POST");
    assert_eq!(entries[0]["status"], 201);
    assert_eq!(entries[0]["account"], "default");
    assert_eq!(entries[1]["query"], "limit=5");
    assert_eq!(entries[2]["status"], 503);
    assert_eq!(entries[2]["fault"], "maint");
    assert_eq!(entries[3]["status"], 401);
    assert!(entries[3].get("account").is_none());
    assert!(entries
        .iter()
        .all(|e| e["durationMs"].as_f64().unwrap() >= 0.0));

    let (_, filtered) = server
        .call(
            "GET",
            "/_mock/requests?method=delete&path=/api/tokens/*",
            None,
            None,
        )
        .await;
    assert_eq!(filtered["data"]["requests"].as_array().unwrap().len(), 1);

    let (_, cleared) = server.call("DELETE", "/_mock/requests", None, None).await;
    assert_eq!(cleared["data"]["removed"], 4);
    let (_, body) = server.call("GET", "/_mock/requests", None, None).await;
    assert_eq!(body["data"]["requests"], json!([]));
}

#[tokio::test]
async fn the_journal_never_holds_a_full_secret() {
    let server = TestServer::start().await;
    let created = server.create(KEY, "secretive").await;
    let secret = created["token"].as_str().unwrap().to_owned();
    server.call("GET", "/api/tokens", Some(&secret), None).await;
    server
        .call(
            "POST",
            "/api/tokens",
            Some(&secret),
            Some(json!({"name": "n", "token": secret.clone()})),
        )
        .await;
    let (_, body) = server.call("GET", "/_mock/requests", None, None).await;
    let text = body.to_string();
    assert!(!text.contains(&secret), "{text}");
    assert!(!text.contains(KEY), "{text}");
    assert!(
        text.contains(&format!("…{}", &secret[secret.len() - 4..])),
        "the suffix identifies it"
    );
}

#[tokio::test]
async fn the_journal_is_bounded() {
    let server = TestServer::with(Config {
        journal_capacity: 3,
        ..Config::default()
    })
    .await;
    for i in 0..10 {
        server
            .call("GET", &format!("/api/tokens?i={i}"), Some(KEY), None)
            .await;
    }
    let entries = server.app.requests(&Default::default());
    let queries: Vec<_> = entries.iter().map(|e| e.query.clone().unwrap()).collect();
    assert_eq!(queries, ["i=7", "i=8", "i=9"]);
}

#[tokio::test]
async fn state_is_a_secret_free_snapshot_that_loads_as_a_fixture() {
    let server = TestServer::with(Config {
        fixtures: vec![fixture("two-accounts.json")],
        ..Config::default()
    })
    .await;
    let created = server.create(ALICE, "snap").await;
    let (status, body) = server.call("GET", "/_mock/state", None, None).await;
    assert_eq!(status, 200);
    let text = body["data"].to_string();
    assert!(!text.contains(ALICE) && !text.contains(created["token"].as_str().unwrap()));
    let accounts: Vec<&str> = body["data"]["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(accounts, ["default", "alice", "bob"]);
    assert_eq!(
        body["data"]["accounts"][1]["tokens"][1]["id"],
        created["id"]
    );

    // Saved as a fixture, it reproduces the state: the same keys work.
    let dir = std::env::temp_dir().join(format!("archil-mock-admin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("snapshot.json");
    std::fs::write(&path, &text).unwrap();
    let reloaded = TestServer::with(Config {
        fixtures: vec![path],
        ..Config::default()
    })
    .await;
    assert_eq!(
        reloaded
            .call(
                "GET",
                "/api/tokens",
                Some(created["token"].as_str().unwrap()),
                None
            )
            .await
            .0,
        200
    );
    let (_, again) = reloaded.call("GET", "/_mock/state", None, None).await;
    let (before, after) = (
        &body["data"]["accounts"][1]["tokens"],
        &again["data"]["accounts"][1]["tokens"],
    );
    assert_eq!(after[0], before[0], "untouched tokens come back identical");
    for field in ["id", "name", "tokenSuffix", "createdAt"] {
        assert_eq!(after[1][field], before[1][field], "{field}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn no_admin_hides_the_admin_api() {
    let server = TestServer::with(Config {
        admin: false,
        ..Config::default()
    })
    .await;
    let (status, body) = server.call("GET", "/_mock/health", None, None).await;
    assert_error(status, &body, 404, "no route");
}

#[tokio::test]
async fn an_admin_token_protects_the_admin_api() {
    let server = TestServer::with(Config {
        admin_token: Some("s3cret-admin".into()),
        ..Config::default()
    })
    .await;
    let (status, body) = server.call("GET", "/_mock/faults", None, None).await;
    assert_error(status, &body, 401, "x-archil-mock-admin-token");
    let (status, _, _) = server
        .raw(
            "GET",
            "/_mock/faults",
            &[("x-archil-mock-admin-token", "wrong")],
            Vec::new(),
        )
        .await;
    assert_eq!(status, 401);
    let (status, _, _) = server
        .raw(
            "GET",
            "/_mock/faults",
            &[("x-archil-mock-admin-token", "s3cret-admin")],
            Vec::new(),
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn admin_requests_are_not_journaled_and_skip_api_auth() {
    let server = TestServer::start().await;
    server.call("GET", "/_mock/state", None, None).await;
    server.call("GET", "/_mock/faults", None, None).await;
    assert!(server.app.requests(&Default::default()).is_empty());
}

#[tokio::test]
async fn reset_reloads_fixture_files_and_refuses_a_broken_one_changing_nothing() {
    let dir = std::env::temp_dir().join(format!("archil-mock-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("editable.json");
    let key_a = "key-reload-aaaa-0001";
    let key_b = "key-reload-bbbb-0002";
    let fixture = |key: &str| {
        format!(
            r#"{{"accounts":[{{"name":"default","tokens":[{{"token":"{key}","name":"n"}}]}}]}}"#
        )
    };
    std::fs::write(&path, fixture(key_a)).unwrap();
    let server = TestServer::with(Config {
        fixtures: vec![path.clone()],
        ..Config::default()
    })
    .await;
    assert_eq!(
        server.call("GET", "/api/tokens", Some(key_a), None).await.0,
        200
    );

    // An edit takes effect on reset, as WireMock reloads its mappings.
    std::fs::write(&path, fixture(key_b)).unwrap();
    assert_eq!(server.call("POST", "/_mock/reset", None, None).await.0, 200);
    assert_eq!(
        server.call("GET", "/api/tokens", Some(key_a), None).await.0,
        401
    );
    assert_eq!(
        server.call("GET", "/api/tokens", Some(key_b), None).await.0,
        200
    );

    // A file broken since startup: 409 naming it, and nothing changes.
    server.create(key_b, "survivor").await;
    std::fs::write(&path, "{ broken").unwrap();
    let (status, body) = server.call("POST", "/_mock/reset", None, None).await;
    assert_error(status, &body, 409, "editable.json");
    assert_eq!(
        server.list_all(key_b, 50).await.len(),
        3,
        "bootstrap, fixture key, survivor"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
