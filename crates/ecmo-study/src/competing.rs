//! Competing risks of a study cohort: Aalen-Johansen cumulative incidence per cause (and
//! group) with Gray's test, the Kaplan-Meier probability of being free of every cause, and a
//! Fine-Gray model.

use crate::analysis::kind;
use crate::cohort::Cohort;
use crate::def::{CompetingRisksDef, Kind, column_kind};
use crate::error::StudyError;
use crate::result::{
    CompetingRisksSection, EventFreeCurve, FineGrayResult, KmStep, MissingRecord, StudyResult, TestRecord,
};
use ecmo_stats::competing::{cumulative_incidence, fine_gray};
use ecmo_stats::survival::{ConfType, kaplan_meier};

pub(crate) fn competing_risks(
    c: &Cohort,
    cr: &CompetingRisksDef,
    out: &mut StudyResult,
) -> Result<CompetingRisksSection, StudyError> {
    let what = "competing risks";
    let err = |e: ecmo_stats::error::StatsError| StudyError::analysis(what, e);
    let causes = c.def.causes(cr);
    let time = c.numeric(&cr.time);
    // Cause code per run: 0 censored, k = causes[k - 1]; None = not known (left out).
    let code: Vec<Option<u32>> = if kind(c, &cr.cause) == Kind::Categorical {
        c.text(&cr.cause)
            .iter()
            .map(|l| {
                l.as_ref().and_then(|l| {
                    if Some(l) == cr.censored.as_ref() {
                        Some(0)
                    } else {
                        causes.iter().position(|x| x == l).map(|k| k as u32 + 1)
                    }
                })
            })
            .collect()
    } else {
        let x = c.numeric(&cr.cause);
        let mut v = Vec::with_capacity(x.len());
        for (i, &x) in x.iter().enumerate() {
            if x.is_nan() {
                v.push(None);
            } else if x >= 0.0 && x.fract() == 0.0 && x <= causes.len() as f64 {
                v.push(Some(x as u32));
            } else {
                return Err(StudyError::analysis(
                    what,
                    format!(
                        "run {}: {} = {x} is neither 0 (censored) nor a cause code 1-{}",
                        c.runs[i].row.run_id,
                        cr.cause,
                        causes.len()
                    ),
                ));
            }
        }
        v
    };
    let (group_of, groups): (Vec<Option<usize>>, Vec<String>) = match &cr.by {
        None => (vec![Some(0); c.runs.len()], vec!["all".into()]),
        Some(by) if kind(c, by) == Kind::Categorical => {
            let t = c.text(by);
            let mut levels: Vec<String> = t.iter().flatten().cloned().collect();
            levels.sort();
            levels.dedup();
            (t.iter().map(|l| l.as_ref().and_then(|l| levels.iter().position(|x| x == l))).collect(), levels)
        }
        Some(by) => {
            let x = c.numeric(by);
            (
                x.iter().map(|v| (!v.is_nan()).then_some(usize::from(*v == 1.0))).collect(),
                vec![format!("{by} = no"), format!("{by} = yes")],
            )
        }
    };
    let rows: Vec<usize> =
        (0..c.runs.len()).filter(|&i| !time[i].is_nan() && code[i].is_some() && group_of[i].is_some()).collect();
    if let Some(&i) = rows.iter().find(|&&i| time[i] < 0.0) {
        return Err(StudyError::analysis(
            what,
            format!("run {}: {} = {} is a negative time", c.runs[i].row.run_id, cr.time, time[i]),
        ));
    }
    let mut columns = vec![cr.time.clone(), cr.cause.clone()];
    columns.extend(cr.by.clone());
    out.missing.push(MissingRecord {
        analysis: "competing risks (cumulative incidence)".into(),
        columns,
        rows_used: rows.len(),
        rows_dropped: c.runs.len() - rows.len(),
    });
    let t: Vec<f64> = rows.iter().map(|&i| time[i]).collect();
    let k: Vec<u32> = rows.iter().map(|&i| code[i].unwrap_or(0)).collect();
    let g: Vec<usize> = rows.iter().map(|&i| group_of[i].unwrap_or(0)).collect();
    let incidence = cumulative_incidence(&t, &k, &causes, Some((&g, &groups)), 0.0, 0.95).map_err(err)?;
    for test in &incidence.tests {
        out.tests.push(TestRecord {
            analysis: "competing risks".into(),
            variable: format!("{} by {}", test.cause_name, cr.by.as_deref().unwrap_or("")),
            test: "Gray's test (cmprsk::cuminc, rho = 0)".into(),
            p: Some(test.p),
            reason: "equality of the cumulative incidence of this cause across the groups".into(),
        });
    }
    let mut event_free = Vec::new();
    for (gi, name) in groups.iter().enumerate() {
        let idx: Vec<usize> = (0..rows.len()).filter(|&j| g[j] == gi).collect();
        if idx.is_empty() {
            continue;
        }
        let tk: Vec<f64> = idx.iter().map(|&j| t[j]).collect();
        let ek: Vec<bool> = idx.iter().map(|&j| k[j] != 0).collect();
        let km = kaplan_meier(name, &tk, &ek, ConfType::Log, 0.95, None).map_err(err)?;
        event_free.push(EventFreeCurve {
            group: name.clone(),
            steps: km
                .table
                .iter()
                .map(|r| KmStep { time: r.time, surv: r.surv, lower: r.lower, upper: r.upper })
                .collect(),
        });
    }
    let fine = if cr.fine_gray.is_empty() {
        None
    } else {
        let cols: Vec<Vec<f64>> = cr.fine_gray.iter().map(|v| c.numeric(v)).collect();
        let fr: Vec<usize> = (0..rows.len()).filter(|&j| cols.iter().all(|x| !x[rows[j]].is_nan())).collect();
        let rows_ref = &rows;
        let x: Vec<f64> = fr.iter().flat_map(|&j| cols.iter().map(move |col| col[rows_ref[j]])).collect();
        let ft: Vec<f64> = fr.iter().map(|&j| t[j]).collect();
        let fc: Vec<u32> = fr.iter().map(|&j| k[j]).collect();
        let cause_k = match &cr.fine_gray_cause {
            Some(name) => causes.iter().position(|x| x == name).map_or(1, |p| p as u32 + 1),
            None => 1,
        };
        let cause_name = causes[cause_k as usize - 1].clone();
        match fine_gray(&ft, &fc, cause_k, &x, &cr.fine_gray, 0.95) {
            Ok(model) => {
                for coef in &model.coefficients {
                    out.tests.push(TestRecord {
                        analysis: "Fine-Gray model".into(),
                        variable: coef.term.clone(),
                        test: "Wald z (subdistribution hazard, robust SE, as cmprsk::crr)".into(),
                        p: Some(coef.p),
                        reason: format!("cause: {cause_name}; {} runs with every covariate recorded", fr.len()),
                    });
                }
                Some(FineGrayResult {
                    cause: cause_name,
                    covariates: cr.fine_gray.clone(),
                    rows_dropped: rows.len() - fr.len(),
                    model,
                })
            }
            Err(e) => {
                out.notes.push(format!("Fine-Gray model for {cause_name} not fitted: {e}"));
                None
            }
        }
    };
    Ok(CompetingRisksSection {
        time: cr.time.clone(),
        time_unit: column_kind(c.def, &cr.time).map(|k| k.1).unwrap_or_default(),
        cause: cr.cause.clone(),
        causes,
        censored_label: cr.censored.clone().unwrap_or_else(|| "code 0".into()),
        by: cr.by.clone(),
        groups: incidence.curves.iter().fold(Vec::new(), |mut v, cv| {
            if !v.contains(&cv.group) {
                v.push(cv.group.clone());
            }
            v
        }),
        n: rows.len(),
        censored: incidence.censored,
        rows_dropped: c.runs.len() - rows.len(),
        incidence,
        event_free,
        fine_gray: fine,
    })
}
