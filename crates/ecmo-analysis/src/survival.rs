//! `analyze survival`: Kaplan-Meier (overall or by group), log-rank test, Cox model.

use crate::error::{AnalysisError, Result};
use crate::model::{Terms, strs};
use crate::table::{BinaryCoding, Table};
use ecmo_stats::logistic::TestStat;
use ecmo_stats::survival::{
    Concordance, ConfType, CoxCoefficient, CoxZph, KmRow, Ties, cox_ph, kaplan_meier, logrank_test,
};
use serde::Serialize;

/// Rows from which the curves, the test and the Cox model run on separate threads.
const PARALLEL_ROWS: usize = 50_000;

/// What to compute.
#[derive(Debug, Clone, PartialEq)]
pub struct SurvivalRequest {
    /// Follow-up time column.
    pub time: String,
    /// Event column (0/1, 1/2 with 2 = event, or two labels; see [`Table::binary`]).
    pub event: String,
    /// Label counted as event.
    pub event_value: Option<String>,
    /// Grouping column for KM curves and the log-rank test.
    pub group: Option<String>,
    /// Cox covariates (empty = no Cox model).
    pub cox: Terms,
    /// Cox ties.
    pub ties: Ties,
}

/// One Kaplan-Meier curve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KmGroup {
    /// "all" or `COLUMN=LEVEL`.
    pub name: String,
    /// Subjects.
    pub n: usize,
    /// Events.
    pub events: usize,
    /// Median survival (None if not reached).
    pub median: Option<f64>,
    /// 95 % CI of the median (log CI of the curve).
    pub median_ci_low: Option<f64>,
    /// 95 % CI of the median.
    pub median_ci_high: Option<f64>,
    /// Restricted mean up to the largest time of all groups (R's printed rmean).
    pub rmean: f64,
    /// Its SE.
    pub se_rmean: f64,
    /// One row per distinct time: time, n_risk, n_event, n_censor, surv, se (of S),
    /// std_err_cumhaz, lower, upper (log CI), cumhaz, std_chaz.
    pub table: Vec<KmRow>,
}

/// Log-rank test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogRankOut {
    /// Chi-square.
    pub chisq: f64,
    /// Degrees of freedom.
    pub df: f64,
    /// p-value.
    pub p: f64,
    /// Observed events per group.
    pub observed: Vec<f64>,
    /// Expected events per group.
    pub expected: Vec<f64>,
}

/// Cox model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoxOut {
    /// Ties method.
    pub ties: Ties,
    /// Rows used.
    pub n: usize,
    /// Events.
    pub events: usize,
    /// Rows dropped for missing time, event or covariates.
    pub dropped: usize,
    /// Coefficients (term, coef, hazard_ratio, se, z, p, ci_low, ci_high).
    pub coefficients: Vec<CoxCoefficient>,
    /// Harrell's C.
    pub concordance: f64,
    /// Pair counts behind C.
    pub concordance_detail: Concordance,
    /// Log partial likelihood of the null and the fitted model.
    pub loglik_null: f64,
    /// Log partial likelihood.
    pub loglik: f64,
    /// Likelihood-ratio test.
    pub lr_test: TestStat,
    /// Wald test.
    pub wald_test: TestStat,
    /// Score (log-rank) test.
    pub score_test: TestStat,
    /// Newton-Raphson iterations.
    pub iterations: usize,
    /// Proportional-hazards tests (cox.zph, survival 3, km transform).
    pub proportional_hazards: CoxZph,
}

/// Result of `analyze survival`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SurvivalReport {
    /// Source file.
    pub source: String,
    /// Event coding.
    pub event: BinaryCoding,
    /// Rows used for the curves.
    pub n: usize,
    /// Rows dropped from the curves for missing time, event or group.
    pub dropped: usize,
    /// Curves.
    pub groups: Vec<KmGroup>,
    /// Log-rank test across groups (with a group column of 2+ levels).
    pub logrank: Option<LogRankOut>,
    /// Cox model (with covariates).
    pub cox: Option<CoxOut>,
}

