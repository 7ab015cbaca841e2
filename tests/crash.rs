//! Crash safety of `--state-file`: the real binary is SIGKILLed at a random
//! moment of a write burst (tokens and disks), 20 times over one state file.
//! After each kill a restart must load the file, hold every token and disk
//! whose create was acknowledged (unless a delete of it was sent), hold none
//! whose delete was acknowledged, and hold nothing half-written: the file
//! parses, every token and disk in it is complete, and every name in it is
//! one a client sent.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Binary;

use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

const KEY: &str = "key-archil-mock";
const ROUNDS: usize = 20;
const WRITERS: usize = 4;

/// What the clients know for certain, across every round.
#[derive(Default)]
struct Record {
    /// Every name ever sent in a create.
    sent_names: BTreeSet<String>,
    /// Acknowledged creates: id → name.
    created: BTreeMap<String, String>,
    /// Ids a delete was sent for, acknowledged or not.
    delete_sent: BTreeSet<String>,
    /// Ids whose delete was acknowledged.
    deleted: BTreeSet<String>,
}

type Server = Binary;

fn start(state: &Path) -> Server {
    Binary::start([OsStr::new("--state-file"), state.as_os_str()])
}

/// One writer: creates (and now and then deletes one of its own) until the
/// server goes away, recording only what was acknowledged. Odd writers
/// write disks, even ones tokens.
async fn writer(base: String, round: usize, n: usize, seed: u64, record: Arc<Mutex<Record>>) {
    let (collection, id_field) = if n % 2 == 1 {
        ("disks", "diskId")
    } else {
        ("tokens", "id")
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut mine: Vec<String> = Vec::new();
    for i in 0.. {
        if !mine.is_empty() && rng.random_bool(0.2) {
            let id = mine.swap_remove(rng.random_range(0..mine.len()));
            record.lock().delete_sent.insert(id.clone());
            let sent = http
                .delete(format!("{base}/api/{collection}/{id}"))
                .header("authorization", KEY)
                .send()
                .await;
            match sent {
                Ok(r) if r.status() == 200 => {
                    record.lock().deleted.insert(id);
                }
                Ok(r) => panic!("delete answered {}", r.status()),
                Err(_) => return,
            }
        } else {
            let name = format!("r{round}-w{n}-{i}");
            record.lock().sent_names.insert(name.clone());
            let sent = http
                .post(format!("{base}/api/{collection}"))
                .header("authorization", KEY)
                .json(&json!({ "name": name }))
                .send()
                .await;
            let body: Value = match sent {
                Ok(r) if r.status() == 201 => match r.json().await {
                    Ok(body) => body,
                    // Killed between the head and the body: not acknowledged.
                    Err(_) => return,
                },
                Ok(r) => panic!("create answered {}", r.status()),
                Err(_) => return,
            };
            let id = body["data"][id_field].as_str().unwrap().to_owned();
            record.lock().created.insert(id.clone(), name);
            mine.push(id);
        }
    }
}

/// The state file parses as JSON, and every token and disk in it is complete.
fn check_file(state: &Path, record: &Record) -> usize {
    let text = std::fs::read_to_string(state).expect("the state file exists");
    let file: Value = serde_json::from_str(&text).expect("the state file is whole JSON");
    let mut count = 0;
    for account in file["accounts"].as_array().expect("accounts") {
        for token in account["tokens"].as_array().expect("tokens") {
            let id = token["id"].as_str().expect("every token has an id");
            assert!(
                id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()),
                "{token}"
            );
            assert_eq!(
                token["tokenSuffix"].as_str().map(|s| s.chars().count()),
                Some(4),
                "{token}"
            );
            assert!(token["createdAt"].is_string(), "{token}");
            let name = token["name"].as_str().expect("every token has a name");
            assert!(
                name == "bootstrap" || record.sent_names.contains(name),
                "a token named {name:?} that no client sent"
            );
            count += 1;
        }
        for disk in account["disks"].as_array().into_iter().flatten() {
            let id = disk["id"].as_str().expect("every disk has an id");
            assert!(id.len() == 20 && id.starts_with("dsk-"), "{disk}");
            let name = disk["name"].as_str().expect("every disk has a name");
            assert!(
                record.sent_names.contains(name),
                "a disk named {name:?} that no client sent"
            );
            let users = disk["users"]
                .as_array()
                .expect("a created disk has its user");
            for user in users {
                let digest = user["tokenDigest"].as_str().expect("users by digest");
                assert_eq!(digest.len(), 64, "{disk}");
            }
            count += 1;
        }
    }
    count
}

