//! Score results, their components, options and errors.

use ecmo_domain::{Observation, Timestamp, Unit};
use serde::Serialize;

/// A value as used by a score: canonical value, the value and unit as
/// entered (for unit-native banding and audit) and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measured {
    /// Value in the canonical unit of its concept (or of the field).
    pub value: f64,
    /// Value as entered.
    pub entered: f64,
    /// Unit as entered.
    pub unit: Unit,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl Measured {
    /// A value given directly in its canonical unit.
    pub fn new(value: f64, unit: Unit) -> Self {
        Measured { value, entered: value, unit, time: None, source: None }
    }

    /// A value with an entered form different from the canonical one.
    pub fn entered(value: f64, entered: f64, unit: Unit) -> Self {
        Measured { value, entered, unit, time: None, source: None }
    }

    pub fn from_obs(o: &Observation) -> Self {
        Measured {
            value: o.value,
            entered: o.entered_value,
            unit: o.entered_unit,
            time: Some(o.time),
            source: o.source.clone(),
        }
    }
}

/// One component of a score: the points it contributes and the value used.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Component {
    pub name: String,
    pub points: f64,
    /// The value the points were banded on (in `unit`), if the component has one.
    pub value: Option<f64>,
    pub unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl Component {
    pub fn new(name: impl Into<String>, points: f64) -> Self {
        Component { name: name.into(), points, value: None, unit: None, note: None, time: None, source: None }
    }

    pub fn with_value(mut self, value: f64, unit: impl Into<String>) -> Self {
        self.value = Some(value);
        self.unit = Some(unit.into());
        self
    }

    /// Value and provenance from a measured input, banded in `unit`.
    pub fn with_measured(mut self, m: &Measured, value: f64, unit: Unit) -> Self {
        self.value = Some(value);
        self.unit = Some(unit.symbol().to_string());
        self.time = m.time;
        self.source = m.source.clone();
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }
}

/// The result of a point score.
///
/// JSON interface (issue 3): `total` (null when not computable),
/// `components[]` with `name`, `points`, `value`, `unit`, and the lists
/// `assumed[]` and `missing[]`. The other fields are descriptive.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreResult {
    /// Calculator name (`sofa`, `apache2`, ...).
    pub score: &'static str,
    /// Total points; `None` when an input is missing (see `missing`).
    pub total: Option<f64>,
    /// Risk class or category, where the score defines one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// The outcome estimate attached to the class in the derivation cohort.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk: Option<String>,
    pub components: Vec<Component>,
    /// Inputs that were missing and assumed normal (0 points) at the caller's request.
    pub assumed: Vec<String>,
    /// Inputs that are missing; the score is not computable while any is.
    pub missing: Vec<String>,
    /// Agents running but not part of the chosen score variant (VIS, IS).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub excluded_agents: Vec<String>,
    /// Values that are possible but rare, to be confirmed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    pub definition: &'static str,
    pub population: &'static str,
}

impl ScoreResult {
    pub fn is_computable(&self) -> bool {
        self.total.is_some()
    }

    /// The result, or `NotComputable` naming the missing items.
    pub fn require(self) -> Result<ScoreResult, ScoreError> {
        if self.total.is_some() {
            Ok(self)
        } else {
            Err(ScoreError::NotComputable { score: self.score, missing: self.missing })
        }
    }

    /// Points of the named component, if present.
    pub fn points_of(&self, name: &str) -> Option<f64> {
        self.components.iter().find(|c| c.name == name).map(|c| c.points)
    }
}

/// Collects components and missing items; decides computability.
pub(crate) struct Builder {
    pub res: ScoreResult,
    assume_normal: bool,
    sum: f64,
}

impl Builder {
    pub fn new(score: &'static str, definition: &'static str, population: &'static str, assume_normal: bool) -> Self {
        Builder {
            res: ScoreResult {
                score,
                total: None,
                class: None,
                risk: None,
                components: Vec::new(),
                assumed: Vec::new(),
                missing: Vec::new(),
                excluded_agents: Vec::new(),
                warnings: Vec::new(),
                definition,
                population,
            },
            assume_normal,
            sum: 0.0,
        }
    }

    pub fn add(&mut self, c: Component) {
        self.sum += c.points;
        self.res.components.push(c);
    }