/// Compute curves, test and model.
pub fn run(table: &Table, req: &SurvivalRequest) -> Result<SurvivalReport> {
    let (ev_all, coding) = table.binary(&req.event, req.event_value.as_deref())?;
    let time_all = table.numeric(&req.time)?;
    let mut cols = vec![req.time.as_str(), req.event.as_str()];
    if let Some(g) = &req.group {
        cols.push(g);
    }
    let sel = table.complete_rows(&cols)?;
    if sel.rows.is_empty() {
        return Err(AnalysisError::Request(format!("no complete rows in {}", cols.join(", "))));
    }
    if let Some(&r) = sel.rows.iter().find(|&&r| time_all[r] < 0.0) {
        return Err(AnalysisError::Value {
            source_name: table.source.clone(),
            line: table.line(r),
            column: req.time.clone(),
            value: crate::table::number_label(time_all[r]),
            problem: "is a negative time".into(),
        });
    }
    let time: Vec<f64> = sel.rows.iter().map(|&r| time_all[r]).collect();
    let event: Vec<bool> = sel.rows.iter().map(|&r| ev_all[r] == 1.0).collect();
    let endtime = time.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let km_group = |name: &str, idx: &[usize]| -> Result<KmGroup> {
        let t: Vec<f64> = idx.iter().map(|&i| time[i]).collect();
        let e: Vec<bool> = idx.iter().map(|&i| event[i]).collect();
        let km = kaplan_meier(name, &t, &e, ConfType::Log, 0.95, Some(endtime))?;
        Ok(KmGroup {
            name: km.name,
            n: km.n,
            events: km.events,
            median: km.median,
            median_ci_low: km.median_ci_low,
            median_ci_high: km.median_ci_high,
            rmean: km.rmean,
            se_rmean: km.se_rmean,
            table: km.table,
        })
    };
    // the curves, the log-rank test and the Cox model are independent: for large n they run
    // side by side (the Cox fit itself uses two threads in its row passes)
    let parallel = time.len() >= PARALLEL_ROWS;
    let curves_and_test = || -> Result<(Vec<KmGroup>, Option<LogRankOut>)> {
        let Some(g) = &req.group else {
            return Ok((vec![km_group("all", &(0..time.len()).collect::<Vec<_>>())?], None));
        };
        let (levels, codes) = table.levels(g)?;
        let gcode: Vec<usize> = sel.rows.iter().map(|&r| codes[r].unwrap_or(0)).collect();
        let present: Vec<usize> = (0..levels.len()).filter(|k| gcode.contains(k)).collect();
        let names: Vec<String> = present.iter().map(|&k| format!("{g}={}", levels[k])).collect();
        let curves = || -> Result<Vec<KmGroup>> {
            let mut groups = Vec::with_capacity(present.len());
            for (j, &k) in present.iter().enumerate() {
                let idx: Vec<usize> = (0..gcode.len()).filter(|&i| gcode[i] == k).collect();
                groups.push(km_group(&names[j], &idx)?);
            }
            Ok(groups)
        };
        let test = || -> Result<Option<LogRankOut>> {
            if present.len() < 2 {
                return Ok(None);
            }
            let dense: Vec<usize> = gcode.iter().map(|c| present.iter().position(|k| k == c).unwrap_or(0)).collect();
            let lr = logrank_test(&time, &event, &dense, &names, 0.0)?;
            Ok(Some(LogRankOut { chisq: lr.chisq, df: lr.df, p: lr.p, observed: lr.observed, expected: lr.expected }))
        };
        if parallel {
            std::thread::scope(|s| {
                let h = s.spawn(test);
                let groups = curves();
                let lr = h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
                Ok((groups?, lr?))
            })
        } else {
            Ok((curves()?, test()?))
        }
    };
    let cox_model = || -> Result<Option<CoxOut>> {
        if req.cox.predictors.is_empty() {
            return Ok(None);
        }
        req.cox.check()?;
        let mut ccols = vec![req.time.as_str(), req.event.as_str()];
        ccols.extend(strs(&req.cox.predictors));
        let csel = table.complete_rows(&ccols)?;
        let d = req.cox.design(table, &csel.rows, false)?;
        let t: Vec<f64> = csel.rows.iter().map(|&r| time_all[r]).collect();
        let e: Vec<bool> = csel.rows.iter().map(|&r| ev_all[r] == 1.0).collect();
        let m = cox_ph(&t, &e, &d.x, &d.col_names, req.ties, 0.95)?;
        Ok(Some(CoxOut {
            ties: m.ties,
            n: m.n,
            events: m.events,
            dropped: csel.dropped,
            coefficients: m.coefficients,
            concordance: m.concordance.c_index,
            concordance_detail: m.concordance,
            loglik_null: m.loglik_null,
            loglik: m.loglik,
            lr_test: m.lr_test,
            wald_test: m.wald_test,
            score_test: m.score_test,
            iterations: m.iterations,
            proportional_hazards: m.proportional_hazards,
        }))
    };
    let ((groups, logrank), cox) = if parallel && !req.cox.predictors.is_empty() {
        std::thread::scope(|s| {
            let h = s.spawn(cox_model);
            let curves = curves_and_test();
            let cox = h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            Ok::<_, AnalysisError>((curves?, cox?))
        })?
    } else {
        (curves_and_test()?, cox_model()?)
    };
    Ok(SurvivalReport {
        source: table.source.clone(),
        event: coding,
        n: time.len(),
        dropped: sel.dropped,
        groups,
        logrank,
        cox,
    })
}
