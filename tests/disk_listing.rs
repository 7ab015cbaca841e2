//! Black-box tests of `listDisks` and of account isolation over real HTTP
//! against a server on port 0: page sizes, filters, cursors (including a
//! walk while disks come and go), and another account's disk being unknown
//! to every disk operation.

mod common;

use std::collections::{HashMap, HashSet};

use archil_mock::Config;
use common::*;
use serde_json::{json, Value};

fn names(disks: &[Value]) -> Vec<String> {
    disks
        .iter()
        .map(|d| {
            d["name"]
                .as_str()
                .expect("every disk has a name")
                .to_owned()
        })
        .collect()
}

// ---------------------------------------------------------------------------
// List

#[tokio::test]
async fn list_of_an_account_without_disks_is_an_empty_array() {
    let server = TestServer::start().await;
    for path in [
        "/api/disks",
        "/api/disks?name=none",
        "/api/disks?q=none",
        "/api/disks?short=true",
        "/api/disks?short=false",
    ] {
        let (status, body) = server.call("GET", path, Some(KEY), None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["success"], true);
        assert_eq!(body["data"], json!([]), "{path}: {body}");
        assert!(body.get("nextCursor").is_none(), "{path}: {body}");
    }
    let (_, body) = server
        .call("GET", "/api/disks?short=true", Some(KEY), None)
        .await;
    assert_eq!(body["total"], 0);
}

#[tokio::test]
async fn list_shows_disks_in_creation_order_as_get_shows_them() {
    let server = TestServer::start().await;
    let mut created = Vec::new();
    for name in ["zeta", "alpha", "mid"] {
        created.push(server.create_disk_named(KEY, name).await);
    }
    let (_, body) = server.call("GET", "/api/disks", Some(KEY), None).await;
    let listed = body["data"].as_array().unwrap();
    assert_eq!(disk_ids(listed), created);
    for disk in listed {
        assert_eq!(
            disk,
            &server.disk(KEY, disk["id"].as_str().unwrap()).await,
            "the list and GET disagree"
        );
        assert!(disk["authorizedUsers"][0].get("token").is_none());
    }
}

#[tokio::test]
async fn list_pages_by_50_by_default_and_clamps_limits_into_1_to_100() {
    let server = TestServer::start().await;
    for i in 0..120 {
        server.create_disk_named(KEY, &format!("d{i:03}")).await;
    }
    for (query, expected) in [
        ("", 50),
        ("?limit=1", 1),
        ("?limit=99", 99),
        ("?limit=100", 100),
        ("?limit=101", 100),
        ("?limit=1000", 100),
        ("?limit=99999999999999999999999", 100),
        ("?limit=0", 1),
        ("?limit=-1", 1),
        ("?limit=-99999999999999999999999", 1),
    ] {
        let (status, body) = server
            .call("GET", &format!("/api/disks{query}"), Some(KEY), None)
            .await;
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(body["data"].as_array().unwrap().len(), expected, "{query}");
        assert!(body["nextCursor"].is_string(), "{query}: more remain");
    }
}

#[tokio::test]
async fn list_rejects_a_limit_that_is_not_an_integer() {
    let server = TestServer::start().await;
    server.create_disk_named(KEY, "d").await;
    for (limit, needle) in [
        ("abc", "limit must be an integer"),
        ("1.5", "limit must be an integer"),
        ("", "limit must be an integer"),
        ("10abc", "limit must be an integer"),
    ] {
        let (status, body) = server
            .call("GET", &format!("/api/disks?limit={limit}"), Some(KEY), None)
            .await;
        assert_error(status, &body, 400, needle);
    }
}

