//! archil-mock: a local emulator of the Archil Control Plane API, so Archil
//! clients can be tested without the cloud.
//!
//! # Example
//!
//! An in-process server on a free port, a client under test, and an
//! assertion on what the server saw:
//!
//! ```
//! use archil_mock::{FaultRule, MockServer};
//!
//! #[tokio::main]
//! async fn main() {
//!     // Arrange: a server, and a fault that fails the next create once.
//!     let server = MockServer::start().await;
//!     server.faults().add(FaultRule::status(503).method("POST").times(1));
//!
//!     // Act: the client retries once after the 503.
//!     let client = reqwest::Client::new();
//!     let create = || {
//!         client
//!             .post(format!("{}/api/tokens", server.uri()))
//!             .header("Authorization", server.api_key())
//!             .json(&serde_json::json!({ "name": "ci" }))
//!             .send()
//!     };
//!     assert_eq!(create().await.unwrap().status(), 503);
//!     assert_eq!(create().await.unwrap().status(), 201);
//!
//!     // Assert: two requests reached the server; the token exists.
//!     assert_eq!(server.requests().len(), 2);
//!     let tokens = &server.state().accounts[0].tokens;
//!     assert!(tokens.iter().any(|t| t.name == "ci"));
//! }
//! ```
//!
//! [`MockServer::builder`] sets keys, accounts, fixtures, the fault seed and
//! the journal size; dropping the handle (or [`MockServer::shutdown`]) stops it.
//!
//! # Layout
//!
//! - [`server`]: [`App`] (state behind one lock) and [`run`], which serves a
//!   bound listener; the binary, [`MockServer`] and the tests all use it.
//! - [`router`]: the one route table (404 vs 405, path parameters).
//! - [`api`]: one module per API resource ([`api::tokens`], [`api::disks`],
//!   [`api::disk_users`], [`api::disk_settings`], [`api::branches`]), plain functions
//!   over [`State`] returning `Result<_, ApiError>`.
//! - [`error`]: [`ApiError`], the only source of error envelopes.
//! - [`faults`], [`journal`], [`admin`]: the test-instrument side: scripted
//!   failures, the request journal, and the `/_mock/` API over both.
//! - [`fixture`], [`persist`]: the starting-state file format and `--state-file`.
//! - [`config`]: [`Config`] and the startup errors.

pub mod admin;
pub mod api;
pub mod client;
pub mod clock;
pub mod config;
pub mod error;
pub mod exec;
pub mod faults;
pub mod fixture;
pub mod gateway;
pub mod journal;
pub mod mock_server;
pub mod persist;
pub mod router;
pub mod scenario;
pub mod server;
pub mod state;
pub mod store;

/// Entry points for the cargo-fuzz targets in `fuzz/` (and `tests/fuzz_seeds.rs`,
/// which replays their seeds): thin wrappers over crate-private decoding
/// steps, so the fuzzers run the server's own code. Not part of the API.
#[doc(hidden)]
pub mod fuzzing {
    use crate::gateway::{self, error::S3Error, xml};

    /// A `CompleteMultipartUpload` body as the gateway reads it: the XML,
    /// then the part numbers. The parts in the order given.
    pub fn complete_parts(body: &[u8]) -> Result<Vec<(u32, String)>, S3Error> {
        gateway::parse_xml(body, "CompleteMultipartUpload").and_then(gateway::complete_parts)
    }

    /// A `Delete` body as the gateway reads it: the XML, then the key count.
    pub fn delete_request(body: &[u8]) -> Result<xml::Delete, S3Error> {
        let request = gateway::parse_xml(body, "Delete")?;
        gateway::check_delete(&request)?;
        Ok(request)
    }
}

pub use config::{Config, ConfigError, KeySpec, DEFAULT_KEY};
pub use error::ApiError;
pub use faults::FaultRule;
pub use fixture::Fixture;
pub use journal::{JournalEntry, JournalFilter};
pub use mock_server::{MockFaults, MockServer, MockServerBuilder};
pub use server::{run, App};
pub use state::State;
