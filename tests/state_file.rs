//! --state-file: state survives a restart, the file is a secret-free fixture,
//! and a broken file stops startup. (Kill -9 during writes: tests/crash.rs.)
mod common;

use std::path::{Path, PathBuf};

use archil_mock::{App, Config};
use common::*;

fn temp_state(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("archil-mock-state-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("state.json")
}

fn config(path: &Path) -> Config {
    Config {
        state_file: Some(path.to_owned()),
        ..Config::default()
    }
}

#[tokio::test]
async fn tokens_and_revocations_survive_a_restart() {
    let path = temp_state("restart");
    let server = TestServer::with(config(&path)).await;
    let kept = server.create(KEY, "kept").await;
    let revoked = server.create(KEY, "revoked").await;
    let (status, _) = server
        .call(
            "DELETE",
            &format!("/api/tokens/{}", revoked["id"].as_str().unwrap()),
            Some(KEY),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let before = server.list_all(KEY, 50).await;
    server.stop().await;

    let server = TestServer::with(config(&path)).await;
    let kept_key = kept["token"].as_str().unwrap();
    assert_eq!(
        server
            .call("GET", "/api/tokens", Some(kept_key), None)
            .await
            .0,
        200
    );
    assert_eq!(
        server
            .call(
                "GET",
                "/api/tokens",
                Some(revoked["token"].as_str().unwrap()),
                None
            )
            .await
            .0,
        401
    );
    let after = server.list_all(KEY, 50).await;
    let ids = |l: &[serde_json::Value]| l.iter().map(|t| t["id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(&after), ids(&before));
    assert_eq!(after[1]["createdAt"], before[1]["createdAt"]);
    server.stop().await;
}

#[tokio::test]
async fn every_acknowledged_write_is_already_on_disk() {
    let path = temp_state("ack");
    let server = TestServer::with(config(&path)).await;
    for i in 0..5 {
        let created = server.create(KEY, &format!("t{i}")).await;
        // Read the file while the server still runs: the write came before the 201.
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains(created["id"].as_str().unwrap()),
            "token {i} missing from the file"
        );
    }
}

#[tokio::test]
async fn the_state_file_holds_no_secrets_and_is_a_fixture() {
    let path = temp_state("secrets");
    let server = TestServer::with(config(&path)).await;
    let created = server.create(KEY, "secret-free").await;
    server.stop().await;
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(created["token"].as_str().unwrap()));
    assert!(!text.contains(KEY));
    let fixture = archil_mock::Fixture::parse(text.as_bytes()).expect("a state file is a fixture");
    assert_eq!(fixture.accounts[0].tokens.len(), 2);
}

#[tokio::test]
async fn reset_with_a_state_file_returns_to_what_was_loaded() {
    let path = temp_state("reset");
    let server = TestServer::with(config(&path)).await;
    let first = server.create(KEY, "first-run").await;
    server.stop().await;

    let server = TestServer::with(config(&path)).await;
    server.create(KEY, "second-run").await;
    assert_eq!(server.call("POST", "/_mock/reset", None, None).await.0, 200);
    let names: Vec<String> = server
        .list_all(KEY, 50)
        .await
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["bootstrap", "first-run"]);
    server.stop().await;
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(first["id"].as_str().unwrap()) && !text.contains("second-run"));
}

#[test]
fn a_corrupt_state_file_stops_startup_naming_it() {
    let path = temp_state("corrupt");
    std::fs::write(&path, "{\"accounts\": [").unwrap();
    let err = App::new(config(&path)).unwrap_err().to_string();
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "{\"accounts\": [",
        "a refused file is left alone"
    );
}