#[tokio::test]
async fn list_ignores_unknown_query_parameters() {
    let server = TestServer::start().await;
    for name in ["a", "b", "c"] {
        server.create_disk_named(KEY, name).await;
    }
    let (status, body) = server
        .call(
            "GET",
            "/api/disks?foo=bar&limit=2&sort=desc&page=9&x",
            Some(KEY),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(names(body["data"].as_array().unwrap()), ["a", "b"]);
}

#[tokio::test]
async fn list_by_name_is_an_exact_match() {
    let server = TestServer::start().await;
    for name in ["alpha", "alpha2", "Alpha", "beta-alpha"] {
        server.create_disk_named(KEY, name).await;
    }
    for (name, expected) in [
        ("alpha", vec!["alpha"]),
        ("Alpha", vec!["Alpha"]),
        ("alph", vec![]),
        ("alpha2", vec!["alpha2"]),
    ] {
        let (status, body) = server
            .call("GET", &format!("/api/disks?name={name}"), Some(KEY), None)
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(names(body["data"].as_array().unwrap()), expected, "{name}");
    }
}

#[tokio::test]
async fn list_q_matches_a_substring_of_the_name_or_id() {
    let server = TestServer::start().await;
    for name in ["alpha", "alpha2", "beta-alpha", "gamma"] {
        server.create_disk_named(KEY, name).await;
    }
    let (_, body) = server
        .call("GET", "/api/disks?q=lph", Some(KEY), None)
        .await;
    assert_eq!(
        names(body["data"].as_array().unwrap()),
        ["alpha", "alpha2", "beta-alpha"]
    );
    let gamma = server.list_all_disks(KEY, 100).await[3]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, body) = server
        .call("GET", &format!("/api/disks?q={gamma}"), Some(KEY), None)
        .await;
    assert_eq!(names(body["data"].as_array().unwrap()), ["gamma"]);
    let (_, body) = server
        .call("GET", "/api/disks?q=zzz", Some(KEY), None)
        .await;
    assert_eq!(body["data"], json!([]));
}

#[tokio::test]
async fn short_true_adds_the_total_of_matching_disks() {
    let server = TestServer::start().await;
    // "x" and "y" never occur in an id, so q=x matches names only.
    for name in ["x1", "x2", "x3", "y1"] {
        server.create_disk_named(KEY, name).await;
    }
    let (_, body) = server
        .call("GET", "/api/disks?short=true&limit=1", Some(KEY), None)
        .await;
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    assert_eq!(body["total"], 4, "{body}");
    let (_, body) = server
        .call("GET", "/api/disks?short=true&q=x", Some(KEY), None)
        .await;
    assert_eq!(body["total"], 3, "{body}");
    for query in ["", "?short=false"] {
        let (status, body) = server
            .call("GET", &format!("/api/disks{query}"), Some(KEY), None)
            .await;
        assert_eq!(status, 200);
        assert!(body.get("total").is_none(), "{query}: {body}");
    }
}

#[tokio::test]
async fn next_cursor_differs_on_every_page_and_is_absent_on_the_last() {
    let server = TestServer::start().await;
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(server.create_disk_named(KEY, &format!("d{i}")).await);
    }
    let mut cursors = Vec::new();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/disks?limit=2&cursor={c}"),
            None => "/api/disks?limit=2".to_owned(),
        };
        let (status, body) = server.call("GET", &path, Some(KEY), None).await;
        assert_eq!(status, 200, "{body}");
        seen.extend(disk_ids(body["data"].as_array().unwrap()));
        match body.get("nextCursor") {
            None => break,
            Some(c) => {
                let c = c.as_str().expect("a string cursor").to_owned();
                assert!(!c.is_empty());
                assert!(Some(&c) != cursor.as_ref(), "the same cursor twice");
                cursors.push(c.clone());
                cursor = Some(c);
            }
        }
        assert!(cursors.len() < 10, "the walk does not end");
    }
    assert_eq!(seen, created);
    assert_eq!(cursors.len(), 3);
    assert_eq!(cursors.iter().collect::<HashSet<_>>().len(), 3);

    // An exact fit ends without an empty trailing page.
    let (_, body) = server
        .call("GET", "/api/disks?limit=7", Some(KEY), None)
        .await;
    assert_eq!(body["data"].as_array().unwrap().len(), 7);
    assert!(body.get("nextCursor").is_none(), "{body}");
}

#[tokio::test]
async fn list_rejects_a_cursor_it_did_not_issue() {
    let server = TestServer::start().await;
    server.create_disk_named(KEY, "d").await;
    for cursor in ["xyz", "d", "dzz", "d00000000000000000", "%FF"] {
        let (status, body) = server
            .call(
                "GET",
                &format!("/api/disks?cursor={cursor}"),
                Some(KEY),
                None,
            )
            .await;
        assert_error(status, &body, 400, "cursor");
    }
}

