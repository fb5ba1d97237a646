//! `analyze table1`: descriptives per group and a group comparison with the test chosen
//! automatically (rule in docs/stats.md) and the reason printed.

use crate::error::{AnalysisError, Result};
use crate::table::{RawColumn, Table};
use ecmo_stats::describe::Summary;
use ecmo_stats::table1::{ChosenTest, LevelCount, TestChoice, compare_categorical, compare_continuous};
use serde::Serialize;

/// What to tabulate.
#[derive(Debug, Clone, PartialEq)]
pub struct Table1Request {
    /// Grouping column (2 or more levels).
    pub group: String,
    /// Variables (empty = every other column read).
    pub vars: Vec<String>,
    /// Numeric columns to treat as categorical (text columns and 0/1 columns always are).
    pub categorical: Vec<String>,
    /// Test choice for continuous variables.
    pub choice: TestChoice,
}

/// Summary of one group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupSummary {
    /// Group label (`overall` for all groups together).
    pub group: String,
    /// n, missing, mean, sd, median, q1, q3, iqr, min, max.
    #[serde(flatten)]
    pub summary: Summary,
}

/// One variable of Table 1.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Variable {
    /// Column.
    pub name: String,
    /// "continuous" or "categorical".
    pub kind: String,
    /// Continuous: overall then per-group summaries (empty for categorical).
    pub summaries: Vec<GroupSummary>,
    /// Categorical: per level, counts and column percentages per group (in `groups` order).
    pub levels: Vec<LevelCount>,
    /// Missing values per group.
    pub missing: Vec<usize>,
    /// Name of the test.
    pub test: String,
    /// Test statistic.
    pub statistic: f64,
    /// Degrees of freedom (if any).
    pub df: Option<f64>,
    /// p-value.
    pub p: f64,
    /// Why this test.
    pub reason: String,
}

/// Result of `analyze table1`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table1Report {
    /// Source file.
    pub source: String,
    /// Grouping column.
    pub group: String,
    /// Group labels, in order.
    pub groups: Vec<String>,
    /// Rows per group.
    pub group_n: Vec<usize>,
    /// Rows used (group present).
    pub n: usize,
    /// Rows dropped because the group was missing.
    pub dropped: usize,
    /// Variables.
    pub variables: Vec<Variable>,
}

fn zero_one(v: &[f64]) -> bool {
    v.iter().all(|x| x.is_nan() || *x == 0.0 || *x == 1.0)
}

fn from_test(t: ChosenTest) -> (String, f64, Option<f64>, f64, String) {
    (t.test, t.statistic, t.df, t.p, t.reason)
}

/// Build the table.
pub fn run(table: &Table, req: &Table1Request) -> Result<Table1Report> {
    let g = req.group.as_str();
    let sel = table.complete_rows(&[g])?;
    let (glevels, gcodes) = table.levels(g)?;
    let present: Vec<usize> = (0..glevels.len()).filter(|k| sel.rows.iter().any(|&r| gcodes[r] == Some(*k))).collect();
    if present.len() < 2 {
        return Err(AnalysisError::Request(format!(
            "'{g}' has {} level(s) in the data; Table 1 needs at least two groups",
            present.len()
        )));
    }
    let group_names: Vec<String> = present.iter().map(|&k| glevels[k].clone()).collect();
    let group: Vec<usize> =
        sel.rows.iter().map(|&r| gcodes[r].and_then(|c| present.iter().position(|&k| k == c)).unwrap_or(0)).collect();
    let group_n: Vec<usize> = (0..present.len()).map(|j| group.iter().filter(|&&x| x == j).count()).collect();
    let vars: Vec<String> = if req.vars.is_empty() {
        table.names().iter().filter(|n| n.as_str() != g).cloned().collect()
    } else {
        req.vars.clone()
    };
    let mut out = Vec::new();
    for v in &vars {
        if v == g {
            return Err(AnalysisError::Request(format!("'{v}' is the grouping column")));
        }
        let col = table.column(v)?;
        let categorical = req.categorical.iter().any(|c| c == v)
            || match col {
                RawColumn::Text(t) => !t.has_numbers,
                RawColumn::Numeric(x) => zero_one(x),
            };
        if categorical {
            let (levels, codes) = table.levels(v)?;
            let value: Vec<Option<usize>> = sel.rows.iter().map(|&r| codes[r]).collect();
            let row = compare_categorical(v, &value, &levels, &group, &group_names)?;
            let (test, statistic, df, p, reason) = from_test(row.test);
            out.push(Variable {
                name: v.clone(),
                kind: "categorical".into(),
                summaries: Vec::new(),
                levels: row.levels,
                missing: row.missing,
                test,
                statistic,
                df,
                p,
                reason,
            });
        } else {
            let x = table.numeric_rows(v, &sel.rows)?;
            let row = compare_continuous(v, &x, &group, &group_names, req.choice)?;
            let mut summaries = vec![GroupSummary { group: "overall".into(), summary: row.overall }];
            let missing = row.groups.iter().map(|(_, s)| s.missing).collect();
            summaries.extend(row.groups.into_iter().map(|(group, summary)| GroupSummary { group, summary }));
            let (test, statistic, df, p, reason) = from_test(row.test);
            out.push(Variable {
                name: v.clone(),
                kind: "continuous".into(),
                summaries,
                levels: Vec::new(),
                missing,
                test,
                statistic,
                df,
                p,
                reason,
            });
        }
    }
    Ok(Table1Report {
        source: table.source.clone(),
        group: g.to_string(),
        groups: group_names,
        group_n,
        n: sel.rows.len(),
        dropped: sel.dropped,
        variables: out,
    })
}
