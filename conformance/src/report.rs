//! Pass/fail bookkeeping with a readable diff for each failure.

use std::fmt::Write as _;

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every compared string matched.
    Pass,
    /// Something differed; the text explains what.
    Fail(String),
}

/// Collects outcomes and prints the summary line every runner ends with.
#[derive(Debug, Default)]
pub struct Report {
    passed: usize,
    failed: usize,
}

impl Report {
    /// Records `outcome` for `name`, printing the failure explanation.
    pub fn record(&mut self, file: &str, name: &str, outcome: Outcome) {
        match outcome {
            Outcome::Pass => self.passed += 1,
            Outcome::Fail(why) => {
                self.failed += 1;
                println!("FAIL {file} :: {name}\n{why}");
            }
        }
    }

    /// Number of passed cases.
    pub fn passed(&self) -> usize {
        self.passed
    }

    /// Number of failed cases.
    pub fn failed(&self) -> usize {
        self.failed
    }

    /// `N passed, M failed`.
    pub fn summary(&self) -> String {
        format!("{} passed, {} failed", self.passed, self.failed)
    }
}

/// Compares `expected` and `actual` field `what`; on difference appends a line diff to `out`.
pub fn compare(what: &str, expected: &str, actual: &str, out: &mut String) {
    if expected == actual {
        return;
    }
    let _ = writeln!(out, "  {what} differs:");
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.split('\n').collect(), actual.split('\n').collect());
    for i in 0..e.len().max(a.len()) {
        match (e.get(i), a.get(i)) {
            (Some(x), Some(y)) if x == y => {
                let _ = writeln!(out, "      {x:?}");
            }
            (x, y) => {
                if let Some(x) = x {
                    let _ = writeln!(out, "    - {x:?}");
                }
                if let Some(y) = y {
                    let _ = writeln!(out, "    + {y:?}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_marks_changed_lines() {
        let mut out = String::new();
        compare("x", "a\nb", "a\nc", &mut out);
        assert!(out.contains("- \"b\"") && out.contains("+ \"c\""));
        let mut same = String::new();
        compare("x", "a", "a", &mut same);
        assert!(same.is_empty());
    }
}
