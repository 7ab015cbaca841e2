//! Concurrency: 8 clients × 500 mixed creates, lists and deletes against one
//! server, each client keeping its own record of what it created and
//! deleted. Afterwards the server's list must be exactly the union of what
//! the clients believe exists, with no token lost or listed twice, and every
//! deleted token must be refused with 401.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};

use common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

const CLIENTS: usize = 8;
const OPS: usize = 500;

/// One client's view: what it created and still believes live, and what it deleted.
#[derive(Default)]
struct Ledger {
    /// id → secret.
    live: BTreeMap<String, String>,
    /// id → secret.
    deleted: BTreeMap<String, String>,
    creates: usize,
    lists: usize,
}

async fn send(
    http: &reqwest::Client,
    base: &str,
    method: reqwest::Method,
    path: &str,
    key: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = http
        .request(method, format!("{base}{path}"))
        .header("authorization", key);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.expect("the server answers");
    let status = resp.status().as_u16();
    let json = resp.json().await.expect("a JSON body");
    (status, json)
}

/// One client: a keep-alive connection pool of its own and a seeded mix of
/// operations. Lists are checked as they happen: no id twice on a page, and
/// never a token this client has already seen deleted.
async fn client(n: usize, seed: u64, base: String) -> Ledger {
    let http = reqwest::Client::new();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut ledger = Ledger::default();
    for op in 0..OPS {
        let roll = rng.random_range(0..100);
        if roll < 50 || ledger.live.is_empty() {
            let name = format!("c{n}-op{op}");
            let (status, body) = send(
                &http,
                &base,
                reqwest::Method::POST,
                "/api/tokens",
                KEY,
                Some(json!({ "name": name })),
            )
            .await;
            assert_eq!(status, 201, "{body}");
            let data = &body["data"];
            assert_eq!(data["name"], name.as_str());
            let id = data["id"].as_str().unwrap().to_owned();
            let secret = data["token"].as_str().unwrap().to_owned();
            assert!(ledger.live.insert(id, secret).is_none(), "id issued twice");
            ledger.creates += 1;
        } else if roll < 75 {
            let pick = rng.random_range(0..ledger.live.len());
            let id = ledger.live.keys().nth(pick).unwrap().clone();
            let secret = ledger.live.remove(&id).unwrap();
            // Half the time the token revokes itself.
            let key = if rng.random_bool(0.5) {
                secret.clone()
            } else {
                KEY.to_owned()
            };
            let (status, body) = send(
                &http,
                &base,
                reqwest::Method::DELETE,
                &format!("/api/tokens/{id}"),
                &key,
                None,
            )
            .await;
            assert_eq!(status, 200, "{body}");
            ledger.deleted.insert(id, secret);
        } else {
            // Some lists authenticate with a token this client created.
            let key = match ledger.live.values().next() {
                Some(secret) if rng.random_bool(0.3) => secret.clone(),
                _ => KEY.to_owned(),
            };
            let limit = rng.random_range(1..=100);
            let (status, body) = send(
                &http,
                &base,
                reqwest::Method::GET,
                &format!("/api/tokens?limit={limit}"),
                &key,
                None,
            )
            .await;
            assert_eq!(status, 200, "{body}");
            let tokens = body["data"]["tokens"].as_array().unwrap();
            assert!(tokens.len() <= limit);
            let mut seen = HashSet::new();
            for token in tokens {
                let id = token["id"].as_str().unwrap();
                assert!(seen.insert(id), "{id} twice on one page");
                assert!(
                    !ledger.deleted.contains_key(id),
                    "{id} listed after its delete was acknowledged"
                );
            }
            ledger.lists += 1;
        }
    }
    ledger
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_clients_of_500_mixed_operations_lose_and_duplicate_nothing() {
    let server = TestServer::start().await;
    let bootstrap: Vec<String> = server
        .list_all(KEY, 100)
        .await
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    let seed: u64 = rand::random();
    eprintln!("seed {seed}");

    let tasks: Vec<_> = (0..CLIENTS)
        .map(|n| tokio::spawn(client(n, seed.wrapping_add(n as u64), server.base.clone())))
        .collect();
    let mut ledgers = Vec::new();
    for task in tasks {
        ledgers.push(task.await.expect("a client finished"));
    }

    // Every operation happened, and each kind at least a fair number of times.
    let creates: usize = ledgers.iter().map(|l| l.creates).sum();
    let deletes: usize = ledgers.iter().map(|l| l.deleted.len()).sum();
    let lists: usize = ledgers.iter().map(|l| l.lists).sum();
    assert_eq!(creates + deletes + lists, CLIENTS * OPS);
    assert!(
        creates > 1000 && deletes > 500 && lists > 500,
        "{creates} {deletes} {lists}"
    );

    // What the clients believe exists.
    let mut believed: BTreeSet<String> = bootstrap.iter().cloned().collect();
    for ledger in &ledgers {
        for id in ledger.live.keys() {
            assert!(believed.insert(id.clone()), "{id} believed live twice");
        }
    }

    // The server's list: no duplicates, and exactly the believed set.
    let listed: Vec<String> = server
        .list_all(KEY, 100)
        .await
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    let listed_set: BTreeSet<String> = listed.iter().cloned().collect();
    assert_eq!(listed.len(), listed_set.len(), "a token is listed twice");
    let lost: Vec<_> = believed.difference(&listed_set).collect();
    let extra: Vec<_> = listed_set.difference(&believed).collect();
    assert!(lost.is_empty(), "lost: {lost:?}");
    assert!(extra.is_empty(), "listed but deleted or unknown: {extra:?}");
    assert_eq!(listed.len(), bootstrap.len() + creates - deletes);

    // Every deleted token is refused; a sample of the live ones still works.
    let http = reqwest::Client::new();
    for ledger in &ledgers {
        for (id, secret) in &ledger.deleted {
            let (status, body) = send(
                &http,
                &server.base,
                reqwest::Method::GET,
                "/api/tokens?limit=1",
                secret,
                None,
            )
            .await;
            assert_eq!(
                status, 401,
                "deleted token {id} still authenticates: {body}"
            );
            assert_eq!(body["success"], false);
        }
        for secret in ledger.live.values().take(5) {
            let (status, _) = send(
                &http,
                &server.base,
                reqwest::Method::GET,
                "/api/tokens?limit=1",
                secret,
                None,
            )
            .await;
            assert_eq!(status, 200);
        }
    }
}
