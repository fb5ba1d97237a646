//! `analyze subgroup`: the same logistic model (and the predictor's ROC curve) within each level
//! of a grouping column, with the likelihood-ratio test of the predictor x subgroup interaction.

use crate::error::{AnalysisError, Result};
use crate::model::Terms;
use crate::table::{BinaryCoding, Table};
use ecmo_stats::logistic::LogisticOptions;
use ecmo_stats::roc::RocDirection;
use ecmo_stats::subgroup::{SubgroupAnalysis, SubgroupSpec, subgroup_logistic};
use serde::Serialize;

/// What to fit.
#[derive(Debug, Clone, PartialEq)]
pub struct SubgroupRequest {
    /// Binary outcome column.
    pub outcome: String,
    /// Outcome label counted as 1.
    pub positive: Option<String>,
    /// Predictor column.
    pub predictor: String,
    /// Adjustment columns (same model in every level).
    pub adjust: Vec<String>,
    /// Grouping column (always treated as categorical).
    pub subgroup: String,
    /// Numeric predictor/adjustment columns to treat as categorical.
    pub categorical: Vec<String>,
    /// Reference levels (`COLUMN`, `LEVEL`) of categorical columns, the subgroup included.
    pub references: Vec<(String, String)>,
    /// ROC direction (`None` = pROC's automatic rule in each level).
    pub direction: Option<RocDirection>,
    /// Profile-likelihood CIs of the odds ratios.
    pub profile_ci: bool,
}

/// Result of `analyze subgroup`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubgroupReport {
    /// Source file.
    pub source: String,
    /// Outcome coding.
    pub outcome: BinaryCoding,
    /// Rows used (complete in outcome, predictor, adjustment and subgroup).
    pub n: usize,
    /// Rows dropped for missing values.
    pub dropped: usize,
    /// "complete cases".
    pub missing_data: String,
    /// The analysis (per-level fits, interaction test, AUC comparison).
    #[serde(flatten)]
    pub analysis: SubgroupAnalysis,
}

/// Run the subgroup analysis.
pub fn run(table: &Table, req: &SubgroupRequest) -> Result<SubgroupReport> {
    if req.subgroup == req.predictor || req.adjust.contains(&req.subgroup) {
        return Err(AnalysisError::Request(format!(
            "the subgroup '{}' is also the predictor or an adjustment",
            req.subgroup
        )));
    }
    let mut predictors = vec![req.predictor.clone()];
    predictors.extend(req.adjust.iter().cloned());
    predictors.push(req.subgroup.clone());
    let mut categorical = req.categorical.clone();
    categorical.push(req.subgroup.clone());
    let terms = Terms { predictors, categorical, references: req.references.clone() };
    terms.check()?;
    let (y, coding, sel) =
        crate::logistic::outcome_and_rows(table, &req.outcome, req.positive.as_deref(), &terms.predictors)?;
    let frame = terms.frame(table, &sel.rows)?;
    let adjust: Vec<&str> = req.adjust.iter().map(|s| s.as_str()).collect();
    let spec = SubgroupSpec {
        predictor: &req.predictor,
        adjust: &adjust,
        subgroup: &req.subgroup,
        logistic: LogisticOptions { profile_ci: req.profile_ci, ..Default::default() },
        roc_direction: req.direction,
    };
    let analysis = subgroup_logistic(&frame, &y, &spec)?;
    Ok(SubgroupReport {
        source: table.source.clone(),
        outcome: coding,
        n: sel.rows.len(),
        dropped: sel.dropped,
        missing_data: "complete cases".into(),
        analysis,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_subgroup_column_is_made_categorical() {
        let mut csv = String::from("y,x,g\n");
        for i in 0..60 {
            let g = i % 2;
            let x = (i % 7) as f64;
            let y = ((x + g as f64 * 2.0 + (i % 3) as f64) > 5.0) as i32;
            csv.push_str(&format!("{y},{x},{g}\n"));
        }
        csv.push_str("1,NA,0\n");
        let t = Table::parse_csv(&csv, "t.csv", None).unwrap();
        let req = SubgroupRequest {
            outcome: "y".into(),
            positive: None,
            predictor: "x".into(),
            adjust: vec![],
            subgroup: "g".into(),
            categorical: vec![],
            references: vec![],
            direction: None,
            profile_ci: false,
        };
        let r = run(&t, &req).unwrap();
        assert_eq!(r.n, 60);
        assert_eq!(r.dropped, 1);
        assert_eq!(r.analysis.levels.len(), 2);
        assert_eq!(r.analysis.levels[1].level, "1");
        let json = serde_json::to_value(&r).unwrap();
        assert!(json["interaction"]["method"].as_str().unwrap().contains("likelihood-ratio"));
    }
}
