//! Black-box tests of the branch operations (`listBranches`, `getBranch`,
//! `createBranch`) over real HTTP against a server on port 0. No API makes
//! checkpoints, so every branch here starts from a fixture's checkpoint.

mod common;

use std::collections::HashSet;

use common::*;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const DISK: &str = "dsk-00000000000000a1";
const FIELDS: [&str; 6] = [
    "root_filesystem_id",
    "branch_name",
    "filesystem_id",
    "from_checkpoint_name",
    "from_checkpoint_filesystem_id",
    "created_at",
];

/// A disk with a root checkpoint `nightly`, a branch `experiment` from it,
/// and a checkpoint `exp-done` on that branch.
fn fixture() -> Value {
    json!({"accounts": [{"name": "default", "disks": [{
        "id": DISK,
        "name": "datasets",
        "checkpoints": [{"name": "nightly"}, {"name": "exp-done", "branch": "experiment"}],
        "branches": [{"branch_name": "experiment", "from_checkpoint_name": "nightly", "created_at": "2026-03-01T12:00:00Z"}]
    }]}]})
}

async fn server(name: &str) -> TestServer {
    TestServer::with_fixture(name, &fixture()).await
}

fn branches_path() -> String {
    format!("/api/disks/{DISK}/branches")
}

async fn list(server: &TestServer) -> Vec<Value> {
    let (status, body) = server.call("GET", &branches_path(), Some(KEY), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true);
    body["data"].as_array().expect("data is an array").clone()
}

async fn get(server: &TestServer, name: &str) -> (u16, Value) {
    server
        .call(
            "GET",
            &format!("{}/{name}", branches_path()),
            Some(KEY),
            None,
        )
        .await
}

async fn create(server: &TestServer, key: Option<&str>, body: Value) -> (u16, Value) {
    let mut headers = vec![("authorization", KEY), ("content-type", "application/json")];
    if let Some(key) = key {
        headers.push(("idempotency-key", key));
    }
    let (status, _, reply) = server
        .raw(
            "POST",
            &branches_path(),
            &headers,
            body.to_string().into_bytes(),
        )
        .await;
    (status, reply)
}

/// Creates a branch; asserts 201 and returns `data`.
async fn created(server: &TestServer, key: Option<&str>, body: Value) -> Value {
    let (status, reply) = create(server, key, body.clone()).await;
    assert_eq!(status, 201, "{body} gave {reply}");
    assert_eq!(reply["success"], true);
    reply["data"].clone()
}

/// Asserts a create is refused with `status` naming `needle`, and that the
/// branch list is unchanged.
async fn assert_create_refused(
    server: &TestServer,
    key: Option<&str>,
    body: Value,
    status: u16,
    needle: &str,
) {
    let before = list(server).await;
    let (got, reply) = create(server, key, body.clone()).await;
    assert_error(got, &reply, status, needle);
    assert_eq!(list(server).await, before, "{body} changed the branches");
}

fn assert_branch_shape(branch: &Value) {
    let keys: HashSet<&str> = branch
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, FIELDS.into_iter().collect(), "{branch}");
    assert_eq!(branch["root_filesystem_id"], DISK);
    let fs = branch["filesystem_id"].as_str().unwrap();
    assert!(fs.starts_with("fs-") && fs.len() == 19, "{fs}");
    OffsetDateTime::parse(branch["created_at"].as_str().unwrap(), &Rfc3339)
        .expect("created_at is RFC 3339");
}

#[tokio::test]
async fn a_fixture_branch_is_listed_and_got_with_the_six_snake_case_fields() {
    let server = server("branches-fixture").await;
    let listed = list(&server).await;
    assert_eq!(listed.len(), 1);
    let branch = &listed[0];
    assert_branch_shape(branch);
    assert_eq!(branch["branch_name"], "experiment");
    assert_eq!(branch["from_checkpoint_name"], "nightly");
    assert_eq!(branch["from_checkpoint_filesystem_id"], DISK);
    assert_eq!(
        OffsetDateTime::parse(branch["created_at"].as_str().unwrap(), &Rfc3339).unwrap(),
        OffsetDateTime::parse("2026-03-01T12:00:00Z", &Rfc3339).unwrap()
    );
    let (status, body) = get(&server, "experiment").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(&body["data"], branch);
}

