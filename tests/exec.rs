//! Black-box tests of exec over real HTTP against a server on port 0, per
//! shared/contracts/exec-grep.md A.0, A.1, A.2, B.1–B.5 and C.1–C.4:
//! `execDisk` (`POST /api/disks/{id}/exec`) and `exec` (`POST /api/exec`),
//! every validation rule at its boundary, all-or-nothing mount resolution
//! (a refused exec uses up no rule and writes nothing), the default
//! `scripted` back end (no rule → exit 127; exact, substring and regex
//! matching; the `disk` constraint; first match wins; `times`; delays in
//! the timing; `timeout` and `--exec-timeout` → 504; file effects seen by
//! the gateway and by grep, through subdirectory, nested and read-only
//! mounts), the admin API `/_mock/exec-rules`, fixture `execRules` and
//! reset, `MockServer::exec_rules()`, and the journal.

mod common;

use std::time::{Duration, Instant};

use archil_mock::{App, Config};
use common::*;
use serde_json::{json, Value};

/// The fixture's first disk ("alpha"), with `old.txt` and `keep.txt`.
const A: &str = "dsk-00000000000000e1";
/// The fixture's second disk ("beta"), with `app/logs/…`, `app/readme.md`,
/// `notes.txt` and the empty directory `empty/`.
const B: &str = "dsk-00000000000000e2";
/// Well-formed, but no disk has it.
const UNKNOWN: &str = "dsk-00000000000000ff";

fn exec_disk_path(id: &str) -> String {
    format!("/api/disks/{id}/exec")
}

/// Two disks with files, in the built-in key's account, plus `extra`
/// fixture fields (e.g. `execRules`).
fn fixture_with(extra: Value) -> Value {
    let mut fixture = json!({"accounts": [{"name": "default", "disks": [
        {"id": A, "name": "alpha", "files": [
            {"key": "old.txt", "content": "old\n"},
            {"key": "keep.txt", "content": "keep\n"}
        ]},
        {"id": B, "name": "beta", "files": [
            {"key": "app/logs/old.log", "content": "stale\n"},
            {"key": "app/readme.md", "content": "readme\n"},
            {"key": "notes.txt", "content": "notes\n"},
            {"key": "empty/"}
        ]}
    ]}]});
    if let (Some(f), Value::Object(extra)) = (fixture.as_object_mut(), extra) {
        f.extend(extra);
    }
    fixture
}

/// A server with the two disks of [`fixture_with`] and no rules.
async fn server(name: &str) -> TestServer {
    TestServer::with_fixture(&format!("exec-{name}"), &fixture_with(json!({}))).await
}

/// `POST /_mock/exec-rules`; asserts 201 and returns the ids.
async fn add_rules(server: &TestServer, rules: Value) -> Vec<String> {
    let (status, body) = server
        .call("POST", "/_mock/exec-rules", None, Some(rules.clone()))
        .await;
    assert_eq!(status, 201, "{rules} gave {body}");
    assert_eq!(body["success"], true, "{body}");
    body["data"]["ids"]
        .as_array()
        .unwrap_or_else(|| panic!("no ids: {body}"))
        .iter()
        .map(|id| id.as_str().expect("ids are strings").to_owned())
        .collect()
}

/// `GET /_mock/exec-rules`'s rules.
async fn list_rules(server: &TestServer) -> Vec<Value> {
    let (status, body) = server.call("GET", "/_mock/exec-rules", None, None).await;
    assert_eq!(status, 200, "{body}");
    body["data"]["rules"]
        .as_array()
        .unwrap_or_else(|| panic!("no rules: {body}"))
        .clone()
}

/// `ExecDiskResult` (A.1): exactly these fields, typed; timing consistent (C.2).
fn assert_result_shape(data: &Value) {
    let object = data
        .as_object()
        .unwrap_or_else(|| panic!("data is not an object: {data}"));
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["exitCode", "stderr", "stdout", "timing"], "{data}");
    assert!(data["exitCode"].is_i64(), "{data}");
    assert!(data["stdout"].is_string(), "{data}");
    assert!(data["stderr"].is_string(), "{data}");
    let timing = data["timing"].as_object().expect("timing is an object");
    let mut keys: Vec<&str> = timing.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["executeMs", "queueMs", "totalMs"], "{data}");
    for field in ["executeMs", "queueMs", "totalMs"] {
        assert!(timing[field].is_u64(), "{field} is an integer: {data}");
    }
    let ms = |f: &str| timing[f].as_u64().unwrap();
    assert!(
        ms("totalMs") >= ms("queueMs") + ms("executeMs"),
        "C.2: totalMs ≥ queueMs + executeMs: {data}"
    );
}

/// Posts an exec (either endpoint); asserts 200 and the result's shape; returns `data`.
async fn exec_ok(server: &TestServer, path: &str, body: Value) -> Value {
    let (status, reply) = server
        .call("POST", path, Some(KEY), Some(body.clone()))
        .await;
    assert_eq!(status, 200, "{path} {body} gave {reply}");
    assert_eq!(reply["success"], true, "{reply}");
    let data = reply["data"].clone();
    assert_result_shape(&data);
    data
}

/// `execDisk` on `id` with `command`; asserts 200; returns `data`.
async fn exec_disk(server: &TestServer, id: &str, command: &str) -> Value {
    exec_ok(server, &exec_disk_path(id), json!({ "command": command })).await
}

/// `exec` with `disks` and `command`; asserts 200; returns `data`.
async fn exec_multi(server: &TestServer, disks: Value, command: &str) -> Value {
    exec_ok(
        server,
        "/api/exec",
        json!({ "disks": disks, "command": command }),
    )
    .await
}

/// Asserts the answer came from no rule (exit 127 and the hint).
fn assert_no_rule(data: &Value, command: &str) {
    assert_eq!(data["exitCode"], 127, "{data}");
    assert_eq!(data["stdout"], "", "{data}");
    let stderr = data["stderr"].as_str().unwrap();
    assert!(
        stderr.contains("no exec rule matches"),
        "the hint says why: {stderr:?}"
    );
    assert!(
        stderr.contains(&format!("{command:?}")),
        "the hint names the command {command:?}: {stderr:?}"
    );
    assert!(
        stderr.contains("/_mock/exec-rules"),
        "the hint says how to add a rule: {stderr:?}"
    );
    assert_eq!(data["timing"]["executeMs"], 0, "nothing ran: {data}");
}

/// A rule that answers every command (`times: 1`) and writes a sentinel on
/// each disk: a refused exec must leave it unused and the sentinels absent.
async fn arm_sentinel(server: &TestServer) -> String {
    let ids = add_rules(
        server,
        json!({
            "id": "sentinel",
            "commandRegex": "",
            "times": 1,
            "stdout": "ran\n",
            "writes": [
                {"path": "/mnt/sentinel.txt", "content": "ran"},
                {"path": "/mnt/archil/a/sentinel.txt", "content": "ran"},
                {"path": "/mnt/archil/b/sentinel.txt", "content": "ran"}
            ]
        }),
    )
    .await;
    ids[0].clone()
}

/// Asserts the sentinel rule is still there with `times: 1` and wrote nothing.
async fn assert_sentinel_unused(server: &TestServer) {
    let rules = list_rules(server).await;
    let sentinel = rules
        .iter()
        .find(|r| r["id"] == "sentinel")
        .unwrap_or_else(|| panic!("the sentinel rule was used up: {rules:?}"));
    assert_eq!(sentinel["times"], 1, "{sentinel}");
    for disk in [A, B] {
        assert_eq!(
            get_object(server, disk, "sentinel.txt").await.0,
            404,
            "a refused exec wrote on {disk}"
        );
    }
}

/// Posts to `path`; asserts an error envelope with `status` and `needle`,
/// and that nothing ran.
async fn assert_refused(server: &TestServer, path: &str, body: Value, status: u16, needle: &str) {
    let (got, reply) = server
        .call("POST", path, Some(KEY), Some(body.clone()))
        .await;
    assert_eq!(got, status, "{path} {body} gave {reply}");
    assert_error(got, &reply, status, needle);
    let code = match status {
        400 => "validation_error",
        404 => "not_found",
        _ => unreachable!(),
    };
    assert_eq!(reply["code"], code, "{reply}");
    assert!(reply.get("data").is_none(), "{reply}");
    assert_sentinel_unused(server).await;
}

/// A multi-disk exec with `disks` must be refused with 400 naming `needle`.
async fn assert_multi_rejected(server: &TestServer, disks: Value, needle: &str) {
    assert_refused(
        server,
        "/api/exec",
        json!({ "command": "true", "disks": disks }),
        400,
        needle,
    )
    .await;
}

