//! Fixture files: every shipped one loads, and broken ones stop startup with
//! the file, the JSON path and the reason.
mod common;

use std::path::{Path, PathBuf};

use archil_mock::{App, Config, ConfigError};
use common::*;

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn shipped() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json") && !p.ends_with("schema.json"))
        .collect();
    files.sort();
    files
}

fn start_error(files: Vec<PathBuf>) -> String {
    match App::new(Config {
        fixtures: files,
        ..Config::default()
    }) {
        Ok(_) => panic!("the fixture should have been refused"),
        Err(e @ ConfigError::Fixture { .. }) => e.to_string(),
        Err(e) => panic!("wrong error kind: {e}"),
    }
}

fn scratch(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("archil-mock-fixtures-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn every_shipped_fixture_loads_alone_and_all_together() {
    let files = shipped();
    assert!(files.len() >= 8, "{files:?}");
    for file in &files {
        App::new(Config {
            fixtures: vec![file.clone()],
            ..Config::default()
        })
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    }
    App::new(Config {
        fixtures: files,
        ..Config::default()
    })
    .unwrap();
}

#[tokio::test]
async fn fixture_keys_work_and_keep_their_metadata() {
    let server = TestServer::with(Config {
        fixtures: vec![fixtures_dir().join("seeded-tokens.json")],
        ..Config::default()
    })
    .await;
    let tokens = server
        .list_all("key-seeded-readonly-0000000000000000000000001", 50)
        .await;
    assert_eq!(tokens.len(), 4, "bootstrap plus three seeded");
    assert_eq!(tokens[1]["name"], "deploy");
    assert_eq!(tokens[1]["createdAt"], "2026-03-01T12:00:00Z");
    assert_eq!(tokens[1]["lastUsedAt"], "2026-11-20T08:30:00Z");
    assert_eq!(tokens[1]["tokenSuffix"], "0001");
    assert!(tokens[3].get("lastUsedAt").is_none());
}

#[tokio::test]
async fn two_fixtures_naming_one_account_merge_into_it() {
    let extra = scratch(
        "more-alice.json",
        r#"{"accounts":[{"name":"alice","tokens":[{"token":"key-alice-second-0001","name":"second"}]}]}"#,
    );
    let server = TestServer::with(Config {
        fixtures: vec![fixtures_dir().join("two-accounts.json"), extra],
        ..Config::default()
    })
    .await;
    let names: Vec<String> = server
        .list_all("key-alice-second-0001", 50)
        .await
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["alice-ci", "second"]);
}

#[test]
fn malformed_fixtures_name_the_file_the_json_path_and_the_reason() {
    let cases: [(&str, &str, &[&str]); 9] = [
        ("not-json.json", "{ nope", &["$", "key must be a string"]),
        ("not-object.json", "[1,2]", &["$", "invalid type"]),
        (
            "typo.json",
            r#"{"acounts":[]}"#,
            &["$.acounts", "unknown field `acounts`"],
        ),
        (
            "long-name.json",
            &format!(
                r#"{{"accounts":[{{"name":"a","tokens":[{{"token":"key-aaaa-0001","name":"{}"}}]}}]}}"#,
                "x".repeat(101)
            ),
            &["$.accounts[0].tokens[0].name", "between 1 and 100"],
        ),
        (
            "bad-key.json",
            r#"{"accounts":[{"name":"a","tokens":[{"token":"secret","name":"n"}]}]}"#,
            &["$.accounts[0].tokens[0].token", "key-"],
        ),
        (
            "bad-time.json",
            r#"{"accounts":[{"name":"a","tokens":[{"token":"key-aaaa-0001","name":"n","createdAt":"last tuesday"}]}]}"#,
            &["$.accounts[0].tokens[0].createdAt", "RFC 3339"],
        ),
        (
            "both-forms.json",
            r#"{"accounts":[{"name":"a","tokens":[{"token":"key-aaaa-0001","id":"00","name":"n"}]}]}"#,
            &["$.accounts[0].tokens[0]", "either `token`"],
        ),
        (
            "bad-fault.json",
            r#"{"faults":[{"status":500},{"status":302}]}"#,
            &["$.faults[1]", "status must be between 400 and 599"],
        ),
        (
            "shared-key.json",
            r#"{"accounts":[{"name":"a","tokens":[{"token":"key-shared-0001","name":"n"}]},{"name":"b","tokens":[{"token":"key-shared-0001","name":"n"}]}]}"#,
            &[
                "$.accounts[1].tokens[0]",
                "already belongs to account \"a\"",
            ],
        ),
    ];
    for (name, text, needles) in cases {
        let path = scratch(name, text);
        let message = start_error(vec![path.clone()]);
        assert!(
            message.starts_with(&path.display().to_string()),
            "{message}"
        );
        for needle in needles {
            assert!(
                message.contains(needle),
                "{name}: {message:?} lacks {needle:?}"
            );
        }
    }
    let missing = start_error(vec![Path::new("/nonexistent/fixture.json").to_owned()]);
    assert!(
        missing.contains("/nonexistent/fixture.json") && missing.contains("cannot read"),
        "{missing}"
    );
}

