//! archil-mock: a local emulator of the Archil Control Plane API, so Archil
//! clients can be tested without the cloud.
//!
//! # Layout
//!
//! - [`server`]: [`App`] (state behind one lock) and [`run`], which serves a
//!   bound listener; the binary, [`MockServer`] and the tests all use it.
//! - [`router`]: the one route table (404 vs 405, path parameters).
//! - [`api`]: one module per API resource ([`api::tokens`]), plain functions
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
pub mod faults;
pub mod fixture;
pub mod journal;
pub mod persist;
pub mod router;
pub mod server;
pub mod state;

pub use config::{Config, ConfigError, KeySpec, DEFAULT_KEY};
pub use error::ApiError;
pub use faults::FaultRule;
pub use fixture::Fixture;
pub use journal::{JournalEntry, JournalFilter};
pub use server::{run, App};
pub use state::State;
