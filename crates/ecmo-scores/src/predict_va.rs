//! PREDICT VA-ECMO (Wengenmayer 2019): the inputs, gathered and checked; the
//! probability withheld.
//!
//! The model is a dynamic logistic model of hospital survival on lactate, pH and
//! standard bicarbonate at 1, 6 and 12 h after flow start (spec §11). Its
//! coefficients have not been verified against the paper, and the spec forbids
//! computing a probability until they are. A bedside team still gains from seeing
//! whether the inputs the model needs were charted at the right times, so this
//! module assembles them (each with its record, ±30 min around the time point,
//! spec §11 policy) and states plainly why no probability is shown.

use crate::series::{self, Derived};
use ecmo_domain::{Mode, Quantity, RunView};
use serde::Serialize;

/// The spec's sampling tolerance around each time point (§11 POLICY), minutes.
pub const TOLERANCE_MIN: i64 = 30;

/// Hours after flow start at which the model samples its inputs.
pub const TIME_POINTS_H: [f64; 3] = [1.0, 6.0, 12.0];

/// Why no probability is computed; shown wherever the panel is shown.
pub const WITHHELD: &str = "probability not computed: the PREDICT VA-ECMO coefficients have not been verified \
against the publication (Eur Heart J Acute Cardiovasc Care 2019;8:350-359), spec §11";

/// The inputs of PREDICT VA-ECMO at one time point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PredictTimePoint {
    pub hours: f64,
    pub lactate: Derived<f64>,
    pub ph: Derived<f64>,
    /// The registry's bicarbonate. The model was built on standard bicarbonate
    /// from the blood-gas analyser, not the calculated actual bicarbonate.
    pub bicarbonate: Derived<f64>,
}

impl PredictTimePoint {
    fn complete(&self) -> bool {
        self.lactate.value.is_some() && self.ph.value.is_some() && self.bicarbonate.value.is_some()
    }
}

/// The PREDICT VA-ECMO input panel of one run as of an instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PredictVaEcmo {
    /// The model applies to this run's ECMO mode (veno-arterial or VAV).
    pub applicable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_applicable_reason: Option<String>,
    pub model: &'static str,
    /// Where the model was derived and validated: read before trusting it elsewhere.
    pub population: &'static str,
    /// Always `None` until the coefficients are verified; see `withheld`.
    pub probability: Option<f64>,
    pub withheld: &'static str,
    pub time_points: Vec<PredictTimePoint>,
    /// The 6-hour model's inputs (1 h and 6 h) are all present.
    pub inputs_complete_6h: bool,
    /// The 12-hour model's inputs (1, 6 and 12 h) are all present.
    pub inputs_complete_12h: bool,
    /// Inputs not found, e.g. "ph at 6 h".
    pub missing: Vec<String>,
    pub caveats: Vec<&'static str>,
}

/// Gather the PREDICT VA-ECMO inputs from `view` (nothing after its as-of instant).
pub fn predict_va_ecmo(view: &RunView) -> PredictVaEcmo {
    let time_points: Vec<PredictTimePoint> = TIME_POINTS_H
        .iter()
        .map(|&h| PredictTimePoint {
            hours: h,
            lactate: sample(view, Quantity::Lactate, h),
            ph: sample(view, Quantity::Ph, h),
            bicarbonate: sample(view, Quantity::Bicarbonate, h),
        })
        .collect();
    let mut missing = Vec::new();
    for tp in &time_points {
        for (q, d) in
            [(Quantity::Lactate, &tp.lactate), (Quantity::Ph, &tp.ph), (Quantity::Bicarbonate, &tp.bicarbonate)]
        {
            if d.value.is_none() {
                missing.push(format!("{} at {} h", q.code(), tp.hours));
            }
        }
    }
    // Derived in VA-ECMO (spec §11): a VV run is told so rather than shown "complete" inputs
    // beside a population it does not belong to.
    let not_applicable = (view.run().mode == Mode::Vv)
        .then(|| "veno-venous run: PREDICT VA-ECMO was derived in veno-arterial ECMO".to_string());
    PredictVaEcmo {
        applicable: not_applicable.is_none(),
        not_applicable_reason: not_applicable,
        model: "PREDICT VA-ECMO (Wengenmayer 2019), 6-hour and 12-hour models",
        population: "205 VA-ECMO all-comers (51 % E-CPR), one German centre; external validation in a second \
centre (AUC 0.718 at 6 h, 0.735 at 12 h)",
        probability: None,
        withheld: WITHHELD,
        inputs_complete_6h: time_points[..2].iter().all(PredictTimePoint::complete),
        inputs_complete_12h: time_points.iter().all(PredictTimePoint::complete),
        time_points,
        missing,
        caveats: vec![
            "the model uses standard bicarbonate from the blood-gas analyser; the registry's bicarbonate may be \
the calculated actual bicarbonate",
            "the exact sampling times of the 6-hour model (1 h and 6 h) are to be confirmed from the paper",
        ],
    }
}

fn sample(view: &RunView, q: Quantity, hours: f64) -> Derived<f64> {
    let none = format!("no {} within ±{TOLERANCE_MIN} min of {hours} h", q.code());
    series::at_time_within(view, q, hours, TOLERANCE_MIN, &none)
}