#[tokio::test]
async fn a_paginated_walk_over_250_disks_sees_each_survivor_exactly_once_despite_changes() {
    let server = TestServer::start().await;
    let mut initial = Vec::new();
    for i in 0..250 {
        initial.push(server.create_disk_named(KEY, &format!("walk{i}")).await);
    }

    let mut seen: Vec<String> = Vec::new();
    let mut seen_set: HashSet<String> = HashSet::new();
    let mut deleted_unseen: HashSet<String> = HashSet::new();
    let mut deleted_seen: HashSet<String> = HashSet::new();
    let mut created_during: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut cursors: HashSet<String> = HashSet::new();
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/disks?limit=20&cursor={c}"),
            None => "/api/disks?limit=20".to_owned(),
        };
        let (status, body) = server.call("GET", &path, Some(KEY), None).await;
        assert_eq!(status, 200, "{body}");
        let page = disk_ids(body["data"].as_array().unwrap());
        assert!(page.len() <= 20);
        seen_set.extend(page.iter().cloned());
        seen.extend(page.iter().cloned());
        pages += 1;
        assert!(pages < 100, "the walk does not end");

        let next = body
            .get("nextCursor")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let Some(next) = next else { break };
        assert!(cursors.insert(next.clone()), "cursor {next} issued twice");
        // Between pages: delete the disk the cursor points after, delete one
        // not yet seen (a few ahead), and create two.
        let anchor = page.last().unwrap().clone();
        let (status, body) = server
            .call("DELETE", &format!("/api/disks/{anchor}"), Some(KEY), None)
            .await;
        assert_eq!(status, 200, "{body}");
        deleted_seen.insert(anchor);
        let ahead = initial
            .iter()
            .filter(|id| !seen_set.contains(*id) && !deleted_unseen.contains(*id))
            .nth(3)
            .cloned();
        if let Some(victim) = ahead {
            let (status, body) = server
                .call("DELETE", &format!("/api/disks/{victim}"), Some(KEY), None)
                .await;
            assert_eq!(status, 200, "{body}");
            deleted_unseen.insert(victim);
        }
        for k in 0..2 {
            created_during.push(
                server
                    .create_disk_named(KEY, &format!("during{pages}-{k}"))
                    .await,
            );
        }
        cursor = Some(next);
    }

    let mut counts: HashMap<&str, usize> = HashMap::new();
    for id in &seen {
        *counts.entry(id).or_default() += 1;
    }
    let duplicates: Vec<_> = counts.iter().filter(|(_, &n)| n > 1).collect();
    assert!(duplicates.is_empty(), "seen twice: {duplicates:?}");
    assert!(!deleted_unseen.is_empty() && !deleted_seen.is_empty());
    for id in &initial {
        let expected = usize::from(!deleted_unseen.contains(id));
        assert_eq!(
            counts.get(id.as_str()).copied().unwrap_or(0),
            expected,
            "{id}"
        );
    }
    for id in &created_during {
        assert_eq!(counts.get(id.as_str()), Some(&1), "created mid-walk: {id}");
    }
    let known: HashSet<&String> = initial.iter().chain(&created_during).collect();
    assert!(seen.iter().all(|id| known.contains(id)));
    assert_eq!(
        seen.len(),
        initial.len() - deleted_unseen.len() + created_during.len()
    );

    // What is left is exactly what was not deleted, in creation order.
    let survivors: Vec<String> = initial
        .iter()
        .chain(&created_during)
        .filter(|id| !deleted_seen.contains(*id) && !deleted_unseen.contains(*id))
        .cloned()
        .collect();
    assert_eq!(disk_ids(&server.list_all_disks(KEY, 100).await), survivors);
}

// ---------------------------------------------------------------------------
// Accounts

/// Bob's disk, seeded with everything a sub-resource can name.
fn bobs_fixture() -> Value {
    json!({"accounts": [
        {"name": "alice"},
        {"name": "bob", "disks": [{
            "id": "dsk-00000000000000b0",
            "name": "bobs",
            "allowedIps": ["10.0.0.1"],
            "users": [
                {"type": "token", "nickname": "ci", "token": "dtk-bob-fixture-token-000000000000000000001", "identifier": "bob-ci"},
                {"type": "awssts", "principal": "arn:aws:iam::123456789012:role/bob"}
            ],
            "checkpoints": [{"name": "nightly"}],
            "branches": [{"branch_name": "exp", "from_checkpoint_name": "nightly"}],
            "delegations": [{"clientId": "42", "inodeId": 7}]
        }]}
    ]})
}

