//! Every run-level score and study variable of one run as of an instant
//! (`ecmo scores --run ID --at HOURS`).

use crate::ecpr::{Tips65Input, tips65};
use crate::predict_va::{PredictVaEcmo, predict_va_ecmo};
use crate::result::{Measured, Options, ScoreResult, VisVariant};
use crate::series::{
    self, ArrestTimes, Derived, EndOrgan, Exposure, MapSummary, Survival, VisMaxMode, Weaning, Window,
};
use ecmo_domain::{ArrestLocation, Drug, Quantity, RunRecord, Timestamp, Unit};
use serde::Serialize;

/// All run-level derivations, each with provenance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunScores {
    pub run_id: String,
    /// The as-of instant; nothing recorded after it was used.
    pub as_of: Timestamp,
    /// Hours from flow start to the as-of instant.
    pub as_of_hours: f64,
    pub flow_start: Timestamp,
    pub sofa_first_24h: ScoreResult,
    /// SOFA-2 (2025) on the same window, beside the 1996 SOFA.
    pub sofa2_first_24h: ScoreResult,
    pub apache2_first_24h: ScoreResult,
    pub save: ScoreResult,
    pub encourage: ScoreResult,
    /// TiPS65 at hospital arrival, for out-of-hospital E-CPR runs only.
    pub tips65: Tips65FromRun,
    /// PREDICT VA-ECMO's inputs at 1, 6 and 12 h; its probability is withheld
    /// until the coefficients are verified (spec §11).
    pub predict_va_ecmo: PredictVaEcmo,
    pub vis_at_0h: Derived<f64>,
    pub vis_at_24h: Derived<f64>,
    pub vis_max_simultaneous_24h: Derived<f64>,
    pub vis_max_per_agent_24h: Derived<f64>,
    pub vis_reduction_24h: Derived<f64>,
    pub max_dose_24h: Vec<Derived<f64>>,
    pub exposure_24h: Exposure,
    pub map_first_24h: MapSummary,
    pub map_at_24h: Derived<f64>,
    pub lactate_admission: Derived<f64>,
    pub lactate_at_24h: Derived<f64>,
    pub lactate_max_24h: Derived<f64>,
    pub lactate_clearance: Vec<Derived<f64>>,
    pub lactate_clearance_admission_48h: Derived<f64>,
    pub fluid_balance_day1: Derived<f64>,
    pub nse_at_24h: Derived<f64>,
    pub arrest: ArrestTimes,
    pub end_organ: EndOrgan,
    pub weaning: Weaning,
    pub survival_30d: Survival,
    pub survival_2y: Survival,
}

/// TiPS65 from run data, or why it does not apply.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tips65FromRun {
    pub applicable: bool,
    /// Why TiPS65 was not computed (not an out-of-hospital E-CPR run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<ScoreResult>,
}