/// `GET /{disk}/{key}` through the gateway: status and body bytes.
async fn get_object(server: &TestServer, disk: &str, key: &str) -> (u16, Vec<u8>) {
    let resp = client()
        .get(server.url(&format!("/{disk}/{key}")))
        .header("authorization", KEY)
        .send()
        .await
        .expect("the server answers");
    let status = resp.status().as_u16();
    (status, resp.bytes().await.unwrap().to_vec())
}

/// Asserts `disk` has `key` with exactly `content`, through the gateway.
async fn assert_file(server: &TestServer, disk: &str, key: &str, content: &str) {
    let (status, bytes) = get_object(server, disk, key).await;
    assert_eq!(status, 200, "GET /{disk}/{key}");
    assert_eq!(String::from_utf8_lossy(&bytes), content, "/{disk}/{key}");
}

/// Asserts `disk` has no `key`, through the gateway.
async fn assert_no_file(server: &TestServer, disk: &str, key: &str) {
    let (status, bytes) = get_object(server, disk, key).await;
    assert_eq!(
        status,
        404,
        "/{disk}/{key} exists: {:?}",
        String::from_utf8_lossy(&bytes)
    );
}

/// `grepDisk` over the whole disk, recursive; returns `(file, line, text)`.
async fn grep_all(server: &TestServer, disk: &str, pattern: &str) -> Vec<(String, u64, String)> {
    grep_in(server, disk, "", pattern).await
}