    /// Record a missing physiological item. Returns true when it is assumed
    /// normal (the caller then scores it 0 and may add a component).
    pub fn missing(&mut self, item: &str) -> bool {
        if self.assume_normal {
            self.res.assumed.push(item.to_string());
            true
        } else {
            self.res.missing.push(item.to_string());
            false
        }
    }

    /// Record an item that is mandatory even when assuming normal values.
    pub fn missing_required(&mut self, item: &str) {
        self.res.missing.push(item.to_string());
    }

    pub fn warn(&mut self, w: impl Into<String>) {
        self.res.warnings.push(w.into());
    }

    pub fn finish(mut self) -> ScoreResult {
        if self.res.missing.is_empty() {
            self.res.total = Some(self.sum);
        }
        self.res
    }
}

/// SOFA-1 banding of creatinine and bilirubin (spec §1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum SofaUnitPolicy {
    /// Band µmol/L values on the µmol/L column Vincent 1996 printed.
    #[default]
    UnitNative,
    /// Convert to mg/dL first, then band on the mg/dL column.
    ConvertToMgDl,
}

/// What counts as "respiratory support" for SOFA-1 respiration 3–4 points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum RespSupportDef {
    InvasiveOnly,
    /// Invasive ventilation or NIV/CPAP (default); HFNC never counts in SOFA-1.
    #[default]
    InvasiveOrNiv,
}

/// VIS coefficient sets (spec §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum VisVariant {
    /// Gaies 2010: dopamine, dobutamine, 100·epi, 10·milrinone, 10 000·vasopressin (U/kg/min), 100·NE.
    #[default]
    Gaies2010,
    /// Koponen 2019: Gaies plus 50·levosimendan.
    Koponen2019,
}

impl VisVariant {
    pub fn code(self) -> &'static str {
        match self {
            VisVariant::Gaies2010 => "gaies2010",
            VisVariant::Koponen2019 => "koponen2019",
        }
    }
}

/// Options shared by every calculator. The defaults are the spec's defaults.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Options {
    /// Score missing physiology as normal (0 points) and list it in `assumed`.
    pub assume_normal: bool,
    pub sofa_unit_policy: SofaUnitPolicy,
    pub resp_support: RespSupportDef,
    pub vis_variant: VisVariant,
    /// Refuse (error) when a running agent is not part of the VIS/IS variant.
    pub strict_agents: bool,
    /// Barometric pressure for the APACHE II alveolar gas equation.
    pub patm_mmhg: f64,
    /// SAVE class I is `score > save_class_i_above` (Schmidt 2015 as remembered: > 5;
    /// Evidencio: ≥ 5, i.e. set 4).
    pub save_class_i_above: i32,
    /// ENCOURAGE lactate: the 8-point band "2–8" includes 8.0 (true, spec) or
    /// ends below 8.0 (false, independent R implementation).
    pub encourage_lactate_8_inclusive: bool,
    /// An infusion must have run this long to count in SOFA/SOFA-2 (minutes).
    pub sofa_min_infusion_minutes: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            assume_normal: false,
            sofa_unit_policy: SofaUnitPolicy::UnitNative,
            resp_support: RespSupportDef::InvasiveOrNiv,
            vis_variant: VisVariant::Gaies2010,
            strict_agents: false,
            patm_mmhg: 760.0,
            save_class_i_above: 5,
            encourage_lactate_8_inclusive: true,
            sofa_min_infusion_minutes: 60.0,
        }
    }
}

/// Why a score or an input was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScoreError {
    #[error("unknown calculator '{name}' (known: {known})")]
    UnknownCalculator { name: String, known: String },
    #[error("unknown field '{field}' for {calculator} (known: {known})")]
    UnknownField { calculator: &'static str, field: String, known: String },
    #[error("{field} = {value}: {reason}")]
    Invalid { field: String, value: String, reason: String },
    #[error("{fields}: {rule}")]
    Inconsistent { fields: String, rule: String },
    #[error("{score} is not computable: missing {}", missing.join(", "))]
    NotComputable { score: &'static str, missing: Vec<String> },
    #[error("{score}: {agents} running but not part of the {variant} variant (strict mode)", agents = agents.join(", "))]
    ExcludedAgents { score: &'static str, variant: &'static str, agents: Vec<String> },
    #[error("{what}: {reason}")]
    Undefined { what: String, reason: String },
}