#[tokio::test]
async fn a_disk_without_branches_lists_an_empty_array() {
    let server = TestServer::start().await;
    let id = server.create_disk_named(KEY, "d").await;
    let (status, body) = server
        .call("GET", &format!("/api/disks/{id}/branches"), Some(KEY), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"success": true, "data": []}));
    // And with no checkpoints, nothing can be branched.
    let (status, body) = server
        .call(
            "POST",
            &format!("/api/disks/{id}/branches"),
            Some(KEY),
            Some(json!({"branch_name": "b", "from_checkpoint_name": "nightly"})),
        )
        .await;
    assert_error(status, &body, 404, "checkpoint nightly not found");
}

#[tokio::test]
async fn create_from_a_root_checkpoint_is_201_and_then_listed_and_got() {
    let server = server("branches-create").await;
    let before = OffsetDateTime::now_utc() - time::Duration::seconds(1);
    let branch = created(
        &server,
        None,
        json!({"branch_name": "feature-1", "from_checkpoint_name": "nightly"}),
    )
    .await;
    assert_branch_shape(&branch);
    assert_eq!(branch["branch_name"], "feature-1");
    assert_eq!(branch["from_checkpoint_name"], "nightly");
    assert_eq!(branch["from_checkpoint_filesystem_id"], DISK);
    let at = OffsetDateTime::parse(branch["created_at"].as_str().unwrap(), &Rfc3339).unwrap();
    assert!(at >= before, "{at}");

    let listed = list(&server).await;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1], branch);
    let (status, body) = get(&server, "feature-1").await;
    assert_eq!(status, 200);
    assert_eq!(body["data"], branch);
    // The SDK percent-encodes the name; it is decoded once.
    let (status, body) = get(&server, "%66eature%2D1").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"], branch);
    // Every branch gets its own filesystem.
    let other = created(
        &server,
        None,
        json!({"branch_name": "feature-2", "from_checkpoint_name": "nightly", "from_branch": ""}),
    )
    .await;
    assert_ne!(other["filesystem_id"], branch["filesystem_id"]);
    assert_eq!(
        other["from_checkpoint_filesystem_id"], DISK,
        "\"\" is the root"
    );
}

#[tokio::test]
async fn create_from_a_checkpoint_on_a_branch_points_at_that_branchs_filesystem() {
    let server = server("branches-from-branch").await;
    let experiment = list(&server).await[0].clone();
    let branch = created(
        &server,
        None,
        json!({"branch_name": "follow-up", "from_checkpoint_name": "exp-done", "from_branch": "experiment"}),
    )
    .await;
    assert_branch_shape(&branch);
    assert_eq!(
        branch["from_checkpoint_filesystem_id"],
        experiment["filesystem_id"]
    );
    assert_eq!(branch["from_checkpoint_name"], "exp-done");
    // The checkpoint must be on the branch named, and the branch must exist.
    assert_create_refused(
        &server,
        None,
        json!({"branch_name": "x", "from_checkpoint_name": "exp-done"}),
        404,
        "checkpoint exp-done not found on the disk",
    )
    .await;
    assert_create_refused(
        &server,
        None,
        json!({"branch_name": "x", "from_checkpoint_name": "nightly", "from_branch": "experiment"}),
        404,
        "checkpoint nightly not found on branch experiment",
    )
    .await;
    assert_create_refused(
        &server,
        None,
        json!({"branch_name": "x", "from_checkpoint_name": "exp-done", "from_branch": "nope"}),
        404,
        "branch nope not found",
    )
    .await;
}

#[tokio::test]
async fn an_unknown_checkpoint_is_404() {
    let server = server("branches-unknown-checkpoint").await;
    for name in ["weekly", "Nightly", "nightly "] {
        assert_create_refused(
            &server,
            None,
            json!({"branch_name": "b", "from_checkpoint_name": name}),
            404,
            "not found",
        )
        .await;
    }
}

#[tokio::test]
async fn a_taken_branch_name_is_409() {
    let server = server("branches-duplicate").await;
    assert_create_refused(
        &server,
        None,
        json!({"branch_name": "experiment", "from_checkpoint_name": "nightly"}),
        409,
        "branch experiment already exists",
    )
    .await;
    created(
        &server,
        None,
        json!({"branch_name": "deep", "from_checkpoint_name": "exp-done", "from_branch": "experiment"}),
    )
    .await;
    // Names are unique across the disk, branches of branches included.
    assert_create_refused(
        &server,
        None,
        json!({"branch_name": "deep", "from_checkpoint_name": "nightly"}),
        409,
        "already exists",
    )
    .await;
    // A key the name was not created with does not make it a replay.
    assert_create_refused(
        &server,
        Some("fresh-key"),
        json!({"branch_name": "deep", "from_checkpoint_name": "exp-done", "from_branch": "experiment"}),
        409,
        "already exists",
    )
    .await;
}

