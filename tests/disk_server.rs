//! Disks as the server's settings and admin API shape them, over real HTTP
//! against a server on port 0: `--disk-ready-ms` and fixture statuses,
//! `--region`, `GET /_mock/state` as a fixture, `--state-file`,
//! `POST /_mock/reset`, and fault rules on disk paths.

mod common;

use std::time::{Duration, Instant};

use archil_mock::{App, Config};
use common::*;
use serde_json::{json, Value};

// ---------------------------------------------------------------------------
// Readiness

#[tokio::test]
async fn a_new_disk_is_creating_until_disk_ready_has_passed() {
    let ready = Duration::from_millis(1500);
    let server = TestServer::with(Config {
        disk_ready: ready,
        ..Config::default()
    })
    .await;
    let started = Instant::now();
    let id = server.create_disk_named(KEY, "slow").await;
    let disk = server.disk(KEY, &id).await;
    let (_, list) = server.call("GET", "/api/disks", Some(KEY), None).await;
    if started.elapsed() < ready {
        assert_eq!(disk["status"], "creating", "{disk}");
        assert_eq!(list["data"][0]["status"], "creating");
    }
    // Never back: poll until available, then it stays so.
    let mut statuses = Vec::new();
    while started.elapsed() < ready + Duration::from_secs(10) {
        let status = server.disk(KEY, &id).await["status"].clone();
        statuses.push((started.elapsed(), status.clone()));
        if status == "available" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (at, last) = statuses.last().unwrap().clone();
    assert_eq!(last, "available", "{statuses:?}");
    assert!(at >= ready, "available after {at:?}, before {ready:?}");
    assert!(statuses
        .iter()
        .all(|(_, s)| s == "creating" || s == "available"));
    assert_eq!(server.disk(KEY, &id).await["status"], "available");
}

#[tokio::test]
async fn a_disk_is_available_at_once_by_default() {
    let server = TestServer::start().await;
    let id = server.create_disk_named(KEY, "fast").await;
    assert_eq!(server.disk(KEY, &id).await["status"], "available");
}

#[tokio::test]
async fn a_fixture_status_is_pinned_and_ready_after_ms_counts_from_load() {
    let fixture = json!({"accounts": [{"name": "default", "disks": [
        {"id": "dsk-00000000000000f1", "name": "failed", "status": "failed"},
        {"id": "dsk-00000000000000f2", "name": "deleting", "status": "deleting"},
        {"id": "dsk-00000000000000f3", "name": "stuck", "status": "creating"},
        {"id": "dsk-00000000000000f4", "name": "soon", "readyAfterMs": 1500},
        {"id": "dsk-00000000000000f5", "name": "now"}
    ]}]});
    let loaded = Instant::now();
    let server = TestServer::with_fixture("lifecycle", &fixture).await;
    let status = |disks: &[Value], name: &str| {
        disks
            .iter()
            .find(|d| d["name"] == name)
            .unwrap_or_else(|| panic!("{name} missing"))["status"]
            .clone()
    };
    let disks = server.list_all_disks(KEY, 100).await;
    assert_eq!(status(&disks, "failed"), "failed");
    assert_eq!(status(&disks, "deleting"), "deleting");
    assert_eq!(status(&disks, "stuck"), "creating");
    assert_eq!(status(&disks, "now"), "available");
    if loaded.elapsed() < Duration::from_millis(1500) {
        assert_eq!(status(&disks, "soon"), "creating");
    }
    // Poll: the delay counts from when the server loaded the fixture, a
    // little after `loaded`.
    let mut disks;
    loop {
        disks = server.list_all_disks(KEY, 100).await;
        if status(&disks, "soon") == "available" {
            break;
        }
        assert_eq!(status(&disks, "soon"), "creating");
        assert!(
            loaded.elapsed() < Duration::from_secs(10),
            "never became available"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(loaded.elapsed() >= Duration::from_millis(1500));
    assert_eq!(status(&disks, "failed"), "failed");
    assert_eq!(status(&disks, "deleting"), "deleting");
    assert_eq!(status(&disks, "stuck"), "creating");
}

// ---------------------------------------------------------------------------
// Region

#[tokio::test]
async fn the_region_setting_gives_the_disk_region_and_provider() {
    let server = TestServer::with(Config {
        region: "gcp-us-central1".to_owned(),
        ..Config::default()
    })
    .await;
    let id = server.create_disk_named(KEY, "g").await;
    let disk = server.disk(KEY, &id).await;
    assert_eq!(disk["region"], "gcp-us-central1");
    assert_eq!(disk["provider"], "gcp");
    let (_, list) = server.call("GET", "/api/disks", Some(KEY), None).await;
    assert_eq!(list["data"][0]["region"], "gcp-us-central1");
    assert_eq!(list["data"][0]["provider"], "gcp");
}

#[tokio::test]
async fn a_fixture_disk_keeps_its_own_region() {
    let fixture = json!({"accounts": [{"name": "default", "disks": [
        {"name": "west", "region": "aws-eu-west-1"},
        {"name": "here"}
    ]}]});
    let path = write_fixture("regions", &fixture);
    let server = TestServer::with(Config {
        fixtures: vec![path],
        region: "gcp-us-central1".to_owned(),
        ..Config::default()
    })
    .await;
    let disks = server.list_all_disks(KEY, 100).await;
    assert_eq!(
        (&disks[0]["region"], &disks[0]["provider"]),
        (&json!("aws-eu-west-1"), &json!("aws"))
    );
    assert_eq!(
        (&disks[1]["region"], &disks[1]["provider"]),
        (&json!("gcp-us-central1"), &json!("gcp"))
    );
}

#[test]
fn an_invalid_region_stops_the_server_from_starting() {
    for region in [
        "",
        "mars",
        "AWS-us-east-1",
        "aws-",
        "-us",
        "aws us",
        "aws-us_east",
    ] {
        let result = App::new(Config {
            region: region.to_owned(),
            ..Config::default()
        });
        let err = match result {
            Ok(_) => panic!("region {region:?} was accepted"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("region"), "{region:?}: {err}");
    }
    assert!(App::new(Config {
        region: "aws-eu-west-1".to_owned(),
        ..Config::default()
    })
    .is_ok());
}

// ---------------------------------------------------------------------------
// State, reset and the state file

/// Builds a disk of every shape on `server`; returns their ids.
async fn build_disks(server: &TestServer) -> Vec<String> {
    let mut out = Vec::new();
    for (i, mount) in full_mounts().into_iter().enumerate() {
        let data = server
            .create_disk(
                KEY,
                json!({"name": format!("mounted{i}"), "mounts": [mount], "allowedIps": ["10.0.0.0/8", "2001:db8::/32"], "rootAttrs": {"uid": 1000 + i, "mode": 448}}),
            )
            .await;
        out.push(data["diskId"].as_str().unwrap().to_owned());
    }
    let data = server
        .create_disk(
            KEY,
            json!({"name": "people", "minClientVersion": "1.2.3", "authMethods": [
                {"type": "token", "nickname": "gen", "ttl": "2h", "oneUse": true, "readOnly": true},
                {"type": "token", "nickname": "old", "principal": "dtk-supplied-state-token-wxyz", "tokenSuffix": "wxyz"},
                {"type": "awssts", "principal": "arn:aws:iam::123456789012:role/state"},
            ]}),
        )
        .await;
    out.push(data["diskId"].as_str().unwrap().to_owned());
    out
}

/// Everything the API shows of `ids`: each GET, its branches and delegations.
async fn api_view(server: &TestServer, ids: &[String]) -> Vec<Value> {
    let mut out = Vec::new();
    for id in ids {
        let mut disk = server.disk(KEY, id).await;
        for sub in ["branches", "delegations", "allowed-ips"] {
            let (status, body) = server
                .call("GET", &format!("/api/disks/{id}/{sub}"), Some(KEY), None)
                .await;
            assert_eq!(status, 200, "{body}");
            disk[format!("_{sub}")] = body["data"].clone();
        }
        out.push(disk);
    }
    out
}

#[tokio::test]
async fn the_state_snapshot_lists_disks_without_secrets_and_loads_as_a_fixture() {
    let server = TestServer::with_fixture("snapshot-src", &seeded_disk_fixture()).await;
    let mut ids = vec!["dsk-00000000000000a1".to_owned()];
    ids.extend(build_disks(&server).await);
    let (status, reply) = server
        .call(
            "POST",
            "/api/disks/dsk-00000000000000a1/branches",
            Some(KEY),
            Some(json!({"branch_name": "from-api", "from_checkpoint_name": "exp-done", "from_branch": "experiment"})),
        )
        .await;
    assert_eq!(status, 201, "{reply}");
    let before = api_view(&server, &ids).await;

    let state = server.state().await;
    let listed: Vec<&str> = state["accounts"][0]["disks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ids);
    let text = state.to_string();
    for secret in [
        "dtk-seeded-ci-token",
        "dtk-supplied-state-token",
        "secret-value",
        "GOOG1EXAMPLE",
        "key-id",
    ] {
        assert!(!text.contains(secret), "{secret} in the state: {text}");
    }

    let copy = TestServer::with_fixture("snapshot-copy", &state).await;
    assert_eq!(
        api_view(&copy, &ids).await,
        before,
        "the reloaded state differs"
    );
    // Users came back by digest: the supplied token still removes its user.
    let (status, body) = copy
        .call(
            "DELETE",
            &format!(
                "/api/disks/{}/users/token?principal=dtk-supplied-state-token-wxyz",
                ids.last().unwrap()
            ),
            Some(KEY),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // And an idempotent create still matches what was loaded.
    let (status, body) = copy
        .call(
            "POST",
            "/api/disks",
            Some(KEY),
            Some(json!({"name": "mounted1", "mounts": [full_mounts()[1].clone()], "allowedIps": ["10.0.0.0/8", "2001:db8::/32"], "rootAttrs": {"uid": 1001, "mode": 448}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["diskId"], ids[2]);
}

#[tokio::test]
async fn the_state_file_keeps_disks_across_a_restart() {
    let dir = std::env::temp_dir().join(format!("archil-mock-{}-disk-state", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("state.json");
    let config = || Config {
        state_file: Some(path.clone()),
        ..Config::default()
    };

    let server = TestServer::with(config()).await;
    let ids = build_disks(&server).await;
    let gone = server.create_disk_named(KEY, "gone").await;
    let (status, _) = server
        .call("DELETE", &format!("/api/disks/{gone}"), Some(KEY), None)
        .await;
    assert_eq!(status, 200);
    let (status, _) = server
        .call(
            "PUT",
            &format!("/api/disks/{}/allowed-ips", ids[0]),
            Some(KEY),
            Some(json!({"allowedIps": ["192.0.2.1"]})),
        )
        .await;
    assert_eq!(status, 200);
    let before = api_view(&server, &ids).await;
    server.stop().await;
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("dtk-supplied-state-token"), "{text}");
    assert!(!text.contains("secret-value"), "{text}");

    let server = TestServer::with(config()).await;
    assert_eq!(api_view(&server, &ids).await, before);
    assert_eq!(ids_of_all(&server).await, ids);
    let (status, _) = server
        .call("GET", &format!("/api/disks/{gone}"), Some(KEY), None)
        .await;
    assert_eq!(status, 404);
    server.stop().await;
}

async fn ids_of_all(server: &TestServer) -> Vec<String> {
    disk_ids(&server.list_all_disks(KEY, 100).await)
}

#[tokio::test]
async fn reset_restores_fixture_disks_and_drops_created_ones() {
    // The seeded disk, and one whose ids the fixture leaves to the server.
    let mut fixture = seeded_disk_fixture();
    fixture["accounts"][0]["disks"]
        .as_array_mut()
        .unwrap()
        .push(json!({
            "name": "implicit",
            "mounts": [{"type": "s3", "bucketName": "b"}],
            "users": [{"type": "token", "nickname": "n", "token": "dtk-implicit-user-token-01"}],
            "checkpoints": [{"name": "c"}],
            "branches": [{"branch_name": "b", "from_checkpoint_name": "c"}]
        }));
    let server = TestServer::with_fixture("reset", &fixture).await;
    let seeded = "dsk-00000000000000a1";
    let implicit = server.list_all_disks(KEY, 100).await[1]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let fixture_ids = [seeded.to_owned(), implicit.clone()];
    let before = api_view(&server, &fixture_ids).await;
    let made = server.create_disk_named(KEY, "made").await;
    let (status, _) = server
        .call(
            "POST",
            &format!("/api/disks/{seeded}/revoke-delegation"),
            Some(KEY),
            Some(json!({"clientId": "42", "inodeId": 7})),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = server
        .call("DELETE", &format!("/api/disks/{seeded}"), Some(KEY), None)
        .await;
    assert_eq!(status, 200);
    let (status, _) = server
        .call("DELETE", &format!("/api/disks/{implicit}"), Some(KEY), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(ids_of_all(&server).await, std::slice::from_ref(&made));

    let (status, body) = server.call("POST", "/_mock/reset", None, None).await;
    assert_eq!(status, 200, "{body}");
    // The same disks, ids, users, mounts and branches as at startup.
    assert_eq!(ids_of_all(&server).await, fixture_ids);
    assert_eq!(api_view(&server, &fixture_ids).await, before);
    let (status, _) = server
        .call("GET", &format!("/api/disks/{made}"), Some(KEY), None)
        .await;
    assert_eq!(status, 404);
    // "made" is free again.
    let (status, _) = server
        .call(
            "POST",
            "/api/disks",
            Some(KEY),
            Some(json!({"name": "made"})),
        )
        .await;
    assert_eq!(status, 201);
}

// ---------------------------------------------------------------------------
// Faults

async fn add_fault(server: &TestServer, rule: Value) {
    let (status, body) = server.call("POST", "/_mock/faults", None, Some(rule)).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn a_fault_on_disk_paths_answers_503_and_changes_nothing() {
    let server = TestServer::with_fixture("faults", &seeded_disk_fixture()).await;
    let id = "dsk-00000000000000a1";
    let before = api_view(&server, &[id.to_owned()]).await;
    add_fault(
        &server,
        json!({"path": "/api/disks/*", "method": "DELETE", "status": 503}),
    )
    .await;
    add_fault(
        &server,
        json!({"path": "/api/disks/*/*", "method": "POST", "status": 503}),
    )
    .await;
    add_fault(
        &server,
        json!({"path": "/api/disks/*/allowed-ips", "method": "PUT", "status": 503}),
    )
    .await;
    add_fault(
        &server,
        json!({"path": "/api/disks", "method": "POST", "status": 503}),
    )
    .await;

    for (method, path, body) in [
        ("DELETE", format!("/api/disks/{id}"), None),
        (
            "POST",
            format!("/api/disks/{id}/users"),
            Some(json!({"type": "token", "nickname": "x"})),
        ),
        (
            "POST",
            format!("/api/disks/{id}/branches"),
            Some(json!({"branch_name": "b", "from_checkpoint_name": "nightly"})),
        ),
        (
            "POST",
            format!("/api/disks/{id}/revoke-delegation"),
            Some(json!({"clientId": "42", "inodeId": 7})),
        ),
        (
            "PUT",
            format!("/api/disks/{id}/allowed-ips"),
            Some(json!({"allowedIps": []})),
        ),
        (
            "POST",
            "/api/disks".to_owned(),
            Some(json!({"name": "new"})),
        ),
    ] {
        let (status, reply) = server.call(method, &path, Some(KEY), body).await;
        assert_eq!(status, 503, "{method} {path}: {reply}");
        assert_eq!(reply["success"], false, "{reply}");
        assert!(reply["error"].is_string(), "{reply}");
    }
    // Reads do not match these rules, and show nothing changed.
    assert_eq!(api_view(&server, &[id.to_owned()]).await, before);
    assert_eq!(ids_of_all(&server).await, [id]);

    let (status, _) = server.call("DELETE", "/_mock/faults", None, None).await;
    assert_eq!(status, 200);
    let (status, _) = server
        .call("DELETE", &format!("/api/disks/{id}"), Some(KEY), None)
        .await;
    assert_eq!(status, 200, "with the faults gone the delete works");
}

#[tokio::test]
async fn a_glob_fault_on_every_disk_path_fails_reads_too() {
    let server = TestServer::start().await;
    let id = server.create_disk_named(KEY, "d").await;
    add_fault(
        &server,
        json!({"path": "/api/disks/**", "status": 503, "times": 3}),
    )
    .await;
    for path in [
        format!("/api/disks/{id}"),
        format!("/api/disks/{id}/allowed-ips"),
        format!("/api/disks/{id}/branches"),
    ] {
        let (status, body) = server.call("GET", &path, Some(KEY), None).await;
        assert_eq!(status, 503, "{path}: {body}");
    }
    // The list path has no segment after /api/disks/, and the rule is spent.
    let (status, _) = server.call("GET", "/api/disks", Some(KEY), None).await;
    assert_eq!(status, 200);
    assert_eq!(server.disk(KEY, &id).await["name"], "d");
}
