//! The admin API under `/_mock/` and the operations behind it. The HTTP
//! endpoints and the Rust handle ([`crate::MockServer`]) call the same
//! methods on [`App`]. Admin requests skip faults, auth and the journal.

use std::sync::Arc;

use hyper::http::request::Parts;
use hyper::StatusCode;
use serde::Serialize;
use serde_json::Value;
use subtle::ConstantTimeEq;

use crate::api::Reply;
use crate::config::ConfigError;
use crate::error::{json_response, ApiError};
use crate::faults::FaultRule;
use crate::fixture::Fixture;
use crate::journal::{JournalEntry, JournalFilter};
use crate::router::{self, AdminRoute, Route};
use crate::server::App;

/// The header that carries `--admin-token`.
pub const ADMIN_TOKEN_HEADER: &str = "x-archil-mock-admin-token";

impl App {
    /// Returns to the startup state: keys and fixtures loaded (fixture files
    /// are read again, so edits take effect), their faults only, an empty
    /// journal. With a state file, the state as loaded at startup, and the
    /// file follows. A fixture that no longer loads changes nothing.
    pub async fn reset(self: &Arc<Self>) -> Result<(), ConfigError> {
        let (mut state, faults) = self.startup()?;
        state.settings.share_key = self.share_key;
        let old = {
            let mut core = self.core.lock();
            core.faults = faults;
            core.journal.clear();
            std::mem::replace(&mut core.state, state)
        };
        // Object bytes only the old state referred to are freed, and the
        // object log is rewritten to match the restored index.
        crate::gateway::after_reset(self, &old);
        self.persist().await;
        Ok(())
    }

    /// Adds fault rules (all or none) and returns their ids.
    pub fn add_faults(&self, rules: Vec<FaultRule>) -> Result<Vec<String>, String> {
        self.core.lock().faults.add(rules)
    }

    /// Removes a fault rule; false if no rule has that id.
    pub fn remove_fault(&self, id: &str) -> bool {
        self.core.lock().faults.remove(id)
    }

    /// Removes every fault rule; returns how many there were.
    pub fn clear_faults(&self) -> usize {
        self.core.lock().faults.clear()
    }

    /// The live fault rules, with what remains of their `times`.
    pub fn faults(&self) -> Vec<FaultRule> {
        self.core.lock().faults.list().to_vec()
    }

    /// Journaled requests passing the filter, oldest first.
    pub fn requests(&self, filter: &JournalFilter) -> Vec<JournalEntry> {
        self.core.lock().journal.list(filter)
    }

    /// Empties the journal; returns how many entries it had.
    pub fn clear_requests(&self) -> usize {
        self.core.lock().journal.clear()
    }

    /// Every account, token and disk (with its objects' metadata), without
    /// secrets, as a loadable fixture.
    pub fn snapshot(&self) -> Fixture {
        Fixture::snapshot_with(&self.core.lock().state, true)
    }
}

#[derive(Serialize)]
struct Ids {
    ids: Vec<String>,
}

#[derive(Serialize)]
struct Count {
    removed: usize,
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    seed: u64,
}

#[derive(Serialize)]
struct Requests {
    requests: Vec<JournalEntry>,
}

#[derive(Serialize)]
struct Faults {
    faults: Vec<FaultRule>,
}

/// Answers one admin request.
pub(crate) async fn serve(
    app: &Arc<App>,
    parts: &Parts,
    body: &[u8],
) -> hyper::Response<http_body_util::Full<bytes::Bytes>> {
    match handle(app, parts, body).await {
        Ok(reply) => json_response(reply.status, reply.body),
        Err(e) => e.into_response(),
    }
}

