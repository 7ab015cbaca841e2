//! Scenario runs (`archil-mock scenario FILE...`): JSON files that script a
//! flow of requests, check every answer and report one line per step, plus an
//! optional JUnit XML report. Each scenario gets a fresh in-process server
//! built from its fixtures, unless a `--target` URL is given.
//!
//! The pure pieces live here and are unit-tested: the field path syntax
//! ([`JsonPath`]), `{{var}}` templates ([`substitute`]) and expectation
//! diffing ([`Expect::check`]). The file format is documented in
//! `fixtures/scenarios/README.md`. This module does not define the API under
//! test: it is only a client of it.
//!
//! # Layout
//!
//! - `format`: the file format ([`Scenario`], [`Step`], [`Body`]) and its
//!   validation, with [`Invalid`] naming the JSON path of a mistake.
//! - `template`: field paths ([`JsonPath`]), `{{var}}` templates
//!   ([`substitute`]) and [`capture`].
//! - `matching`: expectations ([`Expect`], [`Expected`], [`Matcher`]) checked
//!   against an [`Outcome`].
//! - `runner`: [`Options`] and [`run_files`]: servers, requests, timeouts.
//! - `report`: [`StepReport`], [`ScenarioReport`], [`Summary`] and [`junit`].

mod format;
mod matching;
mod report;
mod runner;
mod template;

pub use format::{Body, Invalid, Scenario, Step, DEFAULT_TIMEOUT_MS};
pub use matching::{Expect, Expected, ExpectedOutcome, Matcher, Outcome};
pub use report::{junit, ScenarioReport, StepReport, Summary};
pub use runner::{run_files, Options, RunError};
pub use template::{
    capture, is_var_name, references, substitute, substitute_str, substitute_value, JsonPath,
    Segment, Vars,
};

/// Helpers shared by the submodules' unit tests.
#[cfg(test)]
mod test_support {
    use bytes::Bytes;
    use hyper::HeaderMap;
    use serde_json::Value;

    use super::{JsonPath, Outcome, Vars};

    pub(super) fn path(p: &str) -> JsonPath {
        p.parse().unwrap()
    }

    pub(super) fn vars(v: Value) -> Vars {
        v.as_object().unwrap().clone()
    }

    pub(super) fn response(status: u16, body: Value) -> Outcome {
        Outcome::Response {
            status,
            headers: HeaderMap::new(),
            body: Bytes::from(body.to_string()),
        }
    }
}
