//! Black-box tests of the Disk Users operations (`addDiskUser`,
//! `removeDiskUser`) over real HTTP against a server on port 0: token and
//! AWS STS users, the deprecated client-supplied token, expiry and status,
//! removal, and what the journal keeps of disk tokens.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const ARN: &str = "arn:aws:iam::123456789012:role/reader";
const SUPPLIED: &str = "dtk-client-supplied-secret-token-0000-wxyz";

fn users_path(id: &str) -> String {
    format!("/api/disks/{id}/users")
}

fn rfc3339(text: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(text.as_str().expect("a timestamp string"), &Rfc3339)
        .unwrap_or_else(|e| panic!("{text} is not RFC 3339: {e}"))
}

/// A disk with no users yet.
async fn bare_disk(server: &TestServer) -> String {
    let data = server
        .create_disk(KEY, json!({"name": "d", "authMethods": []}))
        .await;
    data["diskId"].as_str().unwrap().to_owned()
}

/// The disk's users as GET shows them.
async fn users(server: &TestServer, id: &str) -> Vec<Value> {
    server.disk(KEY, id).await["authorizedUsers"]
        .as_array()
        .unwrap()
        .clone()
}

/// Adds a user; asserts 201 and returns `data`.
async fn add(server: &TestServer, id: &str, body: Value) -> Value {
    let (status, reply) = server
        .call("POST", &users_path(id), Some(KEY), Some(body.clone()))
        .await;
    assert_eq!(status, 201, "{body} gave {reply}");
    assert_eq!(reply["success"], true);
    reply["data"].clone()
}

/// Posts a user; asserts 400 naming `needle` and that the users are unchanged.
async fn assert_add_rejected(server: &TestServer, id: &str, body: Value, needle: &str) {
    let before = users(server, id).await;
    let (status, reply) = server
        .call("POST", &users_path(id), Some(KEY), Some(body.clone()))
        .await;
    assert_error(status, &reply, 400, needle);
    assert_eq!(reply["code"], "validation_error");
    assert_eq!(users(server, id).await, before, "{body} changed the users");
}

async fn remove(server: &TestServer, id: &str, query: &str) -> (u16, Value) {
    server
        .call(
            "DELETE",
            &format!("/api/disks/{id}/users/{query}"),
            Some(KEY),
            None,
        )
        .await
}

// ---------------------------------------------------------------------------
// Token users