#[tokio::test]
async fn another_accounts_disk_is_404_everywhere_and_unlisted() {
    let server = TestServer::with(Config {
        fixtures: vec![write_fixture("isolation", &bobs_fixture())],
        ..two_accounts()
    })
    .await;
    let id = "dsk-00000000000000b0";
    let before = server.disk(BOB_KEY, id).await;
    let (_, bob_branches) = server
        .call(
            "GET",
            &format!("/api/disks/{id}/branches"),
            Some(BOB_KEY),
            None,
        )
        .await;
    let arn = "arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fbob";
    let attempts: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", format!("/api/disks/{id}"), None),
        ("DELETE", format!("/api/disks/{id}"), None),
        (
            "POST",
            format!("/api/disks/{id}/users"),
            Some(json!({"type": "token", "nickname": "x"})),
        ),
        (
            "DELETE",
            format!("/api/disks/{id}/users/token?identifier=bob-ci"),
            None,
        ),
        (
            "DELETE",
            format!("/api/disks/{id}/users/awssts?identifier={arn}"),
            None,
        ),
        ("GET", format!("/api/disks/{id}/allowed-ips"), None),
        (
            "PUT",
            format!("/api/disks/{id}/allowed-ips"),
            Some(json!({"allowedIps": []})),
        ),
        ("GET", format!("/api/disks/{id}/delegations"), None),
        (
            "POST",
            format!("/api/disks/{id}/revoke-delegation"),
            Some(json!({"clientId": "42", "inodeId": 7})),
        ),
        ("GET", format!("/api/disks/{id}/branches"), None),
        ("GET", format!("/api/disks/{id}/branches/exp"), None),
        (
            "POST",
            format!("/api/disks/{id}/branches"),
            Some(json!({"branch_name": "mine", "from_checkpoint_name": "nightly"})),
        ),
    ];
    for (method, path, body) in attempts {
        let (status, reply) = server.call(method, &path, Some(ALICE_KEY), body).await;
        assert_error(status, &reply, 404, "not found");
        assert_eq!(reply["code"], "not_found", "{method} {path}");
    }
    let (_, list) = server
        .call("GET", "/api/disks", Some(ALICE_KEY), None)
        .await;
    assert_eq!(list["data"], json!([]));
    let (_, list) = server
        .call(
            "GET",
            &format!("/api/disks?q={id}&short=true"),
            Some(ALICE_KEY),
            None,
        )
        .await;
    assert_eq!(
        (list["data"].clone(), list["total"].clone()),
        (json!([]), json!(0))
    );
    // Bob's disk is as it was.
    assert_eq!(server.disk(BOB_KEY, id).await, before);
    let (_, after) = server
        .call(
            "GET",
            &format!("/api/disks/{id}/branches"),
            Some(BOB_KEY),
            None,
        )
        .await;
    assert_eq!(after, bob_branches);
    let (_, delegations) = server
        .call(
            "GET",
            &format!("/api/disks/{id}/delegations"),
            Some(BOB_KEY),
            None,
        )
        .await;
    assert_eq!(
        delegations["data"]["delegations"].as_array().unwrap().len(),
        1
    );
    let (_, list) = server.call("GET", "/api/disks", Some(BOB_KEY), None).await;
    assert_eq!(disk_ids(list["data"].as_array().unwrap()), [id]);
}

#[tokio::test]
async fn every_disk_operation_requires_a_live_key() {
    let server = TestServer::start().await;
    let id = server.create_disk_named(KEY, "d").await;
    for key in [None, Some("key-not-a-live-key-000000")] {
        for (method, path) in [
            ("GET", "/api/disks".to_owned()),
            ("POST", "/api/disks".to_owned()),
            ("GET", format!("/api/disks/{id}")),
            ("DELETE", format!("/api/disks/{id}")),
            ("POST", format!("/api/disks/{id}/users")),
            ("GET", format!("/api/disks/{id}/allowed-ips")),
            ("PUT", format!("/api/disks/{id}/allowed-ips")),
            ("GET", format!("/api/disks/{id}/branches")),
        ] {
            let (status, body) = server
                .call(method, &path, key, Some(json!({"name": "x"})))
                .await;
            assert_eq!(status, 401, "{method} {path}: {body}");
            assert_eq!(body["success"], false);
        }
    }
    assert_eq!(server.list_all_disks(KEY, 100).await.len(), 1);
    let bearer = format!("Bearer {KEY}");
    let (status, _) = server
        .call("GET", &format!("/api/disks/{id}"), Some(&bearer), None)
        .await;
    assert_eq!(status, 200, "Bearer keys are accepted");
}