/// Compute everything for `record` as of `at_hours` after flow start
/// (`None`: the complete record).
pub fn run_scores(record: &RunRecord, at_hours: Option<f64>, opts: &Options) -> RunScores {
    let t0 = record.run.flow_start;
    let view = match at_hours {
        Some(h) => record.as_of(t0.plus_hours(h)),
        None => record.complete(),
    };
    let w = Window::FIRST_24H;
    let variant: VisVariant = opts.vis_variant;
    let lactate_max = {
        let (a, b) = w.bounds(t0);
        view.series(Quantity::Lactate)
            .filter(|o| o.time >= a && o.time < b)
            .max_by(|x, y| x.value.total_cmp(&y.value))
            .map(|o| Derived::ok("lactate_max_24h", o.value, "mmol/L", vec![series::RawRef::obs(o, t0)]))
            .unwrap_or_else(|| Derived::undefined("lactate_max_24h", "mmol/L", "no lactate in the first 24 h"))
    };
    let lactate_admission = match series::admission_lactate(&view) {
        Some(o) => Derived::ok("lactate_admission", o.value, "mmol/L", vec![series::RawRef::obs(o, t0)]),
        None => Derived::undefined("lactate_admission", "mmol/L", "no lactate after hospital/ICU arrival"),
    };
    let decision = view.decannulation().unwrap_or(view.at()).min(view.at());
    RunScores {
        run_id: record.run.id.clone(),
        as_of: view.at(),
        as_of_hours: if view.at().0 == i64::MAX { f64::INFINITY } else { view.at().hours_since(t0) },
        flow_start: t0,
        sofa_first_24h: series::sofa_window(&view, w, opts),
        sofa2_first_24h: series::sofa2_window(&view, w, opts),
        apache2_first_24h: series::apache2_window(&view, w, opts),
        save: series::save_pre_ecmo(&view, opts),
        encourage: series::encourage_pre_ecmo(&view, opts),
        tips65: tips65_from_run(record, at_hours, opts),
        predict_va_ecmo: predict_va_ecmo(&view),
        vis_at_0h: series::vis_at(&view, 0.0, variant),
        vis_at_24h: series::vis_at(&view, 24.0, variant),
        vis_max_simultaneous_24h: series::vis_max(&view, w, VisMaxMode::Simultaneous, variant),
        vis_max_per_agent_24h: series::vis_max(&view, w, VisMaxMode::PerAgent, variant),
        vis_reduction_24h: series::vis_reduction_24h(&view, variant),
        max_dose_24h: Drug::ALL.iter().map(|d| series::max_dose(&view, *d, w, None)).collect(),
        exposure_24h: series::exposure(&view, w),
        map_first_24h: series::map_summary(&view, w),
        map_at_24h: series::at_time(&view, Quantity::Map, 24.0),
        lactate_admission,
        lactate_at_24h: series::at_time(&view, Quantity::Lactate, 24.0),
        lactate_max_24h: lactate_max,
        lactate_clearance: [6.0, 12.0, 24.0, 48.0].iter().map(|h| series::lactate_clearance(&view, *h)).collect(),
        lactate_clearance_admission_48h: series::lactate_clearance_from_admission(&view, 48.0),
        fluid_balance_day1: series::fluid_balance(&view, w),
        nse_at_24h: {
            let o = series::value_at(&view, Quantity::Nse, 24.0, 360);
            match o {
                Some(o) => Derived::ok("nse_at_24h", o.value, "ug/L", vec![series::RawRef::obs(o, t0)]),
                None => Derived::undefined("nse_at_24h", "ug/L", "no NSE within ±6 h of 24 h"),
            }
        },
        arrest: series::arrest_times(&view),
        end_organ: series::end_organ(&view, decision),
        weaning: series::weaning(&view),
        survival_30d: series::survival(&view, 30.0),
        survival_2y: series::survival(&view, 730.0),
    }
}

/// TiPS65 (Okada 2020) applies to out-of-hospital arrests treated with E-CPR.
pub fn tips65_from_run(record: &RunRecord, at: Option<f64>, opts: &Options) -> Tips65FromRun {
    let a = &record.run.arrest;
    if a.location != ArrestLocation::Ohca || !a.ecpr {
        let reason = match (a.location, a.ecpr) {
            (ArrestLocation::None, _) => "no cardiac arrest before ECMO",
            (ArrestLocation::Ihca, _) => "in-hospital arrest (TiPS65 was derived in out-of-hospital arrests)",
            _ => "ECMO was not started during CPR (not E-CPR)",
        };
        return Tips65FromRun { applicable: false, reason: Some(reason.into()), result: None };
    }
    let view = match at {
        Some(h) => record.as_of(record.run.flow_start.plus_hours(h)),
        None => record.complete(),
    };
    let t0 = record.run.flow_start;
    let call_to_arrival = match (a.emergency_call, a.hospital_arrival) {
        (Some(c), Some(h)) if h >= c => {
            let m = h.minutes_since(c) as f64;
            Some(Measured {
                time: Some(h),
                source: Some("run: emergency call -> hospital arrival".into()),
                ..Measured::new(m, Unit::Minutes)
            })
        }
        _ => None,
    };
    // Initial in-hospital pH: the first pH at or after hospital arrival (else
    // the first before flow start, when the arrival time is unknown).
    let from = a.hospital_arrival.unwrap_or(t0.plus_minutes(-6 * 60));
    let ph = view.series(Quantity::Ph).find(|o| o.time >= from).map(Measured::from_obs);
    let input = Tips65Input {
        age: record.patient.age_at(t0).map(|y| Measured::new(y, Unit::Years)),
        call_to_arrival,
        ph,
        shockable: a.arrival_rhythm.shockable(),
    };
    Tips65FromRun { applicable: true, reason: None, result: Some(tips65(&input, opts)) }
}