#[tokio::test]
async fn a_token_user_is_201_with_its_token_shown_once() {
    let server = TestServer::start().await;
    let id = bare_disk(&server).await;
    let user = add(&server, &id, json!({"type": "token", "nickname": "ci"})).await;
    let token = user["token"].as_str().unwrap();
    assert!(token.starts_with("dtk-") && token.len() == 44, "{token}");
    assert_eq!(user["type"], "token");
    assert_eq!(user["nickname"], "ci");
    assert_eq!(user["tokenSuffix"], &token[40..]);
    assert!(user["identifier"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(user["status"], "active");
    assert_eq!(user["oneUse"], false);
    assert_eq!(user["readOnly"], false);
    assert!(user.get("principal").is_none(), "{user}");
    assert!(user.get("expiresAt").is_none(), "{user}");
    assert!(user.get("consumedAt").is_none(), "{user}");
    rfc3339(&user["createdAt"]);

    let shown = users(&server, &id).await;
    assert_eq!(shown.len(), 1);
    let mut expected = user.clone();
    expected.as_object_mut().unwrap().remove("token");
    assert_eq!(shown[0], expected, "GET shows the user without its token");
    let (_, list) = server.call("GET", "/api/disks", Some(KEY), None).await;
    assert!(!list.to_string().contains(token));
    let state = server.state().await;
    assert!(!state.to_string().contains(token));
}

#[tokio::test]
async fn each_token_user_gets_its_own_token_and_identifier() {
    let server = TestServer::start().await;
    let id = bare_disk(&server).await;
    let mut tokens = HashSet::new();
    let mut identifiers = HashSet::new();
    for _ in 0..10 {
        let user = add(&server, &id, json!({"type": "token", "nickname": "same"})).await;
        tokens.insert(user["token"].as_str().unwrap().to_owned());
        identifiers.insert(user["identifier"].as_str().unwrap().to_owned());
    }
    assert_eq!((tokens.len(), identifiers.len()), (10, 10));
    assert_eq!(users(&server, &id).await.len(), 10);
}

#[tokio::test]
async fn a_token_user_needs_a_nickname_of_at_most_255_characters() {
    let server = TestServer::start().await;
    let id = bare_disk(&server).await;
    let user = add(
        &server,
        &id,
        json!({"type": "token", "nickname": "é".repeat(255)}),
    )
    .await;
    assert_eq!(user["nickname"].as_str().unwrap().chars().count(), 255);
    assert_add_rejected(
        &server,
        &id,
        json!({"type": "token", "nickname": "n".repeat(256)}),
        "nickname must be at most 255 characters",
    )
    .await;
    assert_add_rejected(
        &server,
        &id,
        json!({"type": "token"}),
        "nickname is required",
    )
    .await;
    assert_add_rejected(
        &server,
        &id,
        json!({"type": "token", "nickname": null}),
        "nickname must be a string",
    )
    .await;
}

#[tokio::test]
async fn add_rejects_a_bad_or_missing_type_and_a_body_that_is_not_an_object() {
    let server = TestServer::start().await;
    let id = bare_disk(&server).await;
    for kind in ["Token", "iam", ""] {
        assert_add_rejected(
            &server,
            &id,
            json!({"type": kind, "nickname": "n"}),
            "type must be token or awssts",
        )
        .await;
    }
    assert_add_rejected(&server, &id, json!({"nickname": "n"}), "type is required").await;
    assert_add_rejected(
        &server,
        &id,
        json!({"type": 1, "nickname": "n"}),
        "type must be a string",
    )
    .await;
    for body in [&b"[]"[..], b"", b"{"] {
        let (status, _, reply) = server
            .raw(
                "POST",
                &users_path(&id),
                &[("authorization", KEY)],
                body.to_vec(),
            )
            .await;
        assert_error(status, &reply, 400, "request body");
    }
    assert!(users(&server, &id).await.is_empty());
}

// ---------------------------------------------------------------------------
// AWS STS users

#[tokio::test]
async fn an_awssts_user_is_its_arn_with_no_token() {
    let server = TestServer::start().await;
    let id = bare_disk(&server).await;
    let user = add(&server, &id, json!({"type": "awssts", "principal": ARN})).await;
    assert_eq!(user["type"], "awssts");
    assert_eq!(user["principal"], ARN);
    assert_eq!(user["identifier"], ARN);
    assert!(user.get("token").is_none(), "{user}");
    assert!(user.get("tokenSuffix").is_none(), "{user}");
    assert_eq!(users(&server, &id).await, [user]);
    assert_add_rejected(
        &server,
        &id,
        json!({"type": "awssts", "principal": ARN}),
        "is already a user of the disk",
    )
    .await;
}

#[tokio::test]
async fn an_awssts_principal_of_2048_characters_is_accepted_and_2049_rejected() {
    let server = TestServer::start().await;
    let id = bare_disk(&server).await;
    let long = format!("arn:{}", "a".repeat(2044));
    assert_eq!(long.len(), 2048);
    let user = add(&server, &id, json!({"type": "awssts", "principal": long})).await;
    assert_eq!(user["identifier"], long);
    assert_add_rejected(
        &server,
        &id,
        json!({"type": "awssts", "principal": format!("{long}b")}),
        "principal must be at most 2048 characters",
    )
    .await;
}

#[tokio::test]
async fn an_awssts_principal_must_be_an_arn() {
    let server = TestServer::start().await;
    let id = bare_disk(&server).await;
    for bad in ["role/reader", "ARN:aws:iam::1:role/x", "", " arn:aws"] {
        assert_add_rejected(
            &server,
            &id,
            json!({"type": "awssts", "principal": bad}),
            "principal must be an IAM ARN",
        )
        .await;
    }
    assert_add_rejected(
        &server,
        &id,
        json!({"type": "awssts"}),
        "principal is required for an awssts user",
    )
    .await;
    assert_add_rejected(
        &server,
        &id,
        json!({"type": "awssts", "principal": 5}),
        "principal must be a string",
    )
    .await;
}

// ---------------------------------------------------------------------------
// The deprecated client-supplied token

#[tokio::test]
async fn a_supplied_token_is_not_echoed_and_keeps_its_suffix() {
    let server = TestServer::start().await;
    let id = bare_disk(&server).await;
    let user = add(
        &server,
        &id,
        json!({"type": "token", "nickname": "old", "principal": SUPPLIED, "tokenSuffix": "wxyz"}),
    )
    .await;
    assert!(user.get("token").is_none(), "{user}");
    assert!(user.get("principal").is_none(), "{user}");
    assert_eq!(user["tokenSuffix"], "wxyz");
    assert!(!user.to_string().contains(SUPPLIED));
    assert!(!server.disk(KEY, &id).await.to_string().contains(SUPPLIED));
    assert!(!server.state().await.to_string().contains(SUPPLIED));
    // The same token twice is refused.
    assert_add_rejected(
        &server,
        &id,
        json!({"type": "token", "nickname": "again", "principal": SUPPLIED, "tokenSuffix": "wxyz"}),
        "already a user of the disk",
    )
    .await;
}

#[tokio::test]
async fn a_supplied_token_needs_its_own_4_character_suffix() {
    let server = TestServer::start().await;
    let id = bare_disk(&server).await;
    for (suffix, needle) in [
        (None, "tokenSuffix is required when principal is given"),
        (
            Some(json!("xyz")),
            "tokenSuffix must be exactly 4 characters",
        ),
        (
            Some(json!("vwxyz")),
            "tokenSuffix must be exactly 4 characters",
        ),
        (
            Some(json!("abcd")),
            "tokenSuffix must be the last 4 characters of principal",
        ),
        (Some(json!(1234)), "tokenSuffix must be a string"),
    ] {
        let mut body = json!({"type": "token", "nickname": "n", "principal": SUPPLIED});
        if let Some(s) = suffix {
            body["tokenSuffix"] = s;
        }
        assert_add_rejected(&server, &id, body, needle).await;
    }
    assert_add_rejected(
        &server,
        &id,
        json!({"type": "token", "nickname": "n", "principal": "p".repeat(2049), "tokenSuffix": "pppp"}),
        "principal must be at most 2048 characters",
    )
    .await;
}

#[tokio::test]
async fn a_supplied_token_user_is_removed_by_its_token_as_principal() {
    let server = TestServer::start().await;
    let id = bare_disk(&server).await;
    add(
        &server,
        &id,
        json!({"type": "token", "nickname": "old", "principal": SUPPLIED, "tokenSuffix": "wxyz"}),
    )
    .await;
    let other = add(&server, &id, json!({"type": "token", "nickname": "new"})).await;
    // A wrong token, or the right one under the other type, removes nothing.
    let (status, body) = remove(&server, &id, "token?principal=dtk-not-the-token").await;
    assert_error(status, &body, 404, "no token user with that principal");
    let (status, body) = remove(&server, &id, &format!("awssts?principal={SUPPLIED}")).await;
    assert_error(status, &body, 404, "no awssts user");
    assert_eq!(users(&server, &id).await.len(), 2);

    let (status, body) = remove(&server, &id, &format!("token?principal={SUPPLIED}")).await;
    assert_eq!(status, 200, "{body}");
    let left = users(&server, &id).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["identifier"], other["identifier"]);
    // A generated token works the same way.
    let token = other["token"].as_str().unwrap();
    let (status, body) = remove(&server, &id, &format!("token?principal={token}")).await;
    assert_eq!(status, 200, "{body}");
    assert!(users(&server, &id).await.is_empty());
}

// ---------------------------------------------------------------------------
// Expiry, one use, read only, status

#[tokio::test]
async fn a_ttl_of_8760h_is_accepted_and_8761h_rejected() {
    let server = TestServer::start().await;
    let id = bare_disk(&server).await;
    let before = OffsetDateTime::now_utc();
    let user = add(
        &server,
        &id,
        json!({"type": "token", "nickname": "year", "ttl": "8760h"}),
    )
    .await;
    let after = OffsetDateTime::now_utc();
    let expires = rfc3339(&user["expiresAt"]);
    let year = time::Duration::hours(8760);
    assert!(
        expires >= before + year - time::Duration::seconds(1) && expires <= after + year,
        "{expires} is not 8760h after {before}"
    );
    assert_eq!(user["status"], "active");
    assert_eq!(users(&server, &id).await[0]["expiresAt"], user["expiresAt"]);
    for ttl in ["8761h", "8760h1s", "525601m"] {
        assert_add_rejected(
            &server,
            &id,
            json!({"type": "token", "nickname": "n", "ttl": ttl}),
            "ttl must be positive and at most 8760h",
        )
        .await;
    }
    let user = add(
        &server,
        &id,
        json!({"type": "awssts", "principal": ARN, "ttl": "1h30m"}),
    )
    .await;
    let expires = rfc3339(&user["expiresAt"]);
    let lead = expires - OffsetDateTime::now_utc();
    assert!(
        lead > time::Duration::minutes(89) && lead <= time::Duration::minutes(90),
        "{lead}"
    );
}

#[tokio::test]
async fn a_ttl_must_be_a_positive_go_duration() {
    let server = TestServer::start().await;
    let id = bare_disk(&server).await;
    for (ttl, needle) in [
        (json!("0s"), "ttl must be positive"),
        (json!("1d"), "ttl must be a duration"),
        (json!("-1h"), "ttl must be a duration"),
        (json!("abc"), "ttl must be a duration"),
        (json!(""), "ttl must be a duration"),
        (json!(3600), "ttl must be a string"),
        (json!(null), "ttl must be a string"),
    ] {
        assert_add_rejected(
            &server,
            &id,
            json!({"type": "token", "nickname": "n", "ttl": ttl}),
            needle,
        )
        .await;
    }
}

#[tokio::test]
async fn ttl_and_expires_at_are_mutually_exclusive() {
    let server = TestServer::start().await;
    let id = bare_disk(&server).await;
    assert_add_rejected(
        &server,
        &id,
        json!({"type": "token", "nickname": "n", "ttl": "1h", "expiresAt": "2100-01-01T00:00:00Z"}),
        "ttl and expiresAt are mutually exclusive",
    )
    .await;
}

#[tokio::test]
async fn expires_at_must_be_a_future_rfc3339_time_and_is_reflected() {
    let server = TestServer::start().await;
    let id = bare_disk(&server).await;
    let user = add(
        &server,
        &id,
        json!({"type": "token", "nickname": "n", "expiresAt": "2100-01-02T03:04:05Z"}),
    )
    .await;
    assert_eq!(
        rfc3339(&user["expiresAt"]),
        OffsetDateTime::parse("2100-01-02T03:04:05Z", &Rfc3339).unwrap()
    );
    assert_eq!(user["status"], "active");
    let past = (OffsetDateTime::now_utc() - time::Duration::minutes(1))
        .format(&Rfc3339)
        .unwrap();
    for (at, needle) in [
        (json!(past), "expiresAt must be in the future"),
        (
            json!("2000-01-01T00:00:00Z"),
            "expiresAt must be in the future",
        ),
        (json!("tomorrow"), "expiresAt must be an RFC 3339 timestamp"),
        (
            json!("2100-01-01"),
            "expiresAt must be an RFC 3339 timestamp",
        ),
        (json!(4102444800u64), "expiresAt must be a string"),
    ] {
        assert_add_rejected(
            &server,
            &id,
            json!({"type": "token", "nickname": "n", "expiresAt": at}),
            needle,
        )
        .await;
    }
}

#[tokio::test]
async fn one_use_and_read_only_are_reflected() {
    let server = TestServer::start().await;
    let id = bare_disk(&server).await;
    let both = add(
        &server,
        &id,
        json!({"type": "token", "nickname": "n", "oneUse": true, "readOnly": true}),
    )
    .await;
    assert_eq!(
        (&both["oneUse"], &both["readOnly"]),
        (&json!(true), &json!(true))
    );
    let one = add(
        &server,
        &id,
        json!({"type": "awssts", "principal": ARN, "oneUse": false, "readOnly": true}),
    )
    .await;
    assert_eq!(
        (&one["oneUse"], &one["readOnly"]),
        (&json!(false), &json!(true))
    );
    let shown = users(&server, &id).await;
    assert_eq!(
        (&shown[0]["oneUse"], &shown[0]["readOnly"]),
        (&json!(true), &json!(true))
    );
    assert_eq!(
        (&shown[1]["oneUse"], &shown[1]["readOnly"]),
        (&json!(false), &json!(true))
    );
    for field in ["oneUse", "readOnly"] {
        for bad in [json!("true"), json!(1), json!(null)] {
            let mut body = json!({"type": "token", "nickname": "n"});
            body[field] = bad;
            assert_add_rejected(&server, &id, body, &format!("{field} must be a boolean")).await;
        }
    }
}

#[tokio::test]
async fn status_is_computed_from_expiry_and_consumption() {
    let fixture = json!({"accounts": [{"name": "default", "disks": [{
        "id": "dsk-00000000000000e0",
        "name": "statuses",
        "users": [
            {"type": "token", "nickname": "live", "token": "dtk-live-0000000000000001", "identifier": "live"},
            {"type": "token", "nickname": "late", "token": "dtk-late-0000000000000002", "identifier": "late", "expiresAt": "2020-01-01T00:00:00Z"},
            {"type": "token", "nickname": "later", "token": "dtk-later-000000000000003", "identifier": "later", "expiresAt": "2100-01-01T00:00:00Z"},
            {"type": "token", "nickname": "used", "token": "dtk-used-0000000000000004", "identifier": "used", "oneUse": true, "consumedAt": "2025-01-01T00:00:00Z"},
            {"type": "awssts", "principal": "arn:aws:iam::1:role/old", "expiresAt": "2020-01-01T00:00:00Z"}
        ]
    }]}]});
    let server = TestServer::with_fixture("user-status", &fixture).await;
    let shown = users(&server, "dsk-00000000000000e0").await;
    let statuses: Vec<(&Value, &Value)> = shown
        .iter()
        .map(|u| (&u["identifier"], &u["status"]))
        .collect();
    assert_eq!(
        statuses,
        [
            (&json!("live"), &json!("active")),
            (&json!("late"), &json!("expired")),
            (&json!("later"), &json!("active")),
            (&json!("used"), &json!("consumed")),
            (&json!("arn:aws:iam::1:role/old"), &json!("expired")),
        ]
    );
    assert_eq!(shown[3]["oneUse"], true);
    assert_eq!(
        rfc3339(&shown[3]["consumedAt"]),
        OffsetDateTime::parse("2025-01-01T00:00:00Z", &Rfc3339).unwrap()
    );
    assert!(shown[0].get("consumedAt").is_none() && shown[0].get("expiresAt").is_none());
}

#[tokio::test]
async fn a_user_with_a_short_ttl_turns_expired() {
    let server = TestServer::start().await;
    let id = bare_disk(&server).await;
    let user = add(
        &server,
        &id,
        json!({"type": "token", "nickname": "brief", "ttl": "1s"}),
    )
    .await;
    assert_eq!(user["status"], "active");
    let expires = rfc3339(&user["expiresAt"]);
    let wait = expires - OffsetDateTime::now_utc() + time::Duration::milliseconds(50);
    if wait.is_positive() {
        tokio::time::sleep(Duration::from_millis(wait.whole_milliseconds() as u64)).await;
    }
    assert_eq!(users(&server, &id).await[0]["status"], "expired");
}

// ---------------------------------------------------------------------------
// Removal

#[tokio::test]
async fn remove_by_identifier_answers_a_message_and_the_user_is_gone() {
    let server = TestServer::start().await;
    let id = bare_disk(&server).await;
    let token_user = add(&server, &id, json!({"type": "token", "nickname": "t"})).await;
    add(&server, &id, json!({"type": "awssts", "principal": ARN})).await;
    let identifier = token_user["identifier"].as_str().unwrap();

    let (status, body) = remove(&server, &id, &format!("token?identifier={identifier}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true);
    let data = body["data"].as_object().unwrap();
    assert_eq!(data.keys().collect::<Vec<_>>(), ["message"], "{body}");
    assert!(data["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(users(&server, &id).await.len(), 1);

    let (status, body) = remove(&server, &id, &format!("token?identifier={identifier}")).await;
    assert_error(status, &body, 404, "no token user with identifier");

    let encoded = "arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Freader";
    let (status, body) = remove(&server, &id, &format!("awssts?identifier={encoded}")).await;
    assert_eq!(status, 200, "{body}");
    assert!(users(&server, &id).await.is_empty());
}

#[tokio::test]
async fn an_awssts_user_is_also_removed_by_its_arn_as_the_deprecated_principal() {
    let server = TestServer::start().await;
    let id = bare_disk(&server).await;
    add(&server, &id, json!({"type": "awssts", "principal": ARN})).await;
    let encoded = "arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Freader";
    let (status, body) = remove(&server, &id, &format!("token?principal={encoded}")).await;
    assert_error(status, &body, 404, "no token user with that principal");
    let (status, body) = remove(&server, &id, &format!("awssts?principal={encoded}")).await;
    assert_eq!(status, 200, "{body}");
    assert!(users(&server, &id).await.is_empty());
}

#[tokio::test]
async fn remove_of_an_unknown_identifier_or_the_wrong_type_is_404() {
    let server = TestServer::start().await;
    let id = bare_disk(&server).await;
    let token_user = add(&server, &id, json!({"type": "token", "nickname": "t"})).await;
    add(&server, &id, json!({"type": "awssts", "principal": ARN})).await;
    let identifier = token_user["identifier"].as_str().unwrap();
    for query in [
        "token?identifier=00000000-0000-4000-8000-000000000000".to_owned(),
        format!("awssts?identifier={identifier}"),
        format!("token?identifier={ARN}"),
        "awssts?identifier=arn:aws:iam::123456789012:role/other".to_owned(),
    ] {
        let (status, body) = remove(&server, &id, &query).await;
        assert_error(status, &body, 404, "on this disk");
        assert_eq!(body["code"], "not_found");
    }
    assert_eq!(users(&server, &id).await.len(), 2);
}

#[tokio::test]
async fn remove_without_identifier_or_principal_is_400() {
    let server = TestServer::start().await;
    let id = bare_disk(&server).await;
    add(&server, &id, json!({"type": "token", "nickname": "t"})).await;
    for query in [
        "token",
        "token?identifier=",
        "token?principal=",
        "token?other=x",
    ] {
        let (status, body) = remove(&server, &id, query).await;
        assert_error(status, &body, 400, "identifier is required");
    }
    let (status, body) = remove(&server, &id, "token?identifier=a&identifier=b").await;
    assert_error(status, &body, 400, "identifier must be given at most once");
    assert_eq!(users(&server, &id).await.len(), 1);
}

#[tokio::test]
async fn remove_with_an_unknown_user_type_is_400() {
    let server = TestServer::start().await;
    let id = bare_disk(&server).await;
    let user = add(&server, &id, json!({"type": "token", "nickname": "t"})).await;
    let identifier = user["identifier"].as_str().unwrap();
    for kind in ["Token", "iam", "tokens", "%20"] {
        let (status, body) = remove(&server, &id, &format!("{kind}?identifier={identifier}")).await;
        assert_error(status, &body, 400, "userType must be token or awssts");
    }
    assert_eq!(users(&server, &id).await.len(), 1);
}

#[tokio::test]
async fn removing_a_fixture_user_by_its_known_token_works() {
    let fixture = json!({"accounts": [{"name": "default", "disks": [{
        "id": "dsk-00000000000000e1",
        "name": "seeded",
        "users": [{"type": "token", "nickname": "ci", "token": "dtk-known-fixture-token-01", "identifier": "ci"}]
    }]}]});
    let server = TestServer::with_fixture("fixture-user-remove", &fixture).await;
    let id = "dsk-00000000000000e1";
    let shown = users(&server, id).await;
    assert_eq!(shown[0]["tokenSuffix"], "n-01");
    assert!(!server
        .state()
        .await
        .to_string()
        .contains("dtk-known-fixture-token"));
    let (status, body) = remove(&server, id, "token?principal=dtk-known-fixture-token-01").await;
    assert_eq!(status, 200, "{body}");
    assert!(users(&server, id).await.is_empty());
}

// ---------------------------------------------------------------------------
// The journal

/// Every journal entry as text, with the paths it covers.
async fn journal_text(server: &TestServer) -> (String, Vec<String>) {
    let entries = server.journal().await;
    let paths = entries
        .iter()
        .map(|e| {
            format!(
                "{} {}?{}",
                e["method"].as_str().unwrap(),
                e["path"].as_str().unwrap(),
                e["query"].as_str().unwrap_or("")
            )
        })
        .collect();
    (Value::Array(entries).to_string(), paths)
}

#[tokio::test]
async fn the_journal_redacts_a_supplied_disk_token_in_bodies_and_queries() {
    let server = TestServer::start().await;
    let created = server
        .create_disk(
            KEY,
            json!({"name": "d", "authMethods": [
                {"type": "token", "nickname": "first", "principal": "dtk-in-create-body-000000-abcd", "tokenSuffix": "abcd"},
                {"type": "awssts", "principal": ARN}
            ]}),
        )
        .await;
    let id = created["diskId"].as_str().unwrap();
    add(
        &server,
        id,
        json!({"type": "token", "nickname": "old", "principal": SUPPLIED, "tokenSuffix": "wxyz"}),
    )
    .await;
    let (status, _) = remove(&server, id, &format!("token?principal={SUPPLIED}")).await;
    assert_eq!(status, 200);
    let (status, _) = remove(
        &server,
        id,
        "token?principal=dtk-in-create-body-000000-abcd&note=kept",
    )
    .await;
    assert_eq!(status, 200);

    let (text, paths) = journal_text(&server).await;
    assert_eq!(paths.len(), 4, "{paths:?}");
    assert!(paths[2].starts_with(&format!("DELETE /api/disks/{id}/users/token?")));
    for secret in [
        "dtk-in-create-body-000000",
        "dtk-client-supplied-secret-token-0000",
    ] {
        assert!(!text.contains(secret), "{secret} in the journal: {text}");
    }
    // What is not secret stays readable: the ARN, the nickname, other params.
    assert!(text.contains(ARN), "{text}");
    assert!(text.contains("nickname"), "{text}");
    assert!(text.contains("note=kept"), "{text}");
}

#[tokio::test]
async fn the_journal_redacts_a_principal_query_whose_name_is_percent_encoded() {
    // The server decodes query names, so `%70rincipal` is `principal` to it
    // and removes the user by its token; the journal must hide that token too.
    let server = TestServer::start().await;
    let id = bare_disk(&server).await;
    add(
        &server,
        &id,
        json!({"type": "token", "nickname": "old", "principal": SUPPLIED, "tokenSuffix": "wxyz"}),
    )
    .await;
    let (status, body) = remove(&server, &id, &format!("token?%70rincipal={SUPPLIED}")).await;
    assert_eq!(status, 200, "{body}");
    assert!(users(&server, &id).await.is_empty());
    let (text, _) = journal_text(&server).await;
    assert!(
        !text.contains("dtk-client-supplied-secret-token-0000"),
        "the supplied token in the journal: {text}"
    );
}
