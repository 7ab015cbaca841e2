//! Black-box tests of `createDisk`, `getDisk` and `deleteDisk` over real
//! HTTP against a server on port 0: each create rule at its boundary, the
//! create reply, idempotent create, the delete cascade and malformed ids.
//! Listing and accounts are in `disk_listing.rs`; readiness, regions,
//! state, reset and faults in `disk_server.rs`; users, settings and
//! branches in their own files.

mod common;

use std::collections::HashSet;

use common::*;
use serde_json::{json, Value};

/// Posts a create; asserts a 400 envelope naming `needle` and that the disk
/// list is exactly what it was before.
async fn assert_create_rejected(server: &TestServer, body: Value, needle: &str) {
    let before = server.list_all_disks(KEY, 100).await;
    let (status, reply) = server
        .call("POST", "/api/disks", Some(KEY), Some(body.clone()))
        .await;
    assert_error(status, &reply, 400, needle);
    assert_eq!(reply["code"], "validation_error", "{reply}");
    assert!(reply.get("data").is_none(), "{reply}");
    assert_eq!(
        server.list_all_disks(KEY, 100).await,
        before,
        "a rejected create of {body} changed the disks"
    );
}

/// Creates a disk with `body`; asserts 201, that it is readable and listed,
/// and returns the GET view.
async fn assert_create_accepted(server: &TestServer, body: Value) -> Value {
    let created = server.create_disk(KEY, body.clone()).await;
    let id = created["diskId"].as_str().unwrap();
    let disk = server.disk(KEY, id).await;
    assert_eq!(disk["name"], body["name"], "{disk}");
    let listed = server.list_all_disks(KEY, 100).await;
    assert_eq!(
        listed.iter().filter(|d| d["id"] == id).count(),
        1,
        "{id} not listed once"
    );
    disk
}

/// Every null anywhere in `value`, by JSON path (the generated client
/// crashes on null where it expects an optional value).
fn nulls(value: &Value, at: &str, out: &mut Vec<String>) {
    match value {
        Value::Null => out.push(at.to_owned()),
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                nulls(v, &format!("{at}[{i}]"), out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                nulls(v, &format!("{at}.{k}"), out);
            }
        }
        _ => {}
    }
}

fn assert_no_nulls(value: &Value) {
    let mut found = Vec::new();
    nulls(value, "$", &mut found);
    assert!(found.is_empty(), "nulls at {found:?} in {value}");
}

fn required_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "s3" => &["bucketName"],
        "gcs" => &["bucketName", "accessKeyId", "secretAccessKey"],
        "r2" | "s3-compatible" => &[
            "bucketName",
            "bucketEndpoint",
            "accessKeyId",
            "secretAccessKey",
        ],
        "azure-blob" => &["containerName", "tenantId", "clientId", "clientSecret"],
        other => panic!("no such mount type {other}"),
    }
}

// ---------------------------------------------------------------------------
// Create: name

#[tokio::test]
async fn create_accepts_a_name_of_100_characters() {
    let server = TestServer::start().await;
    let name = "n".repeat(100);
    let disk = assert_create_accepted(&server, json!({ "name": name })).await;
    assert_eq!(disk["name"], name);
}

#[tokio::test]
async fn create_accepts_a_one_character_name_and_every_allowed_character() {
    let server = TestServer::start().await;
    assert_create_accepted(&server, json!({"name": "x"})).await;
    assert_create_accepted(&server, json!({"name": "ABCXYZ-abcxyz_0123456789"})).await;
}

#[tokio::test]
async fn create_rejects_a_name_of_101_characters() {
    let server = TestServer::start().await;
    assert_create_rejected(
        &server,
        json!({"name": "n".repeat(101)}),
        "name must be between 1 and 100 characters",
    )
    .await;
}

#[tokio::test]
async fn create_rejects_an_empty_name() {
    let server = TestServer::start().await;
    assert_create_rejected(
        &server,
        json!({"name": ""}),
        "name must be between 1 and 100 characters",
    )
    .await;
}

#[tokio::test]
async fn create_rejects_a_missing_name() {
    let server = TestServer::start().await;
    assert_create_rejected(&server, json!({}), "name is required").await;
}

#[tokio::test]
async fn create_rejects_a_null_name() {
    let server = TestServer::start().await;
    assert_create_rejected(
        &server,
        json!({"name": null}),
        "name must be a string, not null",
    )
    .await;
}

#[tokio::test]
async fn create_rejects_a_name_of_the_wrong_json_type() {
    let server = TestServer::start().await;
    for (name, kind) in [
        (json!(5), "number"),
        (json!(true), "boolean"),
        (json!(["a"]), "array"),
        (json!({"a": 1}), "object"),
    ] {
        assert_create_rejected(
            &server,
            json!({ "name": name }),
            &format!("name must be a string, not {kind}"),
        )
        .await;
    }
}