/// What a restarted server lists, tokens and disks, as id → name.
async fn listed(base: &str) -> BTreeMap<String, String> {
    let mut out = listed_in(base, "tokens").await;
    for (id, name) in listed_in(base, "disks").await {
        assert!(out.insert(id, name).is_none(), "listed twice");
    }
    out
}

async fn listed_in(base: &str, collection: &str) -> BTreeMap<String, String> {
    let http = reqwest::Client::new();
    let mut out = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{base}/api/{collection}?limit=100&cursor={c}"),
            None => format!("{base}/api/{collection}?limit=100"),
        };
        let body: Value = http
            .get(url)
            .header("authorization", KEY)
            .send()
            .await
            .expect("the restarted server answers")
            .json()
            .await
            .unwrap();
        let rows = match collection {
            "tokens" => &body["data"]["tokens"],
            _ => &body["data"],
        };
        for t in rows.as_array().unwrap() {
            let id = t["id"].as_str().unwrap().to_owned();
            let name = t["name"].as_str().unwrap().to_owned();
            assert!(out.insert(id, name).is_none(), "listed twice");
        }
        match body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

/// Checks a freshly started server against everything acknowledged so far.
async fn check_restart(server: &Server, state: &Path, record: &Record) {
    let in_file = check_file(state, record);
    let tokens = listed(&server.base).await;
    assert_eq!(
        tokens.len(),
        in_file,
        "the server lists what the file holds"
    );
    for (id, name) in &record.created {
        if !record.delete_sent.contains(id) {
            assert_eq!(
                tokens.get(id),
                Some(name),
                "acknowledged create {name} ({id}) lost"
            );
        }
    }
    for id in &record.deleted {
        assert!(
            !tokens.contains_key(id),
            "acknowledged delete of {id} undone"
        );
    }
}

fn temp_state() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("archil-mock-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("state.json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_token_and_disk_write_burst_loses_no_acknowledged_write_20_times() {
    let started = Instant::now();
    let state = temp_state();
    let seed: u64 = rand::random();
    eprintln!("seed {seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let record = Arc::new(Mutex::new(Record::default()));
    let mut server = start(&state);

    for round in 0..ROUNDS {
        let writers: Vec<_> = (0..WRITERS)
            .map(|n| {
                tokio::spawn(writer(
                    server.base.clone(),
                    round,
                    n,
                    rng.random(),
                    record.clone(),
                ))
            })
            .collect();
        // Kill anywhere from the first request to well into the burst.
        let delay = Duration::from_millis(rng.random_range(0..300));
        tokio::time::sleep(delay).await;
        server.child.kill().expect("SIGKILL");
        server.child.wait().unwrap();
        for w in writers {
            w.await.expect("a writer ends cleanly when the server dies");
        }

        server = start(&state);
        let snapshot = std::mem::take(&mut *record.lock());
        check_restart(&server, &state, &snapshot).await;
        *record.lock() = snapshot;
    }
    drop(server);

    let record = record.lock();
    eprintln!(
        "{ROUNDS} kills in {:?}: {} creates and {} deletes acknowledged",
        started.elapsed(),
        record.created.len(),
        record.deleted.len()
    );
    // The bursts did write: most rounds were killed with work acknowledged.
    assert!(
        record.created.len() >= ROUNDS,
        "only {} creates acknowledged",
        record.created.len()
    );
    let _ = std::fs::remove_dir_all(state.parent().unwrap());
}