#[tokio::test]
async fn the_same_idempotency_key_and_body_again_is_201_with_the_same_branch() {
    let server = server("branches-idempotent").await;
    let key = "6f1f9f0e-1c1e-4c8f-9a55-0a3c2b1d7e01";
    let body = json!({"branch_name": "retry", "from_checkpoint_name": "nightly"});
    let first = created(&server, Some(key), body.clone()).await;
    for _ in 0..3 {
        let again = created(&server, Some(key), body.clone()).await;
        assert_eq!(again, first);
    }
    assert_eq!(list(&server).await.len(), 2);
}

#[tokio::test]
async fn the_same_idempotency_key_with_another_body_is_409() {
    let server = server("branches-idempotent-conflict").await;
    let key = "6f1f9f0e-1c1e-4c8f-9a55-0a3c2b1d7e02";
    created(
        &server,
        Some(key),
        json!({"branch_name": "retry", "from_checkpoint_name": "nightly"}),
    )
    .await;
    // Another name under the key.
    assert_create_refused(
        &server,
        Some(key),
        json!({"branch_name": "other", "from_checkpoint_name": "nightly"}),
        409,
        "Idempotency-Key",
    )
    .await;
    // The same name under the key, from another checkpoint.
    assert_create_refused(
        &server,
        Some(key),
        json!({"branch_name": "retry", "from_checkpoint_name": "exp-done", "from_branch": "experiment"}),
        409,
        "already exists",
    )
    .await;
    // The same name without the key.
    assert_create_refused(
        &server,
        None,
        json!({"branch_name": "retry", "from_checkpoint_name": "nightly"}),
        409,
        "already exists",
    )
    .await;
}

#[tokio::test]
async fn create_rejects_a_bad_branch_name() {
    let server = server("branches-bad-name").await;
    for (name, needle) in [
        (
            json!(""),
            "branch_name must be between 1 and 100 characters",
        ),
        (
            json!("n".repeat(101)),
            "branch_name must be between 1 and 100 characters",
        ),
        (json!("a b"), "branch_name may contain only"),
        (json!("a/b"), "branch_name may contain only"),
        (json!("é"), "branch_name may contain only"),
        (json!(5), "branch_name must be a string"),
        (json!(null), "branch_name must be a string"),
    ] {
        assert_create_refused(
            &server,
            None,
            json!({"branch_name": name, "from_checkpoint_name": "nightly"}),
            400,
            needle,
        )
        .await;
    }
    assert_create_refused(
        &server,
        None,
        json!({"from_checkpoint_name": "nightly"}),
        400,
        "branch_name is required",
    )
    .await;
    let name = "n".repeat(100);
    let branch = created(
        &server,
        None,
        json!({"branch_name": name, "from_checkpoint_name": "nightly"}),
    )
    .await;
    assert_eq!(branch["branch_name"], name);
}

#[tokio::test]
async fn create_requires_a_checkpoint_name_and_string_fields() {
    let server = server("branches-bad-fields").await;
    for (body, needle) in [
        (
            json!({"branch_name": "b"}),
            "from_checkpoint_name is required",
        ),
        (
            json!({"branch_name": "b", "from_checkpoint_name": ""}),
            "from_checkpoint_name must not be empty",
        ),
        (
            json!({"branch_name": "b", "from_checkpoint_name": 1}),
            "from_checkpoint_name must be a string",
        ),
        (
            json!({"branch_name": "b", "from_checkpoint_name": "nightly", "from_branch": 1}),
            "from_branch must be a string",
        ),
        // camelCase is not this API's spelling.
        (
            json!({"branchName": "b", "fromCheckpointName": "nightly"}),
            "branch_name is required",
        ),
    ] {
        assert_create_refused(&server, None, body, 400, needle).await;
    }
    let (status, _, reply) = server
        .raw(
            "POST",
            &branches_path(),
            &[("authorization", KEY)],
            b"[]".to_vec(),
        )
        .await;
    assert_error(status, &reply, 400, "request body");
}

#[tokio::test]
async fn get_of_an_unknown_branch_is_404_and_of_a_bad_name_400() {
    let server = server("branches-get").await;
    for name in ["nope", "Experiment", "experiment2"] {
        let (status, body) = get(&server, name).await;
        assert_error(status, &body, 404, "not found");
    }
    for name in ["a%20b", "a%2Fb", "%C3%A9", &"n".repeat(101)] {
        let (status, body) = get(&server, name).await;
        assert_error(status, &body, 400, "branch name");
    }
}