#[tokio::test]
async fn create_rejects_names_with_characters_outside_the_pattern() {
    let server = TestServer::start().await;
    for name in [
        "a b",
        "a.b",
        "a/b",
        "a+b",
        "a:b",
        "a\u{0}b",
        "a\nb",
        " a",
        "é",
        "日本",
        "a😀",
        "ｆｕｌｌ",
    ] {
        assert_create_rejected(
            &server,
            json!({ "name": name }),
            "may contain only letters, digits, '_' and '-'",
        )
        .await;
    }
}

#[tokio::test]
async fn create_names_the_pattern_not_the_length_for_a_short_non_ascii_name() {
    // 60 characters but 120 UTF-8 bytes: the length is fine, the characters are not.
    let server = TestServer::start().await;
    assert_create_rejected(
        &server,
        json!({"name": "é".repeat(60)}),
        "may contain only letters, digits, '_' and '-'",
    )
    .await;
}

#[tokio::test]
async fn create_rejects_a_body_that_is_not_a_json_object() {
    let server = TestServer::start().await;
    for body in [&b"[]"[..], b"\"disk\"", b"null", b"{", b""] {
        let (status, _, reply) = server
            .raw(
                "POST",
                "/api/disks",
                &[("authorization", KEY), ("content-type", "application/json")],
                body.to_vec(),
            )
            .await;
        assert_error(status, &reply, 400, "request body");
    }
    assert!(server.list_all_disks(KEY, 100).await.is_empty());
}

// ---------------------------------------------------------------------------
// Create: mounts

#[tokio::test]
async fn create_accepts_each_mount_type_with_its_required_fields() {
    let server = TestServer::start().await;
    for (i, mount) in full_mounts().into_iter().enumerate() {
        let kind = mount["type"].as_str().unwrap().to_owned();
        let disk =
            assert_create_accepted(&server, json!({"name": format!("m{i}"), "mounts": [mount]}))
                .await;
        let shown = &disk["mounts"][0];
        assert_eq!(disk["mounts"].as_array().unwrap().len(), 1, "{disk}");
        assert_eq!(shown["type"], kind, "{disk}");
        assert!(
            shown["id"].as_str().is_some_and(|s| !s.is_empty()),
            "{disk}"
        );
        let bucket = ["b-s3", "b-gcs", "b-r2", "b-s3c", "c-az"][i];
        assert_eq!(shown["name"], bucket, "{disk}");
        assert_eq!(shown["config"]["bucketName"], bucket, "{disk}");
        assert_eq!(shown["accessMode"], "rw");
        assert_eq!(shown["connectionStatus"], "connected");
        // A bucket of one's own: no checkpoints.
        assert_eq!(disk["capabilities"], json!([]), "{disk}");
        assert_no_nulls(&disk);
    }
    // The s3 mount without keys uses IAM; the others used keys or OAuth.
    let all = server.list_all_disks(KEY, 100).await;
    let auth: Vec<&Value> = all
        .iter()
        .map(|d| &d["mounts"][0]["authorizationType"])
        .collect();
    assert_eq!(
        auth,
        [
            &json!("iam"),
            &json!("accessKeys"),
            &json!("accessKeys"),
            &json!("accessKeys"),
            &json!("oauth")
        ]
    );
}

#[tokio::test]
async fn create_rejects_each_mount_type_without_each_required_field() {
    let server = TestServer::start().await;
    for mount in full_mounts() {
        let kind = mount["type"].as_str().unwrap().to_owned();
        for field in required_fields(&kind) {
            let mut partial = mount.clone();
            partial.as_object_mut().unwrap().remove(*field);
            assert_create_rejected(
                &server,
                json!({"name": "m", "mounts": [partial]}),
                &format!("mounts[0].{field} is required for a {kind} mount"),
            )
            .await;
        }
    }
}

#[tokio::test]
async fn create_rejects_an_empty_required_mount_string() {
    let server = TestServer::start().await;
    for mount in full_mounts() {
        let kind = mount["type"].as_str().unwrap().to_owned();
        for field in required_fields(&kind) {
            let mut partial = mount.clone();
            partial[*field] = json!("");
            assert_create_rejected(
                &server,
                json!({"name": "m", "mounts": [partial]}),
                &format!("mounts[0].{field} must not be empty"),
            )
            .await;
        }
    }
}

#[tokio::test]
async fn create_rejects_a_required_mount_field_of_the_wrong_json_type() {
    let server = TestServer::start().await;
    for bad in [json!(5), json!(null), json!(["b"])] {
        assert_create_rejected(
            &server,
            json!({"name": "m", "mounts": [{"type": "s3", "bucketName": bad}]}),
            "mounts[0].bucketName must be a string",
        )
        .await;
    }
}

#[tokio::test]
async fn create_rejects_an_unknown_or_missing_mount_type() {
    let server = TestServer::start().await;
    for kind in ["S3", "ftp", "", "azure"] {
        assert_create_rejected(
            &server,
            json!({"name": "m", "mounts": [{"type": kind, "bucketName": "b"}]}),
            "mounts[0].type must be one of s3, gcs, r2, s3-compatible, azure-blob",
        )
        .await;
    }
    assert_create_rejected(
        &server,
        json!({"name": "m", "mounts": [{"bucketName": "b"}]}),
        "mounts[0].type is required",
    )
    .await;
    assert_create_rejected(
        &server,
        json!({"name": "m", "mounts": [{"type": 3, "bucketName": "b"}]}),
        "mounts[0].type must be a string",
    )
    .await;
}

