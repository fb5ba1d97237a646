//! "Table 1": per-group descriptives and a group comparison with an automatic, explained
//! choice of test.
//!
//! Automatic choice (documented in docs/stats.md):
//! * continuous, 2 groups: Welch t-test if every group has n >= 3 and |skewness| <= 1,
//!   otherwise Wilcoxon rank-sum (normal approximation with continuity correction, or exact
//!   for n < 50 per group without ties, as R's `wilcox.test`);
//! * continuous, k > 2 groups: one-way ANOVA under the same rule, otherwise Kruskal-Wallis;
//! * categorical: Pearson chi-square (`chisq.test` default, Yates for 2x2) if every expected
//!   count is >= 5, otherwise Fisher's exact test.

use crate::describe::{Summary, skewness, summarize};
use crate::error::{Result, StatsError};
use crate::htest::{Table, anova_oneway, chisq_test, fisher_test, kruskal_test, t_test, wilcoxon_rank_sum};
use serde::Serialize;

/// Which test to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TestChoice {
    /// Decide automatically (see module docs) and say why.
    Auto,
    /// Welch t / ANOVA.
    Parametric,
    /// Wilcoxon / Kruskal-Wallis.
    Nonparametric,
}

/// The test that was run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChosenTest {
    /// Name of the test.
    pub test: String,
    /// Statistic.
    pub statistic: f64,
    /// Degrees of freedom (if any).
    pub df: Option<f64>,
    /// p-value.
    pub p: f64,
    /// Why this test.
    pub reason: String,
}

/// A continuous variable's row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContinuousRow {
    /// Variable name.
    pub name: String,
    /// "continuous".
    pub kind: String,
    /// All groups together.
    pub overall: Summary,
    /// Per group (same order as the group names).
    pub groups: Vec<(String, Summary)>,
    /// Test.
    pub test: ChosenTest,
}

/// Count and percentage of a level within a group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LevelCount {
    /// Level.
    pub level: String,
    /// Count per group.
    pub counts: Vec<f64>,
    /// Column percentage per group.
    pub percent: Vec<f64>,
}

/// A categorical variable's row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoricalRow {
    /// Variable name.
    pub name: String,
    /// "categorical".
    pub kind: String,
    /// Group names.
    pub group_names: Vec<String>,
    /// Level rows.
    pub levels: Vec<LevelCount>,
    /// Missing values per group.
    pub missing: Vec<usize>,
    /// Test.
    pub test: ChosenTest,
}

/// Compare a continuous variable (`NaN` = missing) across groups (`group[i]` indexes `group_names`).
pub fn compare_continuous(
    name: &str,
    x: &[f64],
    group: &[usize],
    group_names: &[String],
    choice: TestChoice,
) -> Result<ContinuousRow> {
    if x.len() != group.len() {
        return Err(StatsError::DimensionMismatch("values and groups differ in length".into()));
    }
    let k = group_names.len();
    let per: Vec<Vec<f64>> =
        (0..k).map(|g| x.iter().zip(group).filter(|(_, gg)| **gg == g).map(|(v, _)| *v).collect()).collect();
    let clean: Vec<Vec<f64>> = per.iter().map(|v| v.iter().copied().filter(|x| !x.is_nan()).collect()).collect();
    let normalish = clean.iter().all(|g| g.len() >= 3 && skewness(g).abs() <= 1.0);
    let parametric = match choice {
        TestChoice::Auto => normalish,
        TestChoice::Parametric => true,
        TestChoice::Nonparametric => false,
    };
    let reason = match choice {
        TestChoice::Auto if normalish => "auto: every group n >= 3 and |skewness| <= 1".to_string(),
        TestChoice::Auto => "auto: a group is small (n < 3) or skewed (|skewness| > 1)".to_string(),
        _ => "requested".to_string(),
    };
    let test = if k == 2 {
        if parametric {
            let t = t_test(&clean[0], &clean[1], false, 0.95)?;
            ChosenTest {
                test: "Welch two-sample t-test".into(),
                statistic: t.statistic,
                df: Some(t.df),
                p: t.p,
                reason,
            }
        } else {
            let w = wilcoxon_rank_sum(&clean[0], &clean[1], true, None)?;
            ChosenTest { test: w.method.clone(), statistic: w.statistic, df: None, p: w.p, reason }
        }
    } else {
        let gs: Vec<&[f64]> = clean.iter().map(|v| v.as_slice()).collect();
        if parametric {
            let a = anova_oneway(&gs)?;
            ChosenTest { test: "one-way ANOVA".into(), statistic: a.statistic, df: Some(a.df1), p: a.p, reason }
        } else {
            let kw = kruskal_test(&gs)?;
            ChosenTest {
                test: "Kruskal-Wallis rank-sum test".into(),
                statistic: kw.statistic,
                df: Some(kw.df),
                p: kw.p,
                reason,
            }
        }
    };
    Ok(ContinuousRow {
        name: name.to_string(),
        kind: "continuous".into(),
        overall: summarize(x),
        groups: group_names.iter().cloned().zip(per.iter().map(|v| summarize(v))).collect(),
        test,
    })
}

