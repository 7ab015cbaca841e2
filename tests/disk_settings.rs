//! Black-box tests of the disk settings operations (`getAllowedIPs`,
//! `setAllowedIPs`, `listDelegations`, `revokeDelegation`) over real HTTP
//! against a server on port 0. Delegations exist only where a fixture
//! seeds them.

mod common;

use common::*;
use serde_json::{json, Value};

fn ips_path(id: &str) -> String {
    format!("/api/disks/{id}/allowed-ips")
}

async fn get_ips(server: &TestServer, id: &str) -> Value {
    let (status, body) = server.call("GET", &ips_path(id), Some(KEY), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["success"], true);
    assert_eq!(
        body["data"].as_object().unwrap().len(),
        1,
        "only allowedIps: {body}"
    );
    body["data"]["allowedIps"].clone()
}

async fn put_ips(server: &TestServer, id: &str, body: Value) -> (u16, Value) {
    server
        .call("PUT", &ips_path(id), Some(KEY), Some(body))
        .await
}

/// PUTs `body`; asserts 400 naming `needle` and that the list is unchanged.
async fn assert_put_rejected(server: &TestServer, id: &str, body: Value, needle: &str) {
    let before = get_ips(server, id).await;
    let (status, reply) = put_ips(server, id, body.clone()).await;
    assert_error(status, &reply, 400, needle);
    assert_eq!(get_ips(server, id).await, before, "{body} changed the list");
    assert_eq!(server.disk(KEY, id).await["allowedIps"], before);
}

// ---------------------------------------------------------------------------
// Allowed IPs

#[tokio::test]
async fn a_new_disk_allows_every_ip_as_an_empty_array() {
    let server = TestServer::start().await;
    let id = server.create_disk_named(KEY, "d").await;
    assert_eq!(get_ips(&server, &id).await, json!([]));
}

#[tokio::test]
async fn allowed_ips_given_at_create_are_read_back() {
    let server = TestServer::start().await;
    let data = server
        .create_disk(
            KEY,
            json!({"name": "d", "allowedIps": ["203.0.113.0/24", "2001:db8::1"]}),
        )
        .await;
    let id = data["diskId"].as_str().unwrap();
    assert_eq!(
        get_ips(&server, id).await,
        json!(["203.0.113.0/24", "2001:db8::1"])
    );
}

#[tokio::test]
async fn put_replaces_the_list_and_an_empty_list_clears_it() {
    let server = TestServer::start().await;
    let data = server
        .create_disk(KEY, json!({"name": "d", "allowedIps": ["192.0.2.1"]}))
        .await;
    let id = data["diskId"].as_str().unwrap();
    let list = json!([
        "10.0.0.0/8",
        "10.0.0.1/32",
        "::/128",
        "2001:db8::/32",
        "0.0.0.0/0"
    ]);
    let (status, body) = put_ips(&server, id, json!({ "allowedIps": list })).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"success": true, "data": {"allowedIps": list}}));
    assert_eq!(get_ips(&server, id).await, list);
    assert_eq!(server.disk(KEY, id).await["allowedIps"], list);

    let (status, body) = put_ips(&server, id, json!({"allowedIps": []})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"success": true, "data": {"allowedIps": []}}));
    assert_eq!(get_ips(&server, id).await, json!([]));
    assert_eq!(server.disk(KEY, id).await["allowedIps"], json!([]));
}

#[tokio::test]
async fn put_accepts_prefixes_up_to_32_and_128_and_rejects_33_and_129() {
    let server = TestServer::start().await;
    let id = server.create_disk_named(KEY, "d").await;
    for ok in [
        "10.0.0.0/32",
        "10.0.0.0/0",
        "2001:db8::/128",
        "::/0",
        "203.0.113.9",
        "::1",
    ] {
        let (status, body) = put_ips(&server, &id, json!({"allowedIps": [ok]})).await;
        assert_eq!(status, 200, "{ok}: {body}");
        assert_eq!(get_ips(&server, &id).await, json!([ok]));
    }
    for bad in [
        "10.0.0.0/33",
        "2001:db8::/129",
        "garbage",
        "",
        "10.0.0.0/",
        "10.0.0.0/8/8",
        "300.1.1.1",
        "10.0.0.0/0x8",
        "fe80::1%eth0",
    ] {
        assert_put_rejected(
            &server,
            &id,
            json!({"allowedIps": ["192.0.2.7", bad]}),
            "allowedIps[1] must be an IP address or CIDR block",
        )
        .await;
    }
}

#[tokio::test]
async fn put_requires_allowed_ips_as_an_array_of_strings() {
    let server = TestServer::start().await;
    let data = server
        .create_disk(KEY, json!({"name": "d", "allowedIps": ["192.0.2.1"]}))
        .await;
    let id = data["diskId"].as_str().unwrap();
    assert_put_rejected(&server, id, json!({}), "allowedIps is required").await;
    assert_put_rejected(
        &server,
        id,
        json!({"allowedIPs": ["10.0.0.1"]}),
        "allowedIps is required",
    )
    .await;
    assert_put_rejected(
        &server,
        id,
        json!({"allowedIps": null}),
        "allowedIps must be an array, not null",
    )
    .await;
    assert_put_rejected(
        &server,
        id,
        json!({"allowedIps": "10.0.0.1"}),
        "allowedIps must be an array",
    )
    .await;
    assert_put_rejected(
        &server,
        id,
        json!({"allowedIps": [10]}),
        "allowedIps[0] must be a string",
    )
    .await;
    for body in [&b""[..], b"[]", b"{"] {
        let (status, _, reply) = server
            .raw(
                "PUT",
                &ips_path(id),
                &[("authorization", KEY)],
                body.to_vec(),
            )
            .await;
        assert_error(status, &reply, 400, "request body");
    }
    assert_eq!(get_ips(&server, id).await, json!(["192.0.2.1"]));
}