#[test]
fn the_binary_refuses_a_bad_fixture_with_a_nonzero_exit() {
    let path = scratch("bin-bad.json", r#"{"faults":[{"status":999}]}"#);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_archil-mock"))
        .args(["--port", "0", "--fixture"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("bin-bad.json") && stderr.contains("$.faults[0]"),
        "{stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "nothing listens, so nothing claims to"
    );
}

#[test]
fn the_schema_is_valid_json_and_covers_every_top_level_field() {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures_dir().join("schema.json")).unwrap())
            .unwrap();
    let props = schema["properties"].as_object().unwrap();
    for field in ["accounts", "faults"] {
        assert!(props.contains_key(field), "{field}");
    }
    let token = schema["$defs"]["token"]["properties"].as_object().unwrap();
    for field in [
        "token",
        "id",
        "tokenSuffix",
        "name",
        "description",
        "createdAt",
        "lastUsedAt",
    ] {
        assert!(token.contains_key(field), "{field}");
    }
    let fault = schema["$defs"]["fault"]["properties"].as_object().unwrap();
    let rule = serde_json::to_value(
        archil_mock::FaultRule::status(500)
            .with_id("x")
            .method("GET")
            .path("/")
            .header("a", "b")
            .account("a")
            .message("m")
            .code("c")
            .with_delay(std::time::Duration::from_millis(1))
            .times(1)
            .probability(0.5)
            .after(),
    )
    .unwrap();
    for field in rule.as_object().unwrap().keys() {
        assert!(
            fault.contains_key(field),
            "schema lacks fault field {field}"
        );
    }
}

#[tokio::test]
async fn fixture_files_are_served_by_the_gateway_and_come_back_on_reset() {
    let server = TestServer::with(Config {
        fixtures: vec![fixtures_dir().join("seeded-disks.json")],
        ..Config::default()
    })
    .await;
    let disk = "dsk-00000000000000a1";
    let get = |key: &str| {
        let url = server.url(&format!("/{disk}/{key}"));
        async move {
            let resp = client()
                .get(url)
                .header("authorization", KEY)
                .send()
                .await
                .unwrap();
            (resp.status().as_u16(), resp.bytes().await.unwrap())
        }
    };
    assert_eq!(get("README.md").await, (200, "# datasets\n".into()));
    assert_eq!(get("train/part-0001.parquet").await, (200, "PAR1".into()));
    assert_eq!(get("scratch/").await.0, 404, "a directory is not an object");
    let deleted = client()
        .delete(server.url(&format!("/{disk}/README.md")))
        .header("authorization", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(get("README.md").await.0, 404);
    server.app.reset().await.unwrap();
    assert_eq!(get("README.md").await, (200, "# datasets\n".into()));
    let (_, disk_json) = server
        .call("GET", &format!("/api/disks/{disk}"), Some(KEY), None)
        .await;
    assert_eq!(disk_json["data"]["dataSize"], 15, "{disk_json}");
}

#[test]
fn a_fixture_file_that_conflicts_or_escapes_names_its_path() {
    for (files, at, needle) in [
        (
            r#"[{"key":"a","content":"x"},{"key":"a/b","content":"y"}]"#,
            "files[1]",
            "is a file",
        ),
        (r#"[{"key":"../x","content":"x"}]"#, "files[0]", ".."),
        (r#"[{"key":"d/","content":"x"}]"#, "files[0]", "no content"),
        (
            r#"[{"key":"f","content":"x","contentBase64":"eA=="}]"#,
            "files[0]",
            "not both",
        ),
        (r#"[{"key":"f","mode":"999"}]"#, "files[0]", "octal"),
    ] {
        let path = scratch(
            "files.json",
            &format!(r#"{{"accounts":[{{"name":"a","disks":[{{"name":"d","files":{files}}}]}}]}}"#),
        );
        let message = start_error(vec![path]);
        assert!(
            message.contains(at) && message.contains(needle),
            "{files}: {message}"
        );
    }
}

#[tokio::test]
async fn a_disk_imports_a_host_directory_and_the_state_lists_object_metadata() {
    let dir = std::env::temp_dir().join(format!("archil-mock-import-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("tree/sub")).unwrap();
    std::fs::create_dir_all(dir.join("tree/empty")).unwrap();
    std::fs::write(dir.join("tree/top.txt"), "top").unwrap();
    std::fs::write(dir.join("tree/sub/deep.bin"), [0u8, 1, 2, 255]).unwrap();
    let fixture = dir.join("import.json");
    std::fs::write(
        &fixture,
        r#"{"accounts":[{"name":"default","disks":[{"id":"dsk-00000000000000e1","name":"imported","importDir":"tree"}]}]}"#,
    )
    .unwrap();
    let server = TestServer::with(Config {
        fixtures: vec![fixture],
        ..Config::default()
    })
    .await;
    let resp = client()
        .get(server.url("/dsk-00000000000000e1/sub/deep.bin"))
        .header("authorization", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(&resp.bytes().await.unwrap()[..], &[0u8, 1, 2, 255]);
    let list = client()
        .get(server.url("/dsk-00000000000000e1?list-type=2&delimiter=/"))
        .header("authorization", KEY)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for wanted in [
        "<Key>top.txt</Key>",
        "<Prefix>sub/</Prefix>",
        "<Prefix>empty/</Prefix>",
    ] {
        assert!(list.contains(wanted), "{wanted} in {list}");
    }
    let (_, state) = server.call("GET", "/_mock/state", None, None).await;
    let objects = &state["data"]["accounts"][0]["disks"][0]["objects"];
    assert_eq!(objects[0]["key"], "sub/deep.bin", "{state}");
    assert_eq!(objects[0]["size"], 4);
    assert_eq!(objects[1]["etag"], format!("\"{}\"", md5_of(b"top")));
    assert_eq!(objects[1]["mode"], "644");
    // The snapshot, objects and all, loads again as a fixture.
    let again = scratch("snapshot-with-objects.json", &state["data"].to_string());
    App::new(Config {
        fixtures: vec![again],
        ..Config::default()
    })
    .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

fn md5_of(bytes: &[u8]) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(bytes))
}