/// Compare a categorical variable (`value[i]` = level index or None) across groups.
pub fn compare_categorical(
    name: &str,
    value: &[Option<usize>],
    levels: &[String],
    group: &[usize],
    group_names: &[String],
) -> Result<CategoricalRow> {
    if value.len() != group.len() {
        return Err(StatsError::DimensionMismatch("values and groups differ in length".into()));
    }
    let (r, k) = (levels.len(), group_names.len());
    let mut counts = vec![vec![0.0; k]; r];
    let mut missing = vec![0usize; k];
    for (v, &g) in value.iter().zip(group) {
        match v {
            Some(l) if *l < r && g < k => counts[*l][g] += 1.0,
            None if g < k => missing[g] += 1,
            _ => return Err(StatsError::InvalidInput("level or group index out of range".into())),
        }
    }
    // drop empty levels from the test table (R's table() would have them as zero rows;
    // chisq.test then has expected 0 and returns NaN, so they are dropped here)
    let used: Vec<Vec<f64>> = counts.iter().filter(|row| row.iter().sum::<f64>() > 0.0).cloned().collect();
    let colsum: Vec<f64> = (0..k).map(|g| counts.iter().map(|row| row[g]).sum()).collect();
    let level_rows = levels
        .iter()
        .zip(&counts)
        .map(|(l, row)| LevelCount {
            level: l.clone(),
            counts: row.clone(),
            percent: row.iter().zip(&colsum).map(|(c, s)| if *s > 0.0 { 100.0 * c / s } else { f64::NAN }).collect(),
        })
        .collect();
    let test = if used.len() < 2 {
        ChosenTest {
            test: "none".into(),
            statistic: f64::NAN,
            df: None,
            p: f64::NAN,
            reason: "fewer than two observed levels".into(),
        }
    } else {
        let t = Table::from_rows(&used)?;
        let chi = chisq_test(&t, true)?;
        let small = chi.expected.iter().flatten().any(|e| *e < 5.0);
        if small {
            match fisher_test(&t, 0.95) {
                Ok(f) => ChosenTest { test: "Fisher's exact test".into(), statistic: f.odds_ratio.unwrap_or(f64::NAN), df: None, p: f.p, reason: "auto: an expected count is < 5".into() },
                Err(_) => ChosenTest { test: chi.method.clone(), statistic: chi.statistic, df: Some(chi.df), p: chi.p, reason: "auto: an expected count is < 5 but the table is too large for Fisher's exact test; chi-square approximation may be incorrect".into() },
            }
        } else {
            ChosenTest {
                test: chi.method.clone(),
                statistic: chi.statistic,
                df: Some(chi.df),
                p: chi.p,
                reason: "auto: all expected counts >= 5".into(),
            }
        }
    };
    Ok(CategoricalRow {
        name: name.to_string(),
        kind: "categorical".into(),
        group_names: group_names.to_vec(),
        levels: level_rows,
        missing,
        test,
    })
}