async fn grep_in(
    server: &TestServer,
    disk: &str,
    directory: &str,
    pattern: &str,
) -> Vec<(String, u64, String)> {
    let body = json!({"directory": directory, "pattern": pattern, "recursive": true});
    let (status, reply) = server
        .call(
            "POST",
            &format!("/api/disks/{disk}/grep"),
            Some(KEY),
            Some(body.clone()),
        )
        .await;
    assert_eq!(status, 200, "{body} gave {reply}");
    assert_eq!(reply["data"]["stoppedReason"], "completed", "{reply}");
    reply["data"]["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["file"].as_str().unwrap().to_owned(),
                m["line"].as_u64().unwrap(),
                m["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------
// execDisk (A.1): the body

#[tokio::test]
async fn exec_disk_requires_a_command() {
    let server = server("cmd-missing").await;
    arm_sentinel(&server).await;
    assert_refused(
        &server,
        &exec_disk_path(A),
        json!({}),
        400,
        "command is required",
    )
    .await;
    assert_refused(
        &server,
        &exec_disk_path(A),
        json!({"cmd": "ls"}),
        400,
        "command is required",
    )
    .await;
}

#[tokio::test]
async fn exec_disk_rejects_a_command_that_is_not_a_string() {
    let server = server("cmd-type").await;
    arm_sentinel(&server).await;
    for (command, kind) in [
        (json!(null), "null"),
        (json!(5), "number"),
        (json!(true), "boolean"),
        (json!(["ls"]), "array"),
        (json!({"sh": "ls"}), "object"),
    ] {
        assert_refused(
            &server,
            &exec_disk_path(A),
            json!({ "command": command }),
            400,
            &format!("command must be a string, not {kind}"),
        )
        .await;
    }
}

#[tokio::test]
async fn exec_disk_rejects_a_body_that_is_not_a_json_object() {
    let server = server("cmd-body").await;
    arm_sentinel(&server).await;
    for body in [&b""[..], b"[]", b"\"ls\"", b"{\"command\": ", b"null"] {
        let (status, _, reply) = server
            .raw(
                "POST",
                &exec_disk_path(A),
                &[("authorization", KEY), ("content-type", "application/json")],
                body.to_vec(),
            )
            .await;
        assert_eq!(
            status,
            400,
            "{:?} gave {reply}",
            String::from_utf8_lossy(body)
        );
        assert_eq!(reply["code"], "validation_error", "{reply}");
    }
    assert_sentinel_unused(&server).await;
}

#[tokio::test]
async fn exec_disk_accepts_an_empty_command() {
    let server = server("cmd-empty").await;
    // No rule: it "runs", as nothing, and is answered 127 (200 all the same).
    let data = exec_disk(&server, A, "").await;
    assert_no_rule(&data, "");
    // A rule for the empty command answers it.
    add_rules(&server, json!({"command": "", "stdout": "nothing\n"})).await;
    let data = exec_disk(&server, A, "").await;
    assert_eq!(data["exitCode"], 0, "{data}");
    assert_eq!(data["stdout"], "nothing\n", "{data}");
    assert_eq!(data["stderr"], "", "{data}");
}

#[tokio::test]
async fn exec_disk_ignores_unknown_body_fields() {
    let server = server("cmd-extra").await;
    add_rules(&server, json!({"command": "pwd", "stdout": "/\n"})).await;
    let data = exec_ok(
        &server,
        &exec_disk_path(A),
        json!({"command": "pwd", "timeout": 5, "env": {"A": "1"}, "readOnly": "yes"}),
    )
    .await;
    assert_eq!(data["stdout"], "/\n", "{data}");
}

// ---------------------------------------------------------------------------
// execDisk (A.0, A.1): ids, accounts, auth, methods

#[tokio::test]
async fn exec_disk_rejects_a_malformed_id_with_400() {
    let server = server("id-malformed").await;
    arm_sentinel(&server).await;
    for id in [
        "dsk-00000000000000E1",  // upper-case hex
        "dsk-00000000000000e",   // 15 hex
        "dsk-00000000000000e1f", // 17 hex
        "disk-00000000000000e1",
        "00000000000000e1",
        "dsk-00000000000000g1",
    ] {
        assert_refused(
            &server,
            &exec_disk_path(id),
            json!({"command": "ls"}),
            400,
            "is malformed",
        )
        .await;
    }
}

#[tokio::test]
async fn exec_disk_on_an_unknown_disk_is_404_and_nothing_runs() {
    let server = server("id-unknown").await;
    arm_sentinel(&server).await;
    assert_refused(
        &server,
        &exec_disk_path(UNKNOWN),
        json!({"command": "ls"}),
        404,
        "not found",
    )
    .await;
}

#[tokio::test]
async fn exec_disk_on_another_accounts_disk_is_404_and_nothing_runs() {
    let server = TestServer::with(two_accounts()).await;
    let alices = server.create_disk_named(ALICE_KEY, "alices").await;
    add_rules(
        &server,
        json!({"id": "r", "command": "ls", "times": 1, "writes": [{"path": "/mnt/x", "content": "x"}]}),
    )
    .await;
    let (status, reply) = server
        .call(
            "POST",
            &exec_disk_path(&alices),
            Some(BOB_KEY),
            Some(json!({"command": "ls"})),
        )
        .await;
    assert_error(status, &reply, 404, "not found");
    assert_eq!(reply["code"], "not_found", "{reply}");
    assert_eq!(
        list_rules(&server).await[0]["times"],
        1,
        "the rule was used"
    );
    let bytes = server.app.read_object(&alices, "x");
    assert!(bytes.is_none(), "bob's refused exec wrote on alice's disk");
    // Alice herself runs it.
    let (status, reply) = server
        .call(
            "POST",
            &exec_disk_path(&alices),
            Some(ALICE_KEY),
            Some(json!({"command": "ls"})),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(
        server.app.read_object(&alices, "x").as_deref(),
        Some(&b"x"[..])
    );
}

#[tokio::test]
async fn exec_needs_a_valid_key() {
    let server = server("auth").await;
    arm_sentinel(&server).await;
    for key in [None, Some("key-wrong-0000000000000000000000")] {
        for (path, body) in [
            (exec_disk_path(A), json!({"command": "ls"})),
            (
                "/api/exec".to_owned(),
                json!({"command": "ls", "disks": {"a": A}}),
            ),
        ] {
            let (status, reply) = server.call("POST", &path, key, Some(body)).await;
            assert_error(status, &reply, 401, "");
            assert_eq!(reply["code"], "unauthorized", "{reply}");
        }
    }
    assert_sentinel_unused(&server).await;
}

#[tokio::test]
async fn exec_accepts_a_bearer_key() {
    let server = server("bearer").await;
    add_rules(&server, json!({"command": "id", "stdout": "uid=0(root)\n"})).await;
    let bearer = format!("Bearer {KEY}");
    let (status, reply) = server
        .call(
            "POST",
            &exec_disk_path(A),
            Some(&bearer),
            Some(json!({"command": "id"})),
        )
        .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["data"]["stdout"], "uid=0(root)\n");
}

#[tokio::test]
async fn exec_endpoints_are_post_only() {
    let server = server("methods").await;
    for method in ["GET", "PUT", "DELETE", "PATCH"] {
        for path in [exec_disk_path(A), "/api/exec".to_owned()] {
            let (status, reply) = server.call(method, &path, Some(KEY), None).await;
            assert_error(status, &reply, 405, "");
        }
    }
}

// ---------------------------------------------------------------------------
// exec (A.2): `command` and `disks`

#[tokio::test]
async fn exec_requires_command_and_disks() {
    let server = server("multi-required").await;
    arm_sentinel(&server).await;
    assert_refused(
        &server,
        "/api/exec",
        json!({"disks": {"a": A}}),
        400,
        "command is required",
    )
    .await;
    assert_refused(
        &server,
        "/api/exec",
        json!({"command": 1, "disks": {"a": A}}),
        400,
        "command must be a string, not number",
    )
    .await;
    assert_refused(
        &server,
        "/api/exec",
        json!({"command": "ls"}),
        400,
        "disks is required",
    )
    .await;
}

#[tokio::test]
async fn exec_rejects_disks_that_are_not_an_object() {
    let server = server("multi-disks-type").await;
    arm_sentinel(&server).await;
    for (disks, kind) in [
        (json!([A]), "array"),
        (json!(A), "string"),
        (json!(null), "null"),
        (json!(1), "number"),
        (json!(true), "boolean"),
    ] {
        assert_multi_rejected(
            &server,
            disks,
            &format!("disks must be an object, not {kind}"),
        )
        .await;
    }
}

#[tokio::test]
async fn exec_needs_at_least_one_disk() {
    let server = server("multi-empty").await;
    arm_sentinel(&server).await;
    assert_multi_rejected(&server, json!({}), "at least one disk").await;
    // One is enough.
    let data = exec_multi(&server, json!({"a": A}), "true").await;
    assert_eq!(data["stdout"], "ran\n", "{data}");
}

#[tokio::test]
async fn exec_rejects_an_empty_mount_path() {
    let server = server("path-empty").await;
    arm_sentinel(&server).await;
    assert_multi_rejected(&server, json!({"": A}), "must not be empty").await;
    assert_multi_rejected(&server, json!({"a": A, "": B}), "must not be empty").await;
}

#[tokio::test]
async fn exec_rejects_an_absolute_mount_path() {
    let server = server("path-abs").await;
    arm_sentinel(&server).await;
    for path in ["/a", "/", "/mnt/archil/a"] {
        assert_multi_rejected(&server, json!({ path: A }), "must be relative").await;
    }
}

#[tokio::test]
async fn exec_rejects_dot_and_dot_dot_segments_in_a_mount_path() {
    let server = server("path-dots").await;
    arm_sentinel(&server).await;
    for path in [".", "..", "./a", "a/.", "a/..", "../a", "a/../b", "a/./b"] {
        assert_multi_rejected(&server, json!({ path: A }), "'.' or '..' segment").await;
    }
}

#[tokio::test]
async fn exec_rejects_empty_segments_in_a_mount_path() {
    let server = server("path-segments").await;
    arm_sentinel(&server).await;
    for path in ["a//b", "a/", "a/b/"] {
        assert_multi_rejected(&server, json!({ path: A }), "empty segment").await;
    }
}

#[tokio::test]
async fn exec_rejects_nul_and_backslash_in_a_mount_path() {
    let server = server("path-chars").await;
    arm_sentinel(&server).await;
    for path in ["a\u{0}b", "\u{0}", "a\\b", "\\a", "a\\"] {
        assert_multi_rejected(&server, json!({ path: A }), "must not contain NUL or \\").await;
    }
}

#[tokio::test]
async fn exec_accepts_mount_paths_at_the_edge_of_the_rules() {
    let server = server("path-ok").await;
    add_rules(&server, json!({"command": "true", "stdout": "ok\n"})).await;
    // Dots that are not whole segments, spaces, unicode, several segments.
    for path in [
        "a",
        "..a",
        "a..",
        ".hidden",
        "...",
        "a/b/c",
        "with space",
        "données",
        "a-b_c.d",
    ] {
        let data = exec_multi(&server, json!({ path: A }), "true").await;
        assert_eq!(data["stdout"], "ok\n", "{path}: {data}");
    }
}

#[tokio::test]
async fn exec_rejects_two_mounts_at_one_path_given_as_duplicate_json_keys() {
    let server = server("path-dup").await;
    arm_sentinel(&server).await;
    for body in [
        format!(r#"{{"command": "true", "disks": {{"a": "{A}", "a": "{B}"}}}}"#),
        format!(r#"{{"command": "true", "disks": {{"a": "{A}", "a": "{A}"}}}}"#),
        format!(
            r#"{{"command": "true", "disks": {{"a": "{A}", "b": "{B}", "a": {{"disk": "{B}"}}}}}}"#
        ),
        // Inside a mount object too.
        format!(r#"{{"command": "true", "disks": {{"a": {{"disk": "{A}", "disk": "{B}"}}}}}}"#),
    ] {
        let (status, _, reply) = server
            .raw(
                "POST",
                "/api/exec",
                &[("authorization", KEY), ("content-type", "application/json")],
                body.clone().into_bytes(),
            )
            .await;
        assert_eq!(status, 400, "{body} gave {reply}");
        assert_eq!(reply["code"], "validation_error", "{reply}");
        let msg = reply["error"].as_str().unwrap();
        assert!(msg.contains("duplicate"), "{body}: {msg:?}");
    }
    assert_sentinel_unused(&server).await;
}

#[tokio::test]
async fn exec_rejects_a_mount_that_is_neither_an_id_nor_an_object() {
    let server = server("mount-type").await;
    arm_sentinel(&server).await;
    for (value, kind) in [
        (json!(null), "null"),
        (json!(5), "number"),
        (json!(true), "boolean"),
        (json!([A]), "array"),
    ] {
        assert_multi_rejected(
            &server,
            json!({ "a": value }),
            &format!("must be a disk id or a mount object, not {kind}"),
        )
        .await;
    }
}

#[tokio::test]
async fn exec_mount_objects_require_a_string_disk() {
    let server = server("mount-disk").await;
    arm_sentinel(&server).await;
    assert_multi_rejected(&server, json!({"a": {}}), "disk is required").await;
    assert_multi_rejected(
        &server,
        json!({"a": {"subdirectory": "app", "readOnly": true}}),
        "disk is required",
    )
    .await;
    assert_multi_rejected(
        &server,
        json!({"a": {"disk": 5}}),
        "disk must be a string, not number",
    )
    .await;
    assert_multi_rejected(
        &server,
        json!({"a": {"disk": null}}),
        "disk must be a string, not null",
    )
    .await;
}

#[tokio::test]
async fn exec_rejects_a_malformed_disk_id_with_400_in_either_form() {
    let server = server("mount-malformed").await;
    arm_sentinel(&server).await;
    for id in [
        "dsk-abc123",
        "dsk-00000000000000E1",
        "",
        "dsk-00000000000000e1 ",
    ] {
        assert_multi_rejected(&server, json!({ "a": id }), "is malformed").await;
        assert_multi_rejected(&server, json!({"a": {"disk": id}}), "is malformed").await;
    }
}

#[tokio::test]
async fn exec_on_an_unknown_disk_is_404_and_nothing_runs() {
    let server = server("mount-unknown").await;
    arm_sentinel(&server).await;
    let body = |disks: Value| json!({"command": "true", "disks": disks});
    for disks in [
        json!({ "a": UNKNOWN }),
        json!({"a": {"disk": UNKNOWN}}),
        // Every other mount resolves: still nothing runs (all or nothing, A.2 #12).
        json!({"a": A, "b": UNKNOWN}),
        json!({"b": {"disk": UNKNOWN, "readOnly": true}, "a": A}),
    ] {
        assert_refused(&server, "/api/exec", body(disks), 404, "not found").await;
    }
}

#[tokio::test]
async fn exec_with_another_accounts_disk_is_404_and_nothing_runs() {
    let server = TestServer::with(two_accounts()).await;
    let alices = server.create_disk_named(ALICE_KEY, "alices").await;
    let bobs = server.create_disk_named(BOB_KEY, "bobs").await;
    add_rules(
        &server,
        json!({"id": "r", "command": "true", "times": 1, "writes": [
            {"path": "/mnt/archil/mine/x", "content": "x"},
            {"path": "/mnt/archil/theirs/x", "content": "x"}
        ]}),
    )
    .await;
    for disks in [
        json!({"mine": bobs, "theirs": alices}),
        json!({"mine": bobs, "theirs": {"disk": alices, "readOnly": true}}),
    ] {
        let (status, reply) = server
            .call(
                "POST",
                "/api/exec",
                Some(BOB_KEY),
                Some(json!({"command": "true", "disks": disks})),
            )
            .await;
        assert_error(status, &reply, 404, "not found");
        assert_eq!(reply["code"], "not_found", "{reply}");
    }
    assert_eq!(
        list_rules(&server).await[0]["times"],
        1,
        "the rule was used"
    );
    assert!(
        server.app.read_object(&bobs, "x").is_none(),
        "bob's disk was written"
    );
    assert!(
        server.app.read_object(&alices, "x").is_none(),
        "alice's disk was written"
    );
}

#[tokio::test]
async fn exec_refuses_everything_when_a_later_mount_is_invalid() {
    let server = server("mount-atomic").await;
    arm_sentinel(&server).await;
    assert_multi_rejected(
        &server,
        json!({"a": A, "b": {"disk": B, "subdirectory": "missing"}}),
        "is not a directory",
    )
    .await;
    assert_multi_rejected(&server, json!({"a": A, "b/..": B}), "'.' or '..' segment").await;
}

// ---------------------------------------------------------------------------
// exec (A.2): subdirectory, readOnly and the SDKs' fields

#[tokio::test]
async fn exec_accepts_an_existing_subdirectory() {
    let server = server("sub-ok").await;
    add_rules(&server, json!({"command": "ls", "stdout": "ok\n"})).await;
    for sub in ["app", "app/logs", "app/logs/", "empty", ""] {
        let data = exec_multi(
            &server,
            json!({"b": {"disk": B, "subdirectory": sub}}),
            "ls",
        )
        .await;
        assert_eq!(data["stdout"], "ok\n", "{sub:?}: {data}");
    }
}

#[tokio::test]
async fn exec_rejects_a_subdirectory_that_is_not_a_directory_of_the_disk() {
    let server = server("sub-missing").await;
    arm_sentinel(&server).await;
    for sub in [
        "missing",
        "app/missing",
        "notes.txt",
        "app/readme.md",
        "App",
    ] {
        assert_multi_rejected(
            &server,
            json!({"b": {"disk": B, "subdirectory": sub}}),
            "is not a directory",
        )
        .await;
    }
    // A directory of another disk is not one of this disk.
    assert_multi_rejected(
        &server,
        json!({"a": {"disk": A, "subdirectory": "app"}}),
        "is not a directory",
    )
    .await;
}

#[tokio::test]
async fn exec_rejects_a_subdirectory_with_a_leading_slash_or_dot_segments() {
    let server = server("sub-shape").await;
    arm_sentinel(&server).await;
    for (sub, needle) in [
        ("/app", "must be relative"),
        ("/app/", "must be relative"),
        (".", "'.' or '..' segment"),
        ("..", "'.' or '..' segment"),
        ("app/../app", "'.' or '..' segment"),
        ("./app", "'.' or '..' segment"),
        ("app//logs", "empty segment"),
        ("app\\logs", "must not contain NUL or \\"),
        ("app\u{0}", "must not contain NUL or \\"),
        // Last: the server trims trailing slashes first, and takes "/" for the root.
        ("/", "must be relative"),
        ("//", "must be relative"),
    ] {
        assert_multi_rejected(
            &server,
            json!({"b": {"disk": B, "subdirectory": sub}}),
            needle,
        )
        .await;
    }
    assert_multi_rejected(
        &server,
        json!({"b": {"disk": B, "subdirectory": 5}}),
        "subdirectory must be a string, not number",
    )
    .await;
}

#[tokio::test]
async fn exec_rejects_read_only_and_conditional_that_are_not_booleans() {
    let server = server("bools").await;
    arm_sentinel(&server).await;
    for field in ["readOnly", "conditional"] {
        for (value, kind) in [
            (json!("true"), "string"),
            (json!(1), "number"),
            (json!(null), "null"),
        ] {
            assert_multi_rejected(
                &server,
                json!({"a": {"disk": A, field: value}}),
                &format!("{field} must be a boolean, not {kind}"),
            )
            .await;
        }
    }
}

#[tokio::test]
async fn exec_rejects_queue_ms_or_checkout_paths_with_read_only() {
    let server = server("ro-delegation").await;
    arm_sentinel(&server).await;
    for mount in [
        json!({"disk": A, "readOnly": true, "queueMs": 5000}),
        json!({"disk": A, "readOnly": true, "checkoutPaths": ["src"]}),
        json!({"disk": A, "readOnly": true, "queueMs": 0, "checkoutPaths": []}),
        json!({"disk": A, "readOnly": true, "conditional": true, "queueMs": 1}),
    ] {
        assert_multi_rejected(
            &server,
            json!({ "a": mount }),
            "queueMs and checkoutPaths cannot go with readOnly",
        )
        .await;
    }
}

#[tokio::test]
async fn exec_accepts_the_sdk_fields_otherwise() {
    let server = server("sdk-fields").await;
    add_rules(&server, json!({"command": "true", "stdout": "ok\n"})).await;
    for mount in [
        // What the Python SDK always sends (B.1).
        json!({"disk": A, "readOnly": false, "conditional": false}),
        json!({"disk": A, "readOnly": true, "conditional": false}),
        json!({"disk": A, "readOnly": true, "conditional": true}),
        // What the TS SDK adds (B.6: the sqlite adapter's writes).
        json!({"disk": A, "queueMs": 5000, "checkoutPaths": ["db", "tmp/cache"]}),
        json!({"disk": A, "readOnly": false, "queueMs": 5000.0}),
        json!({"disk": A, "conditional": true, "checkoutPaths": []}),
        // Unknown fields are ignored (A.0).
        json!({"disk": A, "priority": "high"}),
    ] {
        let data = exec_multi(&server, json!({ "a": mount }), "true").await;
        assert_eq!(data["stdout"], "ok\n", "{mount}: {data}");
    }
    // And at the top level.
    let data = exec_ok(
        &server,
        "/api/exec",
        json!({"command": "true", "disks": {"a": A}, "image": "node:22"}),
    )
    .await;
    assert_eq!(data["stdout"], "ok\n", "{data}");
}

#[tokio::test]
async fn exec_rejects_a_queue_ms_that_is_not_an_integer() {
    // A.0: "30.0 is an integer and is accepted; 1.5, "30", true and null get 400".
    let server = server("queue-type").await;
    arm_sentinel(&server).await;
    for value in [
        json!(1.5),
        json!("5000"),
        json!(true),
        json!(null),
        json!([5000]),
    ] {
        assert_multi_rejected(
            &server,
            json!({"a": {"disk": A, "queueMs": value}}),
            "queueMs",
        )
        .await;
    }
}

#[tokio::test]
async fn exec_rejects_checkout_paths_that_are_not_an_array_of_strings() {
    // A.2: checkoutPaths is string[].
    let server = server("checkout-type").await;
    arm_sentinel(&server).await;
    for value in [
        json!("src"),
        json!([1]),
        json!([null]),
        json!({"src": true}),
        json!(null),
    ] {
        assert_multi_rejected(
            &server,
            json!({"a": {"disk": A, "checkoutPaths": value}}),
            "checkoutPaths",
        )
        .await;
    }
}

#[tokio::test]
async fn exec_accepts_nested_mounts_and_one_disk_twice() {
    let server = server("nested").await;
    add_rules(
        &server,
        json!({"command": "nest", "writes": [
            {"path": "/mnt/archil/a/b/x.txt", "content": "deep"},
            {"path": "/mnt/archil/a/y.txt", "content": "shallow"}
        ]}),
    )
    .await;
    // A.2 #7: `a` and `a/b`; the deeper mount owns its paths.
    exec_multi(&server, json!({"a": A, "a/b": B}), "nest").await;
    assert_file(&server, B, "x.txt", "deep").await;
    assert_file(&server, A, "y.txt", "shallow").await;
    assert_no_file(&server, A, "b/x.txt").await;
    // A.2 #13: the same disk at two keys, read-write and read-only.
    let data = exec_multi(
        &server,
        json!({"rw": A, "ro": {"disk": A, "readOnly": true}}),
        "unscripted",
    )
    .await;
    assert_no_rule(&data, "unscripted");
}

// ---------------------------------------------------------------------------
// The scripted back end: matching

#[tokio::test]
async fn no_rule_answers_200_with_exit_127_and_a_hint() {
    let server = server("no-rule").await;
    let data = exec_disk(&server, A, "make build").await;
    assert_no_rule(&data, "make build");
    let data = exec_multi(&server, json!({"a": A, "b": B}), "cat /mnt/archil/a/x").await;
    assert_no_rule(&data, "cat /mnt/archil/a/x");
    // A rule for another command changes nothing.
    add_rules(&server, json!({"command": "make test"})).await;
    assert_no_rule(&exec_disk(&server, A, "make build").await, "make build");
}

#[tokio::test]
async fn a_command_rule_matches_exactly() {
    let server = server("match-exact").await;
    add_rules(
        &server,
        json!({"command": "ls -la /mnt", "exitCode": 3, "stdout": "total 0\n", "stderr": "warn\n"}),
    )
    .await;
    let data = exec_disk(&server, A, "ls -la /mnt").await;
    assert_eq!(data["exitCode"], 3, "a non-zero exit is still 200: {data}");
    assert_eq!(data["stdout"], "total 0\n");
    assert_eq!(data["stderr"], "warn\n");
    for near in [
        "ls -la /mnt ",
        " ls -la /mnt",
        "ls -la /mnt/",
        "LS -la /mnt",
        "ls -la",
    ] {
        assert_no_rule(&exec_disk(&server, A, near).await, near);
    }
    // The same rule answers exec too.
    let data = exec_multi(&server, json!({"a": A}), "ls -la /mnt").await;
    assert_eq!(data["exitCode"], 3, "{data}");
}

#[tokio::test]
async fn a_command_contains_rule_matches_a_substring() {
    let server = server("match-contains").await;
    add_rules(
        &server,
        json!({"commandContains": "pytest", "exitCode": 1, "stdout": "1 failed\n"}),
    )
    .await;
    for command in [
        "pytest",
        "cd /mnt && pytest -q",
        "python -m pytest",
        "xpytestx",
    ] {
        let data = exec_disk(&server, A, command).await;
        assert_eq!(data["exitCode"], 1, "{command}: {data}");
        assert_eq!(data["stdout"], "1 failed\n");
    }
    for command in ["py test", "PYTEST", "pytes"] {
        assert_no_rule(&exec_disk(&server, A, command).await, command);
    }
}

#[tokio::test]
async fn a_command_regex_rule_matches_by_regex() {
    let server = server("match-regex").await;
    add_rules(
        &server,
        json!({"commandRegex": "^make (build|test)$", "stdout": "made\n"}),
    )
    .await;
    for command in ["make build", "make test"] {
        assert_eq!(
            exec_disk(&server, A, command).await["stdout"],
            "made\n",
            "{command}"
        );
    }
    for command in ["make tests", "cd /mnt && make build", "make", "make lint"] {
        assert_no_rule(&exec_disk(&server, A, command).await, command);
    }
    // Unanchored regexes search anywhere.
    add_rules(
        &server,
        json!({"commandRegex": r"\bgrep\s+-r\b", "stdout": "found\n"}),
    )
    .await;
    assert_eq!(
        exec_disk(&server, A, "cd /mnt && grep -r TODO .").await["stdout"],
        "found\n"
    );
}

#[tokio::test]
async fn a_rule_with_a_disk_answers_only_when_that_disk_is_mounted() {
    let server = server("match-disk").await;
    add_rules(
        &server,
        json!({"command": "ls", "disk": B, "stdout": "on beta\n"}),
    )
    .await;
    assert_no_rule(&exec_disk(&server, A, "ls").await, "ls");
    assert_eq!(exec_disk(&server, B, "ls").await["stdout"], "on beta\n");
    assert_no_rule(&exec_multi(&server, json!({"a": A}), "ls").await, "ls");
    assert_eq!(
        exec_multi(
            &server,
            json!({"a": A, "b": {"disk": B, "subdirectory": "app", "readOnly": true}}),
            "ls"
        )
        .await["stdout"],
        "on beta\n"
    );
    // A disk constraint never matches a disk that is not mounted, even an unknown one.
    add_rules(&server, json!({"command": "pwd", "disk": UNKNOWN})).await;
    assert_no_rule(&exec_disk(&server, A, "pwd").await, "pwd");
}

#[tokio::test]
async fn the_first_matching_rule_wins() {
    let server = server("first").await;
    let ids = add_rules(
        &server,
        json!([
            {"id": "specific", "command": "make build", "stdout": "first\n"},
            {"id": "general", "commandContains": "make", "stdout": "second\n"},
            {"id": "any", "commandRegex": ".*", "stdout": "third\n"}
        ]),
    )
    .await;
    assert_eq!(ids, ["specific", "general", "any"]);
    assert_eq!(
        exec_disk(&server, A, "make build").await["stdout"],
        "first\n"
    );
    assert_eq!(
        exec_disk(&server, A, "make test").await["stdout"],
        "second\n"
    );
    assert_eq!(exec_disk(&server, A, "ls").await["stdout"], "third\n");
    // Removing the first lets the next answer.
    let (status, _) = server
        .call("DELETE", "/_mock/exec-rules/specific", None, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        exec_disk(&server, A, "make build").await["stdout"],
        "second\n"
    );
    // A later rule that matches more narrowly never shadows an earlier one.
    add_rules(&server, json!({"command": "make test", "stdout": "late\n"})).await;
    assert_eq!(
        exec_disk(&server, A, "make test").await["stdout"],
        "second\n"
    );
}

#[tokio::test]
async fn a_rule_with_times_answers_that_many_execs_then_expires() {
    let server = server("times").await;
    add_rules(
        &server,
        json!([
            {"id": "twice", "command": "flaky", "times": 2, "exitCode": 1, "stdout": "fail\n"},
            {"id": "after", "command": "flaky", "stdout": "pass\n"}
        ]),
    )
    .await;
    let rules = list_rules(&server).await;
    assert_eq!(rules[0]["times"], 2, "{rules:?}");
    assert!(rules[1].get("times").is_none(), "{rules:?}");

    let data = exec_disk(&server, A, "flaky").await;
    assert_eq!(
        (data["exitCode"].clone(), data["stdout"].clone()),
        (json!(1), json!("fail\n"))
    );
    assert_eq!(list_rules(&server).await[0]["times"], 1, "one use left");
    // Through the other endpoint: times count every exec.
    let data = exec_multi(&server, json!({"a": A}), "flaky").await;
    assert_eq!(data["exitCode"], 1, "{data}");
    let rules = list_rules(&server).await;
    assert_eq!(rules.len(), 1, "the used-up rule is gone: {rules:?}");
    assert_eq!(rules[0]["id"], "after");
    for _ in 0..3 {
        let data = exec_disk(&server, A, "flaky").await;
        assert_eq!(
            (data["exitCode"].clone(), data["stdout"].clone()),
            (json!(0), json!("pass\n"))
        );
    }
    // A once-only rule, alone: then nothing answers.
    add_rules(
        &server,
        json!({"command": "once", "times": 1, "stdout": "1\n"}),
    )
    .await;
    assert_eq!(exec_disk(&server, A, "once").await["stdout"], "1\n");
    assert_no_rule(&exec_disk(&server, A, "once").await, "once");
    // A non-matching exec does not use a rule up.
    add_rules(
        &server,
        json!({"id": "kept", "command": "kept", "times": 1}),
    )
    .await;
    exec_disk(&server, A, "other").await;
    let rules = list_rules(&server).await;
    assert_eq!(
        rules
            .iter()
            .find(|r| r["id"] == "kept")
            .map(|r| r["times"].clone()),
        Some(json!(1)),
        "{rules:?}"
    );
}

// ---------------------------------------------------------------------------
// The scripted back end: time

#[tokio::test]
async fn a_delay_is_reported_as_execute_time() {
    let server = server("delay").await;
    add_rules(
        &server,
        json!({"command": "sleep", "delayMs": 400, "stdout": "slept\n"}),
    )
    .await;
    let started = Instant::now();
    let data = exec_disk(&server, A, "sleep").await;
    let wall = started.elapsed();
    assert_eq!(data["stdout"], "slept\n");
    let timing = &data["timing"];
    let execute = timing["executeMs"].as_u64().unwrap();
    let queue = timing["queueMs"].as_u64().unwrap();
    let total = timing["totalMs"].as_u64().unwrap();
    assert!(execute >= 400, "executeMs ≥ delayMs: {timing}");
    assert!(
        execute < 2_000,
        "executeMs is the delay, not more: {timing}"
    );
    assert!(total >= queue + execute, "{timing}");
    assert!(
        wall >= Duration::from_millis(400),
        "the answer waited: {wall:?}"
    );
    assert!(
        u128::from(total) <= wall.as_millis(),
        "totalMs is server time within the round trip: {timing} vs {wall:?}"
    );
    // Through exec too.
    let data = exec_multi(&server, json!({"a": A, "b": B}), "sleep").await;
    assert!(
        data["timing"]["executeMs"].as_u64().unwrap() >= 400,
        "{data}"
    );
    // Without a delay a rule takes no time to speak of.
    add_rules(&server, json!({"command": "fast"})).await;
    let data = exec_disk(&server, A, "fast").await;
    assert!(
        data["timing"]["executeMs"].as_u64().unwrap() < 200,
        "{data}"
    );
}

#[tokio::test]
async fn a_timeout_rule_answers_504_command_timed_out() {
    let server = server("timeout").await;
    add_rules(
        &server,
        json!({"command": "hang", "timeout": true, "stdout": "never\n"}),
    )
    .await;
    for (path, body) in [
        (exec_disk_path(A), json!({"command": "hang"})),
        (
            "/api/exec".to_owned(),
            json!({"command": "hang", "disks": {"a": A}}),
        ),
    ] {
        let (status, reply) = server.call("POST", &path, Some(KEY), Some(body)).await;
        assert_eq!(status, 504, "{reply}");
        assert_eq!(
            reply,
            json!({"success": false, "error": "Command timed out", "code": "exec_timeout"})
        );
    }
}

#[tokio::test]
async fn a_timeout_rule_waits_its_delay_and_keeps_its_writes() {
    // C.3: real writes are not rolled back by a timeout.
    let server = server("timeout-writes").await;
    add_rules(
        &server,
        json!({"command": "hang", "timeout": true, "delayMs": 300,
               "writes": [{"path": "/mnt/partial.txt", "content": "half"}]}),
    )
    .await;
    let started = Instant::now();
    let (status, reply) = server
        .call(
            "POST",
            &exec_disk_path(A),
            Some(KEY),
            Some(json!({"command": "hang"})),
        )
        .await;
    assert_eq!(status, 504, "{reply}");
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    assert_file(&server, A, "partial.txt", "half").await;
}

#[tokio::test]
async fn a_delay_past_the_exec_timeout_is_a_504_at_the_timeout() {
    let server = TestServer::with(Config {
        fixtures: vec![write_fixture("exec-limit", &fixture_with(json!({})))],
        exec_timeout: Duration::from_secs(1),
        ..Config::default()
    })
    .await;
    add_rules(
        &server,
        json!([
            {"command": "slow", "delayMs": 1500, "stdout": "late\n"},
            {"command": "in-time", "delayMs": 500, "stdout": "done\n"}
        ]),
    )
    .await;
    let started = Instant::now();
    let (status, reply) = server
        .call(
            "POST",
            &exec_disk_path(A),
            Some(KEY),
            Some(json!({"command": "slow"})),
        )
        .await;
    let wall = started.elapsed();
    assert_eq!(status, 504, "{reply}");
    assert_eq!(
        reply,
        json!({"success": false, "error": "Command timed out", "code": "exec_timeout"})
    );
    assert!(
        wall >= Duration::from_millis(1000) && wall < Duration::from_millis(1500),
        "answered at the 1 s limit, not after the 1.5 s delay: {wall:?}"
    );
    // Under the limit it completes.
    let data = exec_multi(&server, json!({"a": A}), "in-time").await;
    assert_eq!(data["stdout"], "done\n");
    assert!(
        data["timing"]["executeMs"].as_u64().unwrap() >= 500,
        "{data}"
    );
}

// ---------------------------------------------------------------------------
// The scripted back end: file effects

#[tokio::test]
async fn exec_disk_writes_and_deletes_land_on_the_disk() {
    let server = server("effects-single").await;
    add_rules(
        &server,
        json!({"command": "cd /mnt && make build", "stdout": "built\n",
               "writes": [
                   {"path": "/mnt/out/app.bin", "content": "ELF"},
                   {"path": "/mnt/report.txt", "content": "build ok\nneedle here\n"},
                   {"path": "/mnt/keep.txt", "content": "rewritten\n"}
               ],
               "deletes": ["/mnt/old.txt"]}),
    )
    .await;
    let data = exec_disk(&server, A, "cd /mnt && make build").await;
    assert_eq!(data["exitCode"], 0, "{data}");
    assert_eq!(data["stdout"], "built\n");
    assert_eq!(data["stderr"], "", "no notes: {data}");
    assert_file(&server, A, "out/app.bin", "ELF").await;
    assert_file(&server, A, "report.txt", "build ok\nneedle here\n").await;
    assert_file(&server, A, "keep.txt", "rewritten\n").await;
    assert_no_file(&server, A, "old.txt").await;
    // Grep sees them.
    assert_eq!(
        grep_all(&server, A, "needle").await,
        [("report.txt".to_owned(), 2, "needle here".to_owned())]
    );
    assert!(grep_all(&server, A, "^old$").await.is_empty());
    // The other disk is untouched.
    assert_no_file(&server, B, "out/app.bin").await;
    assert_no_file(&server, B, "report.txt").await;
}

#[tokio::test]
async fn exec_writes_land_on_each_mounted_disk_and_under_a_subdirectory() {
    let server = server("effects-multi").await;
    add_rules(
        &server,
        json!({"command": "job",
               "writes": [
                   {"path": "/mnt/archil/data/result.csv", "content": "a,b\n1,2\n"},
                   {"path": "/mnt/archil/logs/today.log", "content": "job finished\n"},
                   {"path": "/mnt/archil/logs/deep/er.log", "content": "deeper\n"}
               ],
               "deletes": ["/mnt/archil/logs/old.log", "/mnt/archil/data/keep.txt"]}),
    )
    .await;
    let data = exec_multi(
        &server,
        json!({"data": A, "logs": {"disk": B, "subdirectory": "app/logs", "readOnly": false, "conditional": false}}),
        "job",
    )
    .await;
    assert_eq!(data["stderr"], "", "{data}");
    assert_file(&server, A, "result.csv", "a,b\n1,2\n").await;
    assert_no_file(&server, A, "keep.txt").await;
    assert_file(&server, A, "old.txt", "old\n").await;
    // Under the subdirectory, not at the disk root.
    assert_file(&server, B, "app/logs/today.log", "job finished\n").await;
    assert_file(&server, B, "app/logs/deep/er.log", "deeper\n").await;
    assert_no_file(&server, B, "today.log").await;
    assert_no_file(&server, B, "app/logs/old.log").await;
    assert_file(&server, B, "notes.txt", "notes\n").await;
    assert_eq!(
        grep_in(&server, B, "app/logs", "finished|deeper|stale").await,
        [
            ("app/logs/deep/er.log".to_owned(), 1, "deeper".to_owned()),
            (
                "app/logs/today.log".to_owned(),
                1,
                "job finished".to_owned()
            ),
        ]
    );
    assert_eq!(
        grep_all(&server, A, "1,2").await,
        [("result.csv".to_owned(), 2, "1,2".to_owned())]
    );
}

#[tokio::test]
async fn a_read_only_mount_refuses_writes_and_deletes() {
    let server = server("effects-ro").await;
    add_rules(
        &server,
        json!({"command": "touch", "exitCode": 1, "stderr": "touch failed\n",
               "writes": [
                   {"path": "/mnt/archil/ro/new.txt", "content": "no"},
                   {"path": "/mnt/archil/rw/new.txt", "content": "yes"}
               ],
               "deletes": ["/mnt/archil/ro/notes.txt"]}),
    )
    .await;
    let data = exec_multi(
        &server,
        json!({"ro": {"disk": B, "readOnly": true}, "rw": A}),
        "touch",
    )
    .await;
    assert_eq!(data["exitCode"], 1, "{data}");
    let stderr = data["stderr"].as_str().unwrap();
    assert!(
        stderr.starts_with("touch failed\n"),
        "the rule's stderr first: {stderr:?}"
    );
    assert!(
        stderr.contains("/mnt/archil/ro/new.txt: Read-only file system"),
        "{stderr:?}"
    );
    assert!(
        stderr.contains("/mnt/archil/ro/notes.txt: Read-only file system"),
        "{stderr:?}"
    );
    assert!(
        !stderr.contains("/mnt/archil/rw/"),
        "the writable mount wrote: {stderr:?}"
    );
    assert_no_file(&server, B, "new.txt").await;
    assert_file(&server, B, "notes.txt", "notes\n").await;
    assert_file(&server, A, "new.txt", "yes").await;
    // A read-only subdirectory mount refuses too.
    add_rules(
        &server,
        json!({"command": "touch2", "writes": [{"path": "/mnt/archil/l/x.log", "content": "x"}]}),
    )
    .await;
    let data = exec_multi(
        &server,
        json!({"l": {"disk": B, "subdirectory": "app/logs", "readOnly": true}}),
        "touch2",
    )
    .await;
    assert!(
        data["stderr"]
            .as_str()
            .unwrap()
            .contains("Read-only file system"),
        "{data}"
    );
    assert_no_file(&server, B, "app/logs/x.log").await;
}

#[tokio::test]
async fn a_path_outside_every_mount_is_noted_in_stderr() {
    let server = server("effects-outside").await;
    add_rules(
        &server,
        json!({"command": "stray", "stdout": "ok\n",
               "writes": [
                   {"path": "/mnt/archil/nowhere/x.txt", "content": "lost"},
                   {"path": "/mnt/archil/ab/x.txt", "content": "lost"},
                   {"path": "/mnt/archil/a/x.txt", "content": "kept"}
               ],
               "deletes": ["/mnt/old.txt"]}),
    )
    .await;
    let data = exec_multi(&server, json!({"a": A}), "stray").await;
    assert_eq!(data["exitCode"], 0, "{data}");
    assert_eq!(data["stdout"], "ok\n");
    let stderr = data["stderr"].as_str().unwrap();
    for path in [
        "/mnt/archil/nowhere/x.txt",
        "/mnt/archil/ab/x.txt",
        "/mnt/old.txt",
    ] {
        assert!(
            stderr.contains(&format!("{path}: not under a mounted disk")),
            "{path}: {stderr:?}"
        );
    }
    assert!(!stderr.contains("/mnt/archil/a/x.txt"), "{stderr:?}");
    assert_file(&server, A, "x.txt", "kept").await;
    assert_file(&server, A, "old.txt", "old\n").await;
    assert_no_file(&server, A, "nowhere/x.txt").await;
}

#[tokio::test]
async fn exec_disk_mounts_the_disk_at_mnt() {
    // C.1: the single disk is the root at /mnt (the SDKs' agent tools `cd /mnt`).
    let server = server("mnt").await;
    add_rules(
        &server,
        json!({"command": "w", "writes": [
            {"path": "/mnt/top.txt", "content": "top"},
            {"path": "/mnt/archil/nested.txt", "content": "nested"}
        ]}),
    )
    .await;
    exec_disk(&server, A, "w").await;
    assert_file(&server, A, "top.txt", "top").await;
    // `/mnt/archil` is just a directory of the disk for execDisk.
    assert_file(&server, A, "archil/nested.txt", "nested").await;
}

// ---------------------------------------------------------------------------
// The admin API

#[tokio::test]
async fn admin_adds_lists_removes_and_clears_rules() {
    let server = server("admin").await;
    assert_eq!(list_rules(&server).await, Vec::<Value>::new());

    // One rule: 201 and a generated id.
    let ids = add_rules(&server, json!({"command": "a", "stdout": "A\n"})).await;
    assert_eq!(ids.len(), 1);
    assert!(ids[0].starts_with("exec-"), "{ids:?}");
    // An array: ids in order, given ids kept.
    let more = add_rules(
        &server,
        json!([
            {"id": "b-rule", "commandContains": "b", "times": 3, "delayMs": 10},
            {"commandRegex": "^c$", "disk": A, "exitCode": 2, "stderr": "c\n",
             "writes": [{"path": "/mnt/c", "content": "c"}], "deletes": ["/mnt/d"]}
        ]),
    )
    .await;
    assert_eq!(more.len(), 2);
    assert_eq!(more[0], "b-rule");
    assert!(
        more[1].starts_with("exec-") && more[1] != ids[0],
        "{more:?}"
    );

    let rules = list_rules(&server).await;
    let listed: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(listed, [ids[0].as_str(), "b-rule", more[1].as_str()]);
    assert_eq!(rules[0]["command"], "a");
    assert_eq!(rules[0]["stdout"], "A\n");
    assert_eq!(rules[0]["exitCode"], 0);
    assert_eq!(rules[1]["commandContains"], "b");
    assert_eq!(rules[1]["times"], 3);
    assert_eq!(rules[1]["delayMs"], 10);
    assert_eq!(rules[2]["commandRegex"], "^c$");
    assert_eq!(rules[2]["disk"], A);
    assert_eq!(rules[2]["exitCode"], 2);
    assert_eq!(
        rules[2]["writes"],
        json!([{"path": "/mnt/c", "content": "c"}])
    );
    assert_eq!(rules[2]["deletes"], json!(["/mnt/d"]));

    // Times remaining.
    exec_disk(&server, A, "bbb").await;
    assert_eq!(list_rules(&server).await[1]["times"], 2);

    // Remove one; again is 404.
    let (status, body) = server
        .call("DELETE", "/_mock/exec-rules/b-rule", None, None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["removed"], 1, "{body}");
    let (status, body) = server
        .call("DELETE", "/_mock/exec-rules/b-rule", None, None)
        .await;
    assert_error(status, &body, 404, "b-rule");
    let (status, body) = server
        .call("DELETE", "/_mock/exec-rules/never-was", None, None)
        .await;
    assert_error(status, &body, 404, "never-was");
    assert_no_rule(&exec_disk(&server, A, "bbb").await, "bbb");
    assert_eq!(list_rules(&server).await.len(), 2);

    // Clear: the count, then nothing.
    let (status, body) = server.call("DELETE", "/_mock/exec-rules", None, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["removed"], 2, "{body}");
    assert_eq!(list_rules(&server).await, Vec::<Value>::new());
    assert_no_rule(&exec_disk(&server, A, "a").await, "a");
    let (_, body) = server.call("DELETE", "/_mock/exec-rules", None, None).await;
    assert_eq!(body["data"]["removed"], 0, "{body}");
}

#[tokio::test]
async fn admin_refuses_invalid_rules_naming_the_rule_and_adds_none() {
    let server = server("admin-invalid").await;
    add_rules(&server, json!({"id": "taken", "command": "x"})).await;
    let ok = json!({"command": "fine"});
    for (bad, needle) in [
        (
            json!({}),
            "exactly one of command, commandContains and commandRegex",
        ),
        (json!({"stdout": "x"}), "exactly one of"),
        (
            json!({"command": "a", "commandContains": "b"}),
            "exactly one of",
        ),
        (
            json!({"command": "a", "commandRegex": "b"}),
            "exactly one of",
        ),
        (json!({"commandRegex": "("}), "commandRegex"),
        (
            json!({"command": "a", "exitCode": 256}),
            "exitCode must be 0 to 255",
        ),
        (
            json!({"command": "a", "exitCode": -1}),
            "exitCode must be 0 to 255",
        ),
        (
            json!({"command": "a", "times": 0}),
            "times must be at least 1",
        ),
        (
            json!({"command": "a", "delayMs": 600_001}),
            "delayMs must be at most 600000",
        ),
        (
            json!({"command": "a", "writes": [{"path": "/etc/passwd", "content": ""}]}),
            "/etc/passwd",
        ),
        (
            json!({"command": "a", "writes": [{"path": "mnt/x", "content": ""}]}),
            "mnt/x",
        ),
        (json!({"command": "a", "deletes": ["/mnt"]}), "/mnt"),
        (
            json!({"command": "a", "id": ""}),
            "id must be 1 to 100 characters",
        ),
        (
            json!({"command": "a", "id": "x".repeat(101)}),
            "id must be 1 to 100 characters",
        ),
        (json!({"command": "a", "id": "taken"}), "taken"),
        (json!({"command": "a", "stdot": "typo"}), "stdot"),
        (json!({"command": "a", "exitCode": "1"}), "exitCode"),
        (
            json!({"command": "a", "writes": [{"path": "/mnt/x"}]}),
            "content",
        ),
        (json!({"command": 5}), "command"),
    ] {
        let (status, body) = server
            .call("POST", "/_mock/exec-rules", None, Some(json!([ok, bad])))
            .await;
        assert_error(status, &body, 400, "rule 1");
        let msg = body["error"].as_str().unwrap();
        assert!(msg.contains(needle), "{bad}: {msg:?} lacks {needle:?}");
        // Alone, it is rule 0.
        let (status, body) = server
            .call("POST", "/_mock/exec-rules", None, Some(bad.clone()))
            .await;
        assert_error(status, &body, 400, "rule 0");
    }
    // Two new rules with one id.
    let (status, body) = server
        .call(
            "POST",
            "/_mock/exec-rules",
            None,
            Some(json!([{"id": "twin", "command": "a"}, {"id": "twin", "command": "b"}])),
        )
        .await;
    assert_error(status, &body, 400, "rule 1");
    // Not a rule at all.
    for body in [&b"[1]"[..], b"5", b"\"rule\"", b"{", b""] {
        let (status, _, reply) = server
            .raw("POST", "/_mock/exec-rules", &[], body.to_vec())
            .await;
        assert_eq!(
            status,
            400,
            "{:?} gave {reply}",
            String::from_utf8_lossy(body)
        );
    }
    // All or nothing: only the first rule is there.
    let rules = list_rules(&server).await;
    assert_eq!(rules.len(), 1, "{rules:?}");
    assert_eq!(rules[0]["id"], "taken");
}

#[tokio::test]
async fn admin_exec_rules_answer_405_for_other_methods() {
    let server = server("admin-methods").await;
    let (status, body) = server.call("PUT", "/_mock/exec-rules", None, None).await;
    assert_error(status, &body, 405, "");
    let id = add_rules(&server, json!({"command": "a"})).await.remove(0);
    let (status, body) = server
        .call("GET", &format!("/_mock/exec-rules/{id}"), None, None)
        .await;
    assert_error(status, &body, 405, "");
}

#[tokio::test]
async fn fixture_exec_rules_load_and_come_back_on_reset() {
    let server = TestServer::with_fixture(
        "exec-fixture-rules",
        &fixture_with(json!({"execRules": [
            {"id": "boot", "command": "cat /mnt/archil/a/VERSION", "times": 1, "stdout": "1.2.3\n",
             "writes": [{"path": "/mnt/archil/a/booted", "content": "yes"}]},
            {"commandContains": "npm", "disk": B, "exitCode": 1, "stderr": "npm ERR!\n"}
        ]})),
    )
    .await;
    let rules = list_rules(&server).await;
    assert_eq!(rules.len(), 2, "{rules:?}");
    assert_eq!(rules[0]["id"], "boot");
    assert_eq!(rules[0]["times"], 1);

    let data = exec_multi(&server, json!({"a": A}), "cat /mnt/archil/a/VERSION").await;
    assert_eq!(data["stdout"], "1.2.3\n");
    assert_file(&server, A, "booted", "yes").await;
    assert_no_rule(
        &exec_multi(&server, json!({"a": A}), "cat /mnt/archil/a/VERSION").await,
        "cat /mnt/archil/a/VERSION",
    );
    let data = exec_disk(&server, B, "npm test").await;
    assert_eq!(
        (data["exitCode"].clone(), data["stderr"].clone()),
        (json!(1), json!("npm ERR!\n"))
    );
    // An admin rule, a cleared list: reset brings back the fixture's rules only.
    server.call("DELETE", "/_mock/exec-rules", None, None).await;
    add_rules(&server, json!({"id": "adhoc", "command": "adhoc"})).await;

    let (status, body) = server.call("POST", "/_mock/reset", None, None).await;
    assert_eq!(status, 200, "{body}");
    let rules = list_rules(&server).await;
    let ids: Vec<&Value> = rules.iter().map(|r| &r["id"]).collect();
    assert_eq!(rules.len(), 2, "{rules:?}");
    assert_eq!(ids[0], "boot");
    assert_eq!(rules[0]["times"], 1, "times restored");
    assert!(!rules.iter().any(|r| r["id"] == "adhoc"), "{rules:?}");
    // The rule answers again, and its write lands again on the reset disk.
    assert_no_file(&server, A, "booted").await;
    let data = exec_multi(&server, json!({"a": A}), "cat /mnt/archil/a/VERSION").await;
    assert_eq!(data["stdout"], "1.2.3\n");
    assert_file(&server, A, "booted", "yes").await;
}

#[tokio::test]
async fn an_invalid_fixture_exec_rule_stops_startup() {
    let path = write_fixture(
        "exec-fixture-bad",
        &fixture_with(json!({"execRules": [{"command": "a"}, {"command": "b", "exitCode": 300}]})),
    );
    let err = match App::new(Config {
        fixtures: vec![path],
        ..Config::default()
    }) {
        Ok(_) => panic!("a fixture with an invalid exec rule loaded"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("execRules"), "{err}");
    assert!(err.contains("rule 1"), "{err}");
    assert!(err.contains("exitCode must be 0 to 255"), "{err}");
}

#[tokio::test]
async fn admin_rule_requests_are_not_journaled_but_execs_are_with_their_command() {
    let server = server("journal").await;
    add_rules(
        &server,
        json!([{"command": "echo hi", "stdout": "hi\n"}, {"command": "hang", "timeout": true}]),
    )
    .await;
    server.call("DELETE", "/_mock/requests", None, None).await;
    exec_disk(&server, A, "echo hi").await;
    exec_multi(
        &server,
        json!({"logs": {"disk": B, "subdirectory": "app/logs"}}),
        "echo hi",
    )
    .await;
    let (status, _) = server
        .call(
            "POST",
            "/api/exec",
            Some(KEY),
            Some(json!({"command": "hang", "disks": {"a": A}})),
        )
        .await;
    assert_eq!(status, 504);
    list_rules(&server).await;

    let journal = server.journal().await;
    let summary: Vec<(String, String, Value)> = journal
        .iter()
        .map(|e| {
            (
                e["method"].as_str().unwrap().to_owned(),
                e["path"].as_str().unwrap().to_owned(),
                e["status"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("POST".to_owned(), exec_disk_path(A), json!(200)),
            ("POST".to_owned(), "/api/exec".to_owned(), json!(200)),
            ("POST".to_owned(), "/api/exec".to_owned(), json!(504)),
        ]
    );
    let body =
        |i: usize| -> Value { serde_json::from_str(journal[i]["body"].as_str().unwrap()).unwrap() };
    assert_eq!(body(0), json!({"command": "echo hi"}));
    assert_eq!(body(1)["command"], "echo hi");
    assert_eq!(body(1)["disks"]["logs"]["subdirectory"], "app/logs");
    assert_eq!(body(2)["command"], "hang");
    assert!(
        journal[0]["durationMs"].as_f64().is_some(),
        "{}",
        journal[0]
    );
}

// ---------------------------------------------------------------------------
// The Rust API

#[tokio::test]
async fn mock_server_exec_rules_add_list_remove_and_clear() {
    use archil_mock::exec::ExecRule;
    use archil_mock::fixture::FixtureDisk;
    use archil_mock::MockServer;

    let server = MockServer::builder()
        .disk(FixtureDisk {
            id: Some(A.into()),
            ..FixtureDisk::new("ci")
        })
        .start()
        .await;
    let rule: ExecRule = serde_json::from_value(json!({
        "command": "cd /mnt && make", "times": 2, "stdout": "made\n",
        "writes": [{"path": "/mnt/out/bin", "content": "ELF"}]
    }))
    .unwrap();
    let id = server.exec_rules().add(rule);
    assert!(id.starts_with("exec-"), "{id}");
    assert_eq!(server.exec_rules().list()[0].times, Some(2));

    let http = reqwest::Client::new();
    let reply: Value = http
        .post(format!("{}/api/disks/{A}/exec", server.uri()))
        .header("Authorization", server.api_key())
        .json(&json!({"command": "cd /mnt && make"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reply["data"]["stdout"], "made\n", "{reply}");
    assert_eq!(
        server.read_object(A, "out/bin").as_deref(),
        Some(&b"ELF"[..])
    );
    assert_eq!(server.exec_rules().list()[0].times, Some(1));

    // The admin API sees the same rules.
    let listed: Value = http
        .get(format!("{}/_mock/exec-rules", server.uri()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["data"]["rules"][0]["id"], id.as_str(), "{listed}");

    assert!(server.exec_rules().remove(&id));
    assert!(!server.exec_rules().remove(&id));
    let other: ExecRule = serde_json::from_value(json!({"commandContains": "x"})).unwrap();
    server.exec_rules().add(other.clone());
    server.exec_rules().add(other);
    assert_eq!(server.exec_rules().clear(), 2);
    assert!(server.exec_rules().list().is_empty());
}