// ---------------------------------------------------------------------------
// Delegations

fn delegations_fixture() -> Value {
    json!({"accounts": [{"name": "default", "disks": [{
        "id": "dsk-00000000000000d1",
        "name": "shared",
        "delegations": [
            {"clientId": "42", "inodeId": 7, "path": "train/part-0001.parquet", "isPending": false, "isOrphaned": false},
            {"clientId": "42", "inodeId": 8, "isPending": true},
            {"clientId": "43", "inodeId": 7, "isOrphaned": true}
        ]
    }]}]})
}

const SHARED: &str = "dsk-00000000000000d1";

async fn delegations(server: &TestServer, id: &str) -> Value {
    let (status, body) = server
        .call(
            "GET",
            &format!("/api/disks/{id}/delegations"),
            Some(KEY),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["data"]["delegations"].clone()
}

async fn revoke(server: &TestServer, id: &str, body: Value) -> (u16, Value) {
    server
        .call(
            "POST",
            &format!("/api/disks/{id}/revoke-delegation"),
            Some(KEY),
            Some(body),
        )
        .await
}

#[tokio::test]
async fn a_new_disk_has_an_empty_delegations_array() {
    let server = TestServer::start().await;
    let id = server.create_disk_named(KEY, "d").await;
    let (_, body) = server
        .call(
            "GET",
            &format!("/api/disks/{id}/delegations"),
            Some(KEY),
            None,
        )
        .await;
    assert_eq!(body, json!({"success": true, "data": {"delegations": []}}));
}

#[tokio::test]
async fn fixture_delegations_are_listed_with_every_required_field() {
    let server = TestServer::with_fixture("delegations-list", &delegations_fixture()).await;
    assert_eq!(
        delegations(&server, SHARED).await,
        json!([
            {"clientId": "42", "inodeId": 7, "path": "train/part-0001.parquet", "isPending": false, "isOrphaned": false},
            {"clientId": "42", "inodeId": 8, "isPending": true, "isOrphaned": false},
            {"clientId": "43", "inodeId": 7, "isPending": false, "isOrphaned": true}
        ])
    );
}

#[tokio::test]
async fn revoke_answers_delegation_revoked_and_the_delegation_is_gone() {
    let server = TestServer::with_fixture("delegations-revoke", &delegations_fixture()).await;
    let (status, body) = revoke(&server, SHARED, json!({"clientId": "42", "inodeId": 7})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"success": true, "data": {"message": "Delegation revoked"}})
    );
    let left = delegations(&server, SHARED).await;
    let pairs: Vec<(&Value, &Value)> = left
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (&d["clientId"], &d["inodeId"]))
        .collect();
    assert_eq!(
        pairs,
        [(&json!("42"), &json!(8)), (&json!("43"), &json!(7))]
    );

    let (status, body) = revoke(&server, SHARED, json!({"clientId": "42", "inodeId": 7})).await;
    assert_error(status, &body, 404, "no delegation of inode 7 to client 42");
    assert_eq!(delegations(&server, SHARED).await, left);
}

#[tokio::test]
async fn revoke_of_an_unknown_pair_is_404_and_changes_nothing() {
    let server = TestServer::with_fixture("delegations-unknown", &delegations_fixture()).await;
    let before = delegations(&server, SHARED).await;
    for body in [
        json!({"clientId": "42", "inodeId": 9}),
        json!({"clientId": "44", "inodeId": 7}),
        json!({"clientId": "43", "inodeId": 8}),
        json!({"clientId": "042", "inodeId": 7}),
    ] {
        let (status, reply) = revoke(&server, SHARED, body.clone()).await;
        assert_error(status, &reply, 404, "no delegation");
        assert_eq!(reply["code"], "not_found", "{body}");
    }
    assert_eq!(delegations(&server, SHARED).await, before);
}

#[tokio::test]
async fn revoke_rejects_a_client_id_that_is_not_a_string_or_an_inode_id_that_is_not_an_integer() {
    let server = TestServer::with_fixture("delegations-bad", &delegations_fixture()).await;
    let before = delegations(&server, SHARED).await;
    for (body, needle) in [
        (
            json!({"clientId": 42, "inodeId": 7}),
            "clientId must be a string",
        ),
        (
            json!({"clientId": null, "inodeId": 7}),
            "clientId must be a string",
        ),
        (json!({"inodeId": 7}), "clientId is required"),
        (
            json!({"clientId": "42", "inodeId": "7"}),
            "inodeId must be an integer",
        ),
        (
            json!({"clientId": "42", "inodeId": 7.5}),
            "inodeId must be an integer",
        ),
        (
            json!({"clientId": "42", "inodeId": 7.0}),
            "inodeId must be an integer",
        ),
        (
            json!({"clientId": "42", "inodeId": null}),
            "inodeId must be an integer",
        ),
        (
            json!({"clientId": "42", "inodeId": -1}),
            "inodeId must be between 0",
        ),
        (json!({"clientId": "42"}), "inodeId is required"),
    ] {
        let (status, reply) = revoke(&server, SHARED, body.clone()).await;
        assert_error(status, &reply, 400, needle);
    }
    let (status, _, reply) = server
        .raw(
            "POST",
            &format!("/api/disks/{SHARED}/revoke-delegation"),
            &[("authorization", KEY)],
            b"[]".to_vec(),
        )
        .await;
    assert_error(status, &reply, 400, "request body");
    assert_eq!(delegations(&server, SHARED).await, before);
}
