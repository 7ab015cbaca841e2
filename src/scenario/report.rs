//! Reporting results: [`StepReport`], [`ScenarioReport`] and [`Summary`],
//! the `PASS`/`FAIL` line per step, and the JUnit XML report.

use std::fmt;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

/// The result of one step.
#[derive(Debug, Clone)]
pub struct StepReport {
    /// The step's name.
    pub name: String,
    /// Every mismatch; empty means it passed.
    pub problems: Vec<String>,
    /// What actually happened, in one line (absent if nothing was sent).
    pub actual: Option<String>,
    /// How long it took.
    pub elapsed: Duration,
}

impl StepReport {
    /// Whether every expectation held.
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The result of one scenario.
#[derive(Debug, Clone)]
pub struct ScenarioReport {
    /// The scenario's name.
    pub name: String,
    /// Why it could not start (its steps then did not run).
    pub setup_error: Option<String>,
    /// One per step that ran.
    pub steps: Vec<StepReport>,
    /// How long it took.
    pub elapsed: Duration,
}

/// Totals over every step (a scenario that cannot start counts as one failure).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Steps that passed.
    pub passed: usize,
    /// Steps that failed.
    pub failed: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} passed, {} failed", self.passed, self.failed)
    }
}

pub(super) fn write_step(
    out: &mut dyn Write,
    scenario: &str,
    step: &StepReport,
) -> std::io::Result<()> {
    let ms = step.elapsed.as_millis();
    if step.passed() {
        writeln!(out, "PASS {scenario}: {} ({ms} ms)", step.name)?;
    } else {
        writeln!(out, "FAIL {scenario}: {} ({ms} ms)", step.name)?;
        for p in &step.problems {
            writeln!(out, "    {p}")?;
        }
        if let Some(actual) = &step.actual {
            writeln!(out, "    actual: {actual}")?;
        }
    }
    out.flush()
}

/// The JUnit XML for these reports: one testsuite per scenario, one testcase per step.
pub fn junit(reports: &[ScenarioReport]) -> Result<String, String> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut report = Report::new("archil-mock scenarios");
    let mut total = Duration::ZERO;
    for r in reports {
        let mut suite = TestSuite::new(r.name.as_str());
        suite.set_time(r.elapsed);
        total += r.elapsed;
        if let Some(e) = &r.setup_error {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_message(e.as_str());
            let mut case = TestCase::new("(setup)", status);
            case.set_classname(r.name.as_str());
            suite.add_test_case(case);
        }
        for step in &r.steps {
            let status = if step.passed() {
                TestCaseStatus::success()
            } else {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                status.set_message(step.problems[0].as_str());
                let mut detail = step.problems.join("\n");
                if let Some(actual) = &step.actual {
                    detail.push_str(&format!("\nactual: {actual}"));
                }
                status.set_description(detail);
                status
            };
            let mut case = TestCase::new(step.name.as_str(), status);
            case.set_classname(r.name.as_str());
            case.set_time(step.elapsed);
            suite.add_test_case(case);
        }
        report.add_test_suite(suite);
    }
    report.set_time(total);
    report
        .to_string()
        .map_err(|e| format!("cannot render the JUnit report: {e}"))
}

pub(super) fn write_junit(path: &Path, reports: &[ScenarioReport]) -> Result<(), String> {
    let xml = junit(reports)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("{}: cannot create: {e}", dir.display()))?;
    }
    std::fs::write(path, xml).map_err(|e| format!("{}: cannot write: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn junit_has_a_suite_per_scenario_and_a_case_per_step() {
        let step = |name: &str, problems: Vec<String>| StepReport {
            name: name.into(),
            problems,
            actual: Some("200 {}".into()),
            elapsed: Duration::from_millis(1),
        };
        let xml = junit(&[ScenarioReport {
            name: "lifecycle".into(),
            setup_error: None,
            steps: vec![
                step("ok", vec![]),
                step("bad", vec!["status: expected 201, got 200".into()]),
            ],
            elapsed: Duration::from_millis(2),
        }])
        .unwrap();
        let parsed = quick_junit::Report::deserialize_from_str(&xml).unwrap();
        assert_eq!(parsed.tests, 2);
        assert_eq!(parsed.failures, 1);
        assert_eq!(parsed.test_suites[0].name.as_str(), "lifecycle");
        assert!(xml.contains("status: expected 201, got 200"), "{xml}");
    }
}