#[tokio::test]
async fn create_rejects_a_mount_that_is_not_an_object() {
    let server = TestServer::start().await;
    for mount in [json!("s3"), json!(null), json!([]), json!(1)] {
        assert_create_rejected(
            &server,
            json!({"name": "m", "mounts": [mount]}),
            "mounts[0] must be an object",
        )
        .await;
    }
    assert_create_rejected(
        &server,
        json!({"name": "m", "mounts": {"type": "s3", "bucketName": "b"}}),
        "mounts must be an array",
    )
    .await;
}

#[tokio::test]
async fn create_rejects_two_mounts_and_accepts_none() {
    let server = TestServer::start().await;
    let one = json!({"type": "s3", "bucketName": "b"});
    assert_create_rejected(
        &server,
        json!({"name": "m", "mounts": [one, one]}),
        "mounts may hold at most 1 entry, not 2",
    )
    .await;
    let disk = assert_create_accepted(&server, json!({"name": "m", "mounts": []})).await;
    assert_eq!(disk["mounts"], json!([]));
    assert_eq!(disk["capabilities"], json!(["checkpoints"]));
}

#[tokio::test]
async fn mount_secrets_appear_in_no_reply_state_or_journal() {
    let server = TestServer::start().await;
    let secrets = [
        "AKIAS3SECRETKEYID0001",
        "s3-SECRET-access-key-0002",
        "s3-SECRET-session-token-0003",
        "GCSSECRETKEYID0004",
        "gcs-SECRET-access-key-0005",
        "R2SECRETKEYID0006",
        "r2-SECRET-access-key-0007",
        "S3CSECRETKEYID0008",
        "s3c-SECRET-access-key-0009",
        "azure-SECRET-client-secret-0010",
    ];
    let mounts = [
        json!({"type": "s3", "bucketName": "b1", "accessKeyId": secrets[0], "secretAccessKey": secrets[1], "sessionToken": secrets[2]}),
        json!({"type": "gcs", "bucketName": "b2", "accessKeyId": secrets[3], "secretAccessKey": secrets[4]}),
        json!({"type": "r2", "bucketName": "b3", "bucketEndpoint": "https://r2.example", "accessKeyId": secrets[5], "secretAccessKey": secrets[6]}),
        json!({"type": "s3-compatible", "bucketName": "b4", "bucketEndpoint": "https://minio.example", "accessKeyId": secrets[7], "secretAccessKey": secrets[8]}),
        json!({"type": "azure-blob", "containerName": "c5", "tenantId": "t", "clientId": "c", "clientSecret": secrets[9]}),
    ];
    let mut seen = Vec::new();
    for (i, mount) in mounts.iter().enumerate() {
        let body = json!({"name": format!("secret{i}"), "mounts": [mount]});
        let (status, reply) = server
            .call("POST", "/api/disks", Some(KEY), Some(body.clone()))
            .await;
        assert_eq!(status, 201, "{reply}");
        seen.push(("create reply", reply.to_string()));
        // The idempotent repeat answers too, and must not echo them either.
        let (status, again) = server
            .call("POST", "/api/disks", Some(KEY), Some(body))
            .await;
        assert_eq!(status, 200, "{again}");
        seen.push(("idempotent reply", again.to_string()));
        let id = reply["data"]["diskId"].as_str().unwrap();
        let (_, got) = server
            .call("GET", &format!("/api/disks/{id}"), Some(KEY), None)
            .await;
        assert_eq!(got["data"]["mounts"].as_array().unwrap().len(), 1);
        seen.push(("GET", got.to_string()));
    }
    let (_, list) = server.call("GET", "/api/disks", Some(KEY), None).await;
    assert_eq!(list["data"].as_array().unwrap().len(), 5);
    seen.push(("list", list.to_string()));
    let state = server.state().await;
    assert_eq!(state["accounts"][0]["disks"].as_array().unwrap().len(), 5);
    seen.push(("state", state.to_string()));
    let journal = server.journal().await;
    assert!(
        journal
            .iter()
            .filter(|e| e["method"] == "POST" && e["path"] == "/api/disks")
            .all(|e| e["body"]
                .as_str()
                .is_some_and(|b| b.contains("bucketName") || b.contains("containerName"))),
        "the journal keeps the create bodies: {journal:?}"
    );
    seen.push(("journal", Value::Array(journal).to_string()));
    for (place, text) in &seen {
        for secret in secrets {
            // Not the secret, and not most of it either.
            assert!(
                !text.contains(&secret[..secret.len() - 4]),
                "{secret} in the {place}: {text}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Create: rootAttrs

#[tokio::test]
async fn create_fills_root_attr_defaults_0_0_493() {
    let server = TestServer::start().await;
    let disk = assert_create_accepted(&server, json!({"name": "plain"})).await;
    assert_eq!(disk["rootAttrs"], json!({"uid": 0, "gid": 0, "mode": 493}));
    let disk = assert_create_accepted(
        &server,
        json!({"name": "partial", "rootAttrs": {"uid": 1000}}),
    )
    .await;
    assert_eq!(
        disk["rootAttrs"],
        json!({"uid": 1000, "gid": 0, "mode": 493})
    );
    let disk = assert_create_accepted(&server, json!({"name": "empty", "rootAttrs": {}})).await;
    assert_eq!(disk["rootAttrs"], json!({"uid": 0, "gid": 0, "mode": 493}));
}

#[tokio::test]
async fn create_accepts_uid_and_gid_4294967294_and_mode_511() {
    let server = TestServer::start().await;
    let disk = assert_create_accepted(
        &server,
        json!({"name": "top", "rootAttrs": {"uid": 4294967294u64, "gid": 4294967294u64, "mode": 511}}),
    )
    .await;
    assert_eq!(
        disk["rootAttrs"],
        json!({"uid": 4294967294u64, "gid": 4294967294u64, "mode": 511})
    );
    let disk = assert_create_accepted(
        &server,
        json!({"name": "bottom", "rootAttrs": {"uid": 0, "gid": 0, "mode": 0}}),
    )
    .await;
    assert_eq!(disk["rootAttrs"], json!({"uid": 0, "gid": 0, "mode": 0}));
}

#[tokio::test]
async fn create_rejects_uid_or_gid_4294967295_and_minus_1() {
    let server = TestServer::start().await;
    for field in ["uid", "gid"] {
        for bad in [
            json!(4294967295u64),
            json!(-1),
            json!(i64::MAX),
            json!(u64::MAX),
        ] {
            assert_create_rejected(
                &server,
                json!({"name": "d", "rootAttrs": { field: bad }}),
                &format!("rootAttrs.{field} must be between 0 and 4294967294"),
            )
            .await;
        }
    }
}

#[tokio::test]
async fn create_rejects_mode_512_and_minus_1() {
    let server = TestServer::start().await;
    for bad in [512, 0o4755, -1] {
        assert_create_rejected(
            &server,
            json!({"name": "d", "rootAttrs": {"mode": bad}}),
            "rootAttrs.mode must be between 0 and 511",
        )
        .await;
    }
}

#[tokio::test]
async fn create_rejects_root_attrs_that_are_not_integers() {
    let server = TestServer::start().await;
    for field in ["uid", "gid", "mode"] {
        for bad in [json!(1.5), json!(1e3), json!("1"), json!(null), json!(true)] {
            assert_create_rejected(
                &server,
                json!({"name": "d", "rootAttrs": { field: bad }}),
                &format!("rootAttrs.{field} must be an integer"),
            )
            .await;
        }
    }
    for bad in [json!(null), json!([]), json!(493)] {
        assert_create_rejected(
            &server,
            json!({"name": "d", "rootAttrs": bad}),
            "rootAttrs must be an object",
        )
        .await;
    }
}

// ---------------------------------------------------------------------------
// Create: allowedIps

#[tokio::test]
async fn create_accepts_ipv4_ipv6_and_cidrs_up_to_their_family_width() {
    let server = TestServer::start().await;
    let ips = json!([
        "203.0.113.7",
        "2001:db8::1",
        "10.0.0.0/32",
        "0.0.0.0/0",
        "2001:db8::/128",
        "::/0"
    ]);
    let disk = assert_create_accepted(&server, json!({"name": "d", "allowedIps": ips})).await;
    assert_eq!(disk["allowedIps"], ips);
    let disk = assert_create_accepted(&server, json!({"name": "e", "allowedIps": []})).await;
    assert_eq!(disk["allowedIps"], json!([]));
}

#[tokio::test]
async fn create_rejects_bad_allowed_ips() {
    let server = TestServer::start().await;
    for bad in [
        "10.0.0.0/33",
        "2001:db8::/129",
        "garbage",
        "",
        "256.0.0.1",
        "10.0.0.1/",
        "10.0.0.1/-1",
        "10.0.0",
        " 10.0.0.1",
    ] {
        assert_create_rejected(
            &server,
            json!({"name": "d", "allowedIps": ["192.0.2.1", bad]}),
            "allowedIps[1] must be an IP address or CIDR block",
        )
        .await;
    }
    assert_create_rejected(
        &server,
        json!({"name": "d", "allowedIps": [5]}),
        "allowedIps[0] must be a string",
    )
    .await;
    assert_create_rejected(
        &server,
        json!({"name": "d", "allowedIps": "10.0.0.1"}),
        "allowedIps must be an array",
    )
    .await;
}

// ---------------------------------------------------------------------------
// Create: the reply, and idempotency

#[tokio::test]
async fn create_answers_201_with_a_dsk_id_and_a_default_token_user() {
    let server = TestServer::start().await;
    let (status, reply) = server
        .call(
            "POST",
            "/api/disks",
            Some(KEY),
            Some(json!({"name": "data"})),
        )
        .await;
    assert_eq!(status, 201, "{reply}");
    assert_eq!(reply["success"], true);
    assert!(reply.get("nextCursor").is_none(), "{reply}");
    let data = &reply["data"];
    let id = data["diskId"].as_str().unwrap();
    assert!(is_disk_id(id), "{id}");
    let users = data["authorizedUsers"].as_array().unwrap();
    assert_eq!(users.len(), 1, "{reply}");
    let user = &users[0];
    assert_eq!(user["type"], "token");
    let token = user["token"].as_str().unwrap();
    assert!(token.starts_with("dtk-"), "{token}");
    assert_eq!(token.len(), 44, "{token}");
    assert!(
        token[4..].bytes().all(|b| b.is_ascii_alphanumeric()),
        "{token}"
    );
    assert_eq!(user["tokenSuffix"], &token[40..]);
    let identifier = user["identifier"].as_str().unwrap();
    assert!(!identifier.is_empty());
    assert!(user.get("principal").is_none(), "{user}");
    assert_eq!(user["status"], "active");
    assert_no_nulls(&reply);

    // Readable at once; the token never again.
    let disk = server.disk(KEY, id).await;
    assert_eq!(disk["id"], id);
    assert_eq!(disk["name"], "data");
    assert_eq!(disk["organization"], "default");
    assert_eq!(disk["status"], "available");
    assert_eq!(disk["provider"], "aws");
    assert_eq!(disk["region"], "aws-us-east-1");
    assert_eq!(disk["sandboxDisk"], false);
    assert_eq!(disk["mounts"], json!([]));
    assert_eq!(disk["allowedIps"], json!([]));
    assert_eq!(disk["capabilities"], json!(["checkpoints"]));
    assert_eq!(disk["connectedClients"], json!([]));
    assert!(disk.get("lastAccessed").is_none(), "{disk}");
    assert!(disk["createdAt"].as_str().unwrap().ends_with('Z'));
    let shown = disk["authorizedUsers"].as_array().unwrap();
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0]["identifier"], identifier);
    assert_eq!(shown[0]["tokenSuffix"], &token[40..]);
    assert!(shown[0].get("token").is_none(), "{disk}");
    assert!(!disk.to_string().contains(token));
    assert_no_nulls(&disk);
}

#[tokio::test]
async fn every_create_gets_a_different_id_and_token() {
    let server = TestServer::start().await;
    let mut ids = HashSet::new();
    let mut tokens = HashSet::new();
    for i in 0..20 {
        let data = server
            .create_disk(KEY, json!({"name": format!("d{i}")}))
            .await;
        ids.insert(data["diskId"].as_str().unwrap().to_owned());
        tokens.insert(
            data["authorizedUsers"][0]["token"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!((ids.len(), tokens.len()), (20, 20));
}

#[tokio::test]
async fn empty_auth_methods_make_a_disk_without_users() {
    let server = TestServer::start().await;
    let data = server
        .create_disk(KEY, json!({"name": "nobody", "authMethods": []}))
        .await;
    assert_eq!(data["authorizedUsers"], json!([]));
    let disk = server.disk(KEY, data["diskId"].as_str().unwrap()).await;
    assert_eq!(disk["authorizedUsers"], json!([]));
}

#[tokio::test]
async fn auth_methods_replace_the_default_user() {
    let server = TestServer::start().await;
    let arn = "arn:aws:iam::123456789012:role/reader";
    let data = server
        .create_disk(
            KEY,
            json!({"name": "chosen", "authMethods": [
                {"type": "token", "nickname": "mine"},
                {"type": "awssts", "principal": arn},
            ]}),
        )
        .await;
    let users = data["authorizedUsers"].as_array().unwrap();
    assert_eq!(users.len(), 2, "{data}");
    assert_eq!(users[0]["nickname"], "mine");
    assert!(users[0]["token"].as_str().unwrap().starts_with("dtk-"));
    assert_eq!(users[1]["type"], "awssts");
    assert_eq!(users[1]["identifier"], arn);
    assert_eq!(users[1]["principal"], arn);
    assert!(users[1].get("token").is_none(), "{data}");
    let disk = server.disk(KEY, data["diskId"].as_str().unwrap()).await;
    let shown: Vec<&Value> = disk["authorizedUsers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| &u["identifier"])
        .collect();
    assert_eq!(shown, [&users[0]["identifier"], &users[1]["identifier"]]);
    assert!(disk["authorizedUsers"]
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u["nickname"] != "default"));
}

#[tokio::test]
async fn auth_methods_follow_the_add_user_rules() {
    let server = TestServer::start().await;
    assert_create_rejected(
        &server,
        json!({"name": "d", "authMethods": [{"type": "awssts", "principal": "role/x"}]}),
        "authMethods[0].principal must be an IAM ARN",
    )
    .await;
    assert_create_rejected(
        &server,
        json!({"name": "d", "authMethods": [{"type": "token"}]}),
        "authMethods[0].nickname is required",
    )
    .await;
    assert_create_rejected(
        &server,
        json!({"name": "d", "authMethods": ["token"]}),
        "authMethods[0] must be an object",
    )
    .await;
    assert_create_rejected(
        &server,
        json!({"name": "d", "authMethods": {"type": "token"}}),
        "authMethods must be an array",
    )
    .await;
}

#[tokio::test]
async fn the_same_configuration_again_is_200_with_the_same_id_and_no_tokens() {
    let server = TestServer::start().await;
    let body = json!({
        "name": "same",
        "mounts": [{"type": "gcs", "bucketName": "b", "accessKeyId": "k", "secretAccessKey": "s"}],
        "allowedIps": ["10.0.0.0/8"],
        "rootAttrs": {"uid": 1000, "gid": 1000, "mode": 448},
    });
    let first = server.create_disk(KEY, body.clone()).await;
    let before = server.disk(KEY, first["diskId"].as_str().unwrap()).await;
    for repeat in [
        body.clone(),
        // Another secret is the same configuration: secrets are not compared.
        json!({
            "name": "same",
            "mounts": [{"type": "gcs", "bucketName": "b", "accessKeyId": "k2", "secretAccessKey": "s2"}],
            "allowedIps": ["10.0.0.0/8"],
            "rootAttrs": {"uid": 1000, "gid": 1000, "mode": 448},
        }),
        // allowedIps and rootAttrs are compared only when given.
        json!({
            "name": "same",
            "mounts": [{"type": "gcs", "bucketName": "b", "accessKeyId": "k", "secretAccessKey": "s"}],
        }),
    ] {
        let (status, reply) = server
            .call("POST", "/api/disks", Some(KEY), Some(repeat.clone()))
            .await;
        assert_eq!(status, 200, "{repeat} gave {reply}");
        assert_eq!(reply["success"], true);
        assert_eq!(reply["data"]["diskId"], first["diskId"]);
        let users = reply["data"]["authorizedUsers"].as_array().unwrap();
        assert_eq!(users.len(), 1, "{reply}");
        assert_eq!(
            users[0]["identifier"],
            first["authorizedUsers"][0]["identifier"]
        );
        assert!(users[0].get("token").is_none(), "{reply}");
    }
    assert_eq!(
        server.disk(KEY, first["diskId"].as_str().unwrap()).await,
        before,
        "an idempotent create changed the disk"
    );
    assert_eq!(server.list_all_disks(KEY, 100).await.len(), 1);
}

#[tokio::test]
async fn the_same_name_with_another_configuration_is_409_and_changes_nothing() {
    let server = TestServer::start().await;
    let body = json!({
        "name": "taken",
        "mounts": [{"type": "s3", "bucketName": "b", "bucketPrefix": "p/"}],
        "allowedIps": ["10.0.0.0/8"],
        "rootAttrs": {"uid": 1000},
    });
    let first = server.create_disk(KEY, body).await;
    let id = first["diskId"].as_str().unwrap();
    let before = server.disk(KEY, id).await;
    let s3 = |bucket: &str, prefix: &str| json!({"type": "s3", "bucketName": bucket, "bucketPrefix": prefix});
    for other in [
        json!({"name": "taken"}),
        json!({"name": "taken", "mounts": []}),
        json!({"name": "taken", "mounts": [s3("other", "p/")]}),
        json!({"name": "taken", "mounts": [s3("b", "q/")]}),
        json!({"name": "taken", "mounts": [{"type": "s3", "bucketName": "b"}]}),
        json!({"name": "taken", "mounts": [{"type": "gcs", "bucketName": "b", "bucketPrefix": "p/", "accessKeyId": "k", "secretAccessKey": "s"}]}),
        json!({"name": "taken", "mounts": [s3("b", "p/")], "allowedIps": []}),
        json!({"name": "taken", "mounts": [s3("b", "p/")], "allowedIps": ["10.0.0.0/9"]}),
        json!({"name": "taken", "mounts": [s3("b", "p/")], "allowedIps": ["10.0.0.0/8", "10.0.0.1"]}),
        json!({"name": "taken", "mounts": [s3("b", "p/")], "rootAttrs": {"uid": 1001}}),
        json!({"name": "taken", "mounts": [s3("b", "p/")], "rootAttrs": {"uid": 1000, "mode": 448}}),
        json!({"name": "taken", "mounts": [s3("b", "p/")], "rootAttrs": {}}),
    ] {
        let (status, reply) = server
            .call("POST", "/api/disks", Some(KEY), Some(other.clone()))
            .await;
        assert_error(
            status,
            &reply,
            409,
            "already exists with a different configuration",
        );
        assert_eq!(reply["code"], "conflict");
    }
    assert_eq!(server.disk(KEY, id).await, before);
    assert_eq!(server.list_all_disks(KEY, 100).await.len(), 1);
}

#[tokio::test]
async fn the_same_name_in_another_account_is_a_new_disk() {
    let server = TestServer::with(two_accounts()).await;
    let alice = server
        .create_disk(ALICE_KEY, json!({"name": "shared"}))
        .await;
    let (status, reply) = server
        .call(
            "POST",
            "/api/disks",
            Some(BOB_KEY),
            Some(json!({"name": "shared", "allowedIps": ["10.0.0.1"]})),
        )
        .await;
    assert_eq!(status, 201, "{reply}");
    assert_ne!(reply["data"]["diskId"], alice["diskId"]);
    assert!(reply["data"]["authorizedUsers"][0]["token"].is_string());
    let bob_disk = server
        .disk(BOB_KEY, reply["data"]["diskId"].as_str().unwrap())
        .await;
    assert_eq!(bob_disk["organization"], "bob");
    let alice_disk = server
        .disk(ALICE_KEY, alice["diskId"].as_str().unwrap())
        .await;
    assert_eq!(alice_disk["organization"], "alice");
    assert_eq!(alice_disk["allowedIps"], json!([]));
}

// ---------------------------------------------------------------------------
// Delete

#[tokio::test]
async fn delete_answers_exactly_success_true_and_the_disk_is_gone() {
    let server = TestServer::start().await;
    let id = server.create_disk_named(KEY, "doomed").await;
    let keep = server.create_disk_named(KEY, "kept").await;
    let (status, headers, body) = server
        .raw(
            "DELETE",
            &format!("/api/disks/{id}"),
            &[("authorization", KEY)],
            Vec::new(),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"success": true}));
    assert_eq!(headers["content-type"], "application/json");
    for method in ["GET", "DELETE"] {
        let (status, body) = server
            .call(method, &format!("/api/disks/{id}"), Some(KEY), None)
            .await;
        assert_error(status, &body, 404, "not found");
    }
    assert_eq!(disk_ids(&server.list_all_disks(KEY, 100).await), [keep]);
}

#[tokio::test]
async fn delete_takes_users_branches_and_settings_with_it_and_frees_the_name() {
    let server = TestServer::with_fixture("cascade", &seeded_disk_fixture()).await;
    let old = "dsk-00000000000000a1";
    let (status, body) = server
        .call("DELETE", &format!("/api/disks/{old}"), Some(KEY), None)
        .await;
    assert_eq!((status, body), (200, json!({"success": true})));

    let sub_resources: Vec<(&str, String, Option<Value>)> = vec![
        (
            "POST",
            format!("/api/disks/{old}/users"),
            Some(json!({"type": "token", "nickname": "x"})),
        ),
        (
            "DELETE",
            format!("/api/disks/{old}/users/token?identifier=ci-user"),
            None,
        ),
        ("GET", format!("/api/disks/{old}/allowed-ips"), None),
        (
            "PUT",
            format!("/api/disks/{old}/allowed-ips"),
            Some(json!({"allowedIps": []})),
        ),
        ("GET", format!("/api/disks/{old}/delegations"), None),
        (
            "POST",
            format!("/api/disks/{old}/revoke-delegation"),
            Some(json!({"clientId": "42", "inodeId": 7})),
        ),
        ("GET", format!("/api/disks/{old}/branches"), None),
        ("GET", format!("/api/disks/{old}/branches/experiment"), None),
        (
            "POST",
            format!("/api/disks/{old}/branches"),
            Some(json!({"branch_name": "b", "from_checkpoint_name": "nightly"})),
        ),
    ];
    for (method, path, body) in &sub_resources {
        let (status, reply) = server.call(method, path, Some(KEY), body.clone()).await;
        assert_error(status, &reply, 404, "not found");
    }

    // The name is free: a new disk, with nothing of the old one.
    let (status, reply) = server
        .call(
            "POST",
            "/api/disks",
            Some(KEY),
            Some(json!({"name": "datasets"})),
        )
        .await;
    assert_eq!(status, 201, "{reply}");
    let new = reply["data"]["diskId"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    let disk = server.disk(KEY, &new).await;
    let users = disk["authorizedUsers"].as_array().unwrap();
    assert_eq!(users.len(), 1);
    assert_ne!(users[0]["identifier"], "ci-user");
    assert_eq!(disk["allowedIps"], json!([]));
    assert_eq!(disk["rootAttrs"], json!({"uid": 0, "gid": 0, "mode": 493}));
    let (_, branches) = server
        .call(
            "GET",
            &format!("/api/disks/{new}/branches"),
            Some(KEY),
            None,
        )
        .await;
    assert_eq!(branches["data"], json!([]));
    let (status, _) = server
        .call(
            "GET",
            &format!("/api/disks/{new}/branches/experiment"),
            Some(KEY),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (_, delegations) = server
        .call(
            "GET",
            &format!("/api/disks/{new}/delegations"),
            Some(KEY),
            None,
        )
        .await;
    assert_eq!(delegations["data"]["delegations"], json!([]));
    let (status, _) = server
        .call(
            "DELETE",
            &format!("/api/disks/{new}/users/token?identifier=ci-user"),
            Some(KEY),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = server
        .call(
            "POST",
            &format!("/api/disks/{new}/branches"),
            Some(KEY),
            Some(json!({"branch_name": "b", "from_checkpoint_name": "nightly"})),
        )
        .await;
    assert_eq!(status, 404, "the old disk's checkpoints are gone too");
    // And the old id stays gone.
    for (method, path, body) in &sub_resources {
        let (status, _) = server.call(method, path, Some(KEY), body.clone()).await;
        assert_eq!(status, 404, "{method} {path}");
    }
}

// ---------------------------------------------------------------------------
// Malformed and unknown ids

const MALFORMED_IDS: [&str; 7] = [
    "dsk-0123456789ABCDEF",
    "dsk-0123",
    "0123456789abcdef",
    "dsk-0123456789abcdeg",
    "dsk-0123456789abcdef0",
    "DSK-0123456789abcdef",
    "nope",
];

#[tokio::test]
async fn a_malformed_id_is_400_where_the_spec_lists_400() {
    let server = TestServer::start().await;
    server.create_disk_named(KEY, "d").await;
    for id in MALFORMED_IDS {
        for (method, path, body) in [
            ("GET", format!("/api/disks/{id}"), None),
            ("DELETE", format!("/api/disks/{id}"), None),
            (
                "POST",
                format!("/api/disks/{id}/users"),
                Some(json!({"type": "token", "nickname": "x"})),
            ),
            (
                "DELETE",
                format!("/api/disks/{id}/users/token?identifier=x"),
                None,
            ),
            (
                "PUT",
                format!("/api/disks/{id}/allowed-ips"),
                Some(json!({"allowedIps": []})),
            ),
            (
                "POST",
                format!("/api/disks/{id}/revoke-delegation"),
                Some(json!({"clientId": "1", "inodeId": 1})),
            ),
            ("GET", format!("/api/disks/{id}/branches"), None),
            ("GET", format!("/api/disks/{id}/branches/main"), None),
            (
                "POST",
                format!("/api/disks/{id}/branches"),
                Some(json!({"branch_name": "b", "from_checkpoint_name": "c"})),
            ),
        ] {
            let (status, reply) = server.call(method, &path, Some(KEY), body).await;
            assert_error(status, &reply, 400, "is malformed");
            assert_eq!(reply["code"], "validation_error", "{method} {path}");
        }
    }
}

#[tokio::test]
async fn a_malformed_id_is_404_where_the_spec_lists_no_400() {
    let server = TestServer::start().await;
    for id in MALFORMED_IDS {
        for path in [
            format!("/api/disks/{id}/allowed-ips"),
            format!("/api/disks/{id}/delegations"),
        ] {
            let (status, reply) = server.call("GET", &path, Some(KEY), None).await;
            assert_error(status, &reply, 404, "not found");
        }
    }
}

#[tokio::test]
async fn a_well_formed_unknown_id_is_404() {
    let server = TestServer::start().await;
    let id = "dsk-0123456789abcdef";
    for (method, path, body) in [
        ("GET", format!("/api/disks/{id}"), None),
        ("DELETE", format!("/api/disks/{id}"), None),
        (
            "POST",
            format!("/api/disks/{id}/users"),
            Some(json!({"type": "token", "nickname": "x"})),
        ),
        (
            "DELETE",
            format!("/api/disks/{id}/users/token?identifier=x"),
            None,
        ),
        ("GET", format!("/api/disks/{id}/allowed-ips"), None),
        (
            "PUT",
            format!("/api/disks/{id}/allowed-ips"),
            Some(json!({"allowedIps": []})),
        ),
        ("GET", format!("/api/disks/{id}/delegations"), None),
        ("GET", format!("/api/disks/{id}/branches"), None),
    ] {
        let (status, reply) = server.call(method, &path, Some(KEY), body).await;
        assert_error(status, &reply, 404, "disk dsk-0123456789abcdef not found");
    }
}

#[tokio::test]
async fn disk_paths_with_wrong_methods_are_405_and_near_misses_404() {
    let server = TestServer::start().await;
    let id = server.create_disk_named(KEY, "d").await;
    for (method, path, allow) in [
        ("PUT", "/api/disks".to_owned(), "GET, POST"),
        ("PATCH", format!("/api/disks/{id}"), "GET, DELETE"),
        ("GET", format!("/api/disks/{id}/users"), "POST"),
        ("DELETE", format!("/api/disks/{id}/allowed-ips"), "GET, PUT"),
        ("POST", format!("/api/disks/{id}/delegations"), "GET"),
        ("GET", format!("/api/disks/{id}/revoke-delegation"), "POST"),
        ("DELETE", format!("/api/disks/{id}/branches/x"), "GET"),
    ] {
        let (status, headers, body) = server
            .raw(method, &path, &[("authorization", KEY)], Vec::new())
            .await;
        assert_eq!(status, 405, "{method} {path}: {body}");
        assert_eq!(headers["allow"], allow, "{method} {path}");
    }
    for path in [
        format!("/api/disks/{id}/"),
        format!("/api/disks/{id}/nope"),
        format!("/api/disks/{id}/users/token/extra"),
        "/api/disk".to_owned(),
    ] {
        let (status, body) = server.call("GET", &path, Some(KEY), None).await;
        assert_error(status, &body, 404, "no route");
    }
}