async fn handle(app: &Arc<App>, parts: &Parts, body: &[u8]) -> Result<Reply, ApiError> {
    let route = match router::route(&parts.method, parts.uri.path())? {
        Route::Admin(route) => route,
        _ => unreachable!("only /_mock/ paths reach here"),
    };
    if let Some(expected) = &app.config.admin_token {
        let given = parts
            .headers
            .get(ADMIN_TOKEN_HEADER)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !bool::from(given.ct_eq(expected.as_bytes())) {
            return Err(ApiError::Unauthorized(format!(
                "the admin API needs the {ADMIN_TOKEN_HEADER} header given by --admin-token"
            )));
        }
    }
    Ok(match route {
        AdminRoute::Health => ok(&Health {
            status: "ok",
            seed: app.seed(),
        }),
        AdminRoute::Reset => {
            app.reset()
                .await
                .map_err(|e| ApiError::Conflict(format!("reset refused, nothing changed: {e}")))?;
            ok(&Health {
                status: "reset",
                seed: app.seed(),
            })
        }
        AdminRoute::ListFaults => ok(&Faults {
            faults: app.faults(),
        }),
        AdminRoute::AddFaults => {
            let rules = parse_rules(body, "a fault rule")?;
            let ids = app.add_faults(rules).map_err(ApiError::Validation)?;
            Reply::new(StatusCode::CREATED, &Ids { ids }, None)
        }
        AdminRoute::RemoveFault(id) => {
            if !app.remove_fault(&id) {
                return Err(ApiError::NotFound(format!("no fault rule with id {id}")));
            }
            ok(&Count { removed: 1 })
        }
        AdminRoute::ClearFaults => ok(&Count {
            removed: app.clear_faults(),
        }),
        AdminRoute::ListRequests => {
            let mut filter = JournalFilter::default();
            for (k, v) in form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()) {
                match k.as_ref() {
                    "method" => filter.method = Some(v.into_owned()),
                    "path" => filter.path = Some(v.into_owned()),
                    _ => {}
                }
            }
            ok(&Requests {
                requests: app.requests(&filter),
            })
        }
        AdminRoute::ClearRequests => ok(&Count {
            removed: app.clear_requests(),
        }),
        AdminRoute::State => ok(&app.snapshot()),
        AdminRoute::ListExecRules => ok(&ExecRulesList {
            rules: app.core.lock().state.exec_rules.list().to_vec(),
        }),
        AdminRoute::AddExecRules => {
            let rules = parse_rules(body, "an exec rule")?;
            let ids = app
                .core
                .lock()
                .state
                .exec_rules
                .add(rules)
                .map_err(ApiError::Validation)?;
            Reply::new(StatusCode::CREATED, &Ids { ids }, None)
        }
        AdminRoute::RemoveExecRule(id) => {
            if !app.core.lock().state.exec_rules.remove(&id) {
                return Err(ApiError::NotFound(format!("no exec rule with id {id}")));
            }
            ok(&Count { removed: 1 })
        }
        AdminRoute::ClearExecRules => ok(&Count {
            removed: app.core.lock().state.exec_rules.clear(),
        }),
    })
}

#[derive(Serialize)]
struct ExecRulesList {
    rules: Vec<crate::exec::ExecRule>,
}

/// One rule or an array of rules (fault or exec rules: `what` names them);
/// errors name the rule and the field.
fn parse_rules<T: serde::de::DeserializeOwned>(
    body: &[u8],
    what: &str,
) -> Result<Vec<T>, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::Validation(format!("request body is not valid JSON: {e}")))?;
    let items = match value {
        Value::Array(items) => items,
        object @ Value::Object(_) => vec![object],
        _ => {
            return Err(ApiError::Validation(format!(
                "request body must be {what} object or an array of them"
            )))
        }
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            serde_path_to_error::deserialize::<_, T>(item).map_err(|e| {
                let path = e.path().to_string();
                ApiError::Validation(if path == "." {
                    format!("rule {i}: {}", e.into_inner())
                } else {
                    format!("rule {i}: {path}: {}", e.into_inner())
                })
            })
        })
        .collect()
}

fn ok<T: Serialize>(data: &T) -> Reply {
    Reply::new(StatusCode::OK, data, None)
}
