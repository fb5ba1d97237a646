//! Calculator inputs from direct values: `{"field": [value, "unit"]}` JSON
//! objects or `(field, value)` flag pairs such as `creatinine=2.1mg/dL`.
//!
//! Every value is checked against its field's accepted units and hard
//! plausibility range (ecmo-domain concept dictionary); errors name the field,
//! the value and the reason.

use crate::result::{Measured, ScoreError};
use crate::vasoactive::{DoseEntry, DoseSet};
use ecmo_domain::units::Conversion;
use ecmo_domain::{ChartedDose, Drug, Quantity, Salt, Unit};
use serde::Serialize;
use std::collections::BTreeMap;

/// A raw input value before it is checked against its field.
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    Number { value: f64, unit: Option<String> },
    Bool(bool),
    Text(String),
    List(Vec<String>),
}

impl std::fmt::Display for RawValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RawValue::Number { value, unit: Some(u) } => write!(f, "{value} {u}"),
            RawValue::Number { value, unit: None } => write!(f, "{value}"),
            RawValue::Bool(b) => write!(f, "{b}"),
            RawValue::Text(t) => write!(f, "'{t}'"),
            RawValue::List(l) => write!(f, "[{}]", l.join(", ")),
        }
    }
}

/// The inputs of one calculator invocation, by field name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CalcInput {
    pub fields: BTreeMap<String, RawValue>,
}

/// Field names are matched case-insensitively, with `-` read as `_` (CLI flags).
pub fn normalise_field(name: &str) -> String {
    name.trim().trim_start_matches("--").to_ascii_lowercase().replace('-', "_")
}

impl CalcInput {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn set(&mut self, field: &str, v: RawValue) {
        self.fields.insert(normalise_field(field), v);
    }

    /// Builder: a number with its unit (`""` for none).
    pub fn num(mut self, field: &str, value: f64, unit: &str) -> Self {
        let unit = (!unit.is_empty()).then(|| unit.to_string());
        self.set(field, RawValue::Number { value, unit });
        self
    }

    /// Builder: a yes/no item.
    pub fn flag(mut self, field: &str, b: bool) -> Self {
        self.set(field, RawValue::Bool(b));
        self
    }

    /// Builder: a coded item (`sex=female`, `diagnosis=myocarditis,refractory_vt_vf`).
    pub fn text(mut self, field: &str, t: &str) -> Self {
        self.set(field, RawValue::Text(t.to_string()));
        self
    }

    /// Parse a JSON object of `{"field": [value, "unit"]}` pairs. A field may
    /// also be a bare number, a boolean, a string code (or a number with a unit
    /// suffix, `"2.1 mg/dL"`) or a list of codes; `null` means absent.
    pub fn from_json(v: &serde_json::Value) -> Result<Self, ScoreError> {
        use serde_json::Value;
        let obj = v.as_object().ok_or_else(|| ScoreError::Invalid {
            field: "(input)".into(),
            value: short(v),
            reason: "expected a JSON object of {\"field\": [value, \"unit\"]} pairs".into(),
        })?;
        let mut out = CalcInput::new();
        for (k, val) in obj {
            let bad = |reason: &str| ScoreError::Invalid { field: k.clone(), value: short(val), reason: reason.into() };
            let raw = match val {
                Value::Null => continue,
                Value::Bool(b) => RawValue::Bool(*b),
                Value::Number(n) => {
                    RawValue::Number { value: n.as_f64().ok_or_else(|| bad("not a number"))?, unit: None }
                }
                Value::String(s) => parse_text_value(s),
                Value::Array(items) => match items.as_slice() {
                    [] => continue,
                    [Value::Number(n)] => {
                        RawValue::Number { value: n.as_f64().ok_or_else(|| bad("not a number"))?, unit: None }
                    }
                    [Value::Number(n), Value::Null] => {
                        RawValue::Number { value: n.as_f64().ok_or_else(|| bad("not a number"))?, unit: None }
                    }
                    [Value::Number(n), Value::String(u)] => RawValue::Number {
                        value: n.as_f64().ok_or_else(|| bad("not a number"))?,
                        unit: (!u.trim().is_empty()).then(|| u.trim().to_string()),
                    },
                    [Value::Bool(b)] | [Value::Bool(b), _] => RawValue::Bool(*b),
                    items if items.iter().all(Value::is_string) => {
                        RawValue::List(items.iter().filter_map(|i| i.as_str().map(str::to_string)).collect())
                    }
                    _ => return Err(bad("expected [value, \"unit\"], a number, a boolean, a code or a list of codes")),
                },
                Value::Object(_) => return Err(bad("expected [value, \"unit\"], not an object")),
            };
            out.set(k, raw);
        }
        Ok(out)
    }

    pub fn from_json_str(s: &str) -> Result<Self, ScoreError> {
        let v: serde_json::Value = serde_json::from_str(s).map_err(|e| ScoreError::Invalid {
            field: "(input)".into(),
            value: s.chars().take(60).collect(),
            reason: format!("not valid JSON: {e}"),
        })?;
        Self::from_json(&v)
    }

    /// Add one `(field, value, unit)` triple as given on a command line; the
    /// unit may also be a suffix of the value (`2.1mg/dL`, `0.04 U/min`).
    pub fn push_pair(&mut self, field: &str, value: &str, unit: Option<&str>) -> Result<(), ScoreError> {
        let mut raw = parse_text_value(value);
        if let Some(u) = unit.map(str::trim).filter(|u| !u.is_empty()) {
            match &mut raw {
                RawValue::Number { unit: slot @ None, .. } => *slot = Some(u.to_string()),
                RawValue::Number { unit: Some(given), .. } => {
                    return Err(ScoreError::Invalid {
                        field: field.to_string(),
                        value: value.to_string(),
                        reason: format!("unit given twice ('{given}' and '{u}')"),
                    });
                }
                _ => {
                    return Err(ScoreError::Invalid {
                        field: field.to_string(),
                        value: value.to_string(),
                        reason: format!("unit '{u}' given for a value that is not a number"),
                    });
                }
            }
        }
        self.set(field, raw);
        Ok(())
    }

    /// Build from `(field, value)` pairs, the unit a suffix of the value.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, ScoreError> {
        let mut out = CalcInput::new();
        for (f, v) in pairs {
            out.push_pair(f, v, None)?;
        }
        Ok(out)
    }

    /// Build from `(field, value, unit)` triples.
    pub fn from_triples<'a>(
        triples: impl IntoIterator<Item = (&'a str, &'a str, Option<&'a str>)>,
    ) -> Result<Self, ScoreError> {
        let mut out = CalcInput::new();
        for (f, v, u) in triples {
            out.push_pair(f, v, u)?;
        }
        Ok(out)
    }

    /// Overlay `other` on this input (flags given after `--input`).
    pub fn merge(&mut self, other: CalcInput) {
        self.fields.extend(other.fields);
    }
}

fn short(v: &serde_json::Value) -> String {
    let s = v.to_string();
    if s.len() > 60 { format!("{}...", &s[..s.char_indices().nth(57).map_or(s.len(), |(i, _)| i)]) } else { s }
}

/// `"2.1mg/dL"` → number with unit; `"true"` → bool; `"a,b"` → list; else text.
fn parse_text_value(s: &str) -> RawValue {
    let t = s.trim();
    let bytes = t.as_bytes();
    let mut end = 0;
    while end < bytes.len() {
        let c = bytes[end];
        let ok = c.is_ascii_digit()
            || c == b'.'
            || ((c == b'-' || c == b'+') && (end == 0 || matches!(bytes[end - 1], b'e' | b'E')))
            || ((c == b'e' || c == b'E')
                && end > 0
                && bytes.get(end + 1).is_some_and(|n| n.is_ascii_digit() || *n == b'-' || *n == b'+'));
        if !ok {
            break;
        }
        end += 1;
    }
    if end > 0
        && let Ok(value) = t[..end].parse::<f64>()
    {
        let unit = t[end..].trim();
        return RawValue::Number { value, unit: (!unit.is_empty()).then(|| unit.to_string()) };
    }
    match t.to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" => return RawValue::Bool(true),
        "false" | "no" | "n" => return RawValue::Bool(false),
        _ => {}
    }
    if t.contains(',') {
        return RawValue::List(t.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect());
    }
    RawValue::Text(t.to_string())
}

/// What a field holds.
#[derive(Debug, Clone, Copy, Serialize)]
pub enum FieldKind {
    /// A measured quantity of the concept dictionary (units and ranges from ecmo-domain).
    Quantity(Quantity),
    /// An infusion rate of a drug (normalised with ecmo-domain dose rules).
    Dose(Drug),
    /// A number in `unit` (first accepted unit is canonical, used when none is given).
    Number {
        #[serde(skip)]
        accepted: &'static [(Unit, Conversion)],
        min: f64,
        max: f64,
    },
    /// Yes/no.
    Flag,
    /// One code of a list.
    Choice(&'static [&'static str]),
    /// Any number of codes of a list.
    Choices(&'static [&'static str]),
}

/// One input field of a calculator, for help text and validation.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct FieldInfo {
    pub name: &'static str,
    pub kind: FieldKind,
    pub help: &'static str,
}

impl FieldInfo {
    /// Units this field accepts (empty for flags and codes; `1` for unitless).
    pub fn accepted_units(&self) -> Vec<Unit> {
        match self.kind {
            FieldKind::Quantity(q) => q.concept().accepted.iter().map(|(u, _)| *u).collect(),
            FieldKind::Dose(d) => dose_units(d).to_vec(),
            FieldKind::Number { accepted, .. } => accepted.iter().map(|(u, _)| *u).collect(),
            _ => Vec::new(),
        }
    }

    /// Short description of the accepted values, for help text.
    pub fn value_help(&self) -> String {
        match self.kind {
            FieldKind::Flag => "yes|no".to_string(),
            FieldKind::Choice(c) => c.join("|"),
            FieldKind::Choices(c) => format!("one or more of {}", c.join(",")),
            _ => self.accepted_units().iter().map(|u| u.symbol()).collect::<Vec<_>>().join(", "),
        }
    }
}

/// A bedside calculator's description (for `ecmo score --help`).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CalculatorInfo {
    pub name: &'static str,
    pub title: &'static str,
    pub fields: &'static [FieldInfo],
    pub definition: &'static str,
    pub population: &'static str,
}

pub fn dose_units(d: Drug) -> &'static [Unit] {
    match d {
        Drug::Vasopressin => {
            &[Unit::UnitsPerMin, Unit::UnitsPerHour, Unit::UnitsPerKgPerMin, Unit::MilliUnitsPerKgPerMin]
        }
        Drug::AngiotensinII => &[Unit::NgPerKgPerMin, Unit::McgPerKgPerMin],
        _ => &[Unit::McgPerKgPerMin, Unit::McgPerMin, Unit::MgPerHour],
    }
}

// Conversion tables for plain-number fields.
pub(crate) const YEARS: &[(Unit, Conversion)] = &[(Unit::Years, Conversion::Identity)];
pub(crate) const KG: &[(Unit, Conversion)] =
    &[(Unit::Kg, Conversion::Identity), (Unit::Lb, Conversion::Multiply(ecmo_domain::units::factors::KG_PER_LB))];
pub(crate) const CM: &[(Unit, Conversion)] =
    &[(Unit::Cm, Conversion::Identity), (Unit::Inch, Conversion::Multiply(ecmo_domain::units::factors::CM_PER_INCH))];
pub(crate) const MINUTES: &[(Unit, Conversion)] =
    &[(Unit::Minutes, Conversion::Identity), (Unit::Hours, Conversion::Multiply(60.0))];
pub(crate) const HOURS: &[(Unit, Conversion)] =
    &[(Unit::Hours, Conversion::Identity), (Unit::Minutes, Conversion::Divide(60.0))];
pub(crate) const RATIO_MMHG: &[(Unit, Conversion)] = &[
    (Unit::MmHg, Conversion::Identity),
    (Unit::Dimensionless, Conversion::Identity),
    (Unit::KPa, Conversion::Multiply(ecmo_domain::units::factors::MMHG_PER_KPA)),
];
pub(crate) const UNITLESS: &[(Unit, Conversion)] = &[(Unit::Dimensionless, Conversion::Identity)];

/// Reads a calculator's fields from an input, refusing unknown fields.
pub(crate) struct Reader<'a> {
    info: &'static CalculatorInfo,
    input: &'a CalcInput,
    pub warnings: Vec<String>,
}

impl<'a> Reader<'a> {
    pub fn new(info: &'static CalculatorInfo, input: &'a CalcInput) -> Result<Self, ScoreError> {
        for k in input.fields.keys() {
            if !info.fields.iter().any(|f| f.name == k) {
                return Err(ScoreError::UnknownField {
                    calculator: info.name,
                    field: k.clone(),
                    known: info.fields.iter().map(|f| f.name).collect::<Vec<_>>().join(", "),
                });
            }
        }
        Ok(Reader { info, input, warnings: Vec::new() })
    }

    fn field(&self, name: &str) -> Option<(&'static FieldInfo, &'a RawValue)> {
        let raw = self.input.fields.get(name)?;
        let info = self.info.fields.iter().find(|f| f.name == name)?;
        Some((info, raw))
    }

    fn invalid(name: &str, raw: &RawValue, reason: impl Into<String>) -> ScoreError {
        ScoreError::Invalid { field: name.to_string(), value: raw.to_string(), reason: reason.into() }
    }

    fn number_of(name: &str, raw: &RawValue) -> Result<(f64, Option<Unit>), ScoreError> {
        match raw {
            RawValue::Number { value, unit } => {
                let unit = match unit {
                    // kg/m² (BMI) has no unit of its own: it is a plain number.
                    Some(u) if matches!(u.trim().to_ascii_lowercase().as_str(), "kg/m2" | "kg/m^2" | "kg/m²") => {
                        Some(Unit::Dimensionless)
                    }
                    Some(u) => Some(u.parse::<Unit>().map_err(|e| Self::invalid(name, raw, e.to_string()))?),
                    None => None,
                };
                Ok((*value, unit))
            }
            _ => Err(Self::invalid(name, raw, "expected a number with its unit")),
        }
    }

    /// A measured or plain-number field, checked and converted to canonical.
    pub fn measured(&mut self, name: &str) -> Result<Option<Measured>, ScoreError> {
        let Some((info, raw)) = self.field(name) else { return Ok(None) };
        let (value, unit) = Self::number_of(name, raw)?;
        match info.kind {
            FieldKind::Quantity(q) => {
                let c = q.to_canonical(value, unit).map_err(|e| Self::invalid(name, raw, e.to_string()))?;
                if let Some(w) = c.warning {
                    self.warnings.push(format!("{name}: {w}"));
                }
                Ok(Some(Measured::entered(c.canonical, c.entered, c.unit)))
            }
            FieldKind::Number { accepted, min, max } => {
                let unit = match unit {
                    Some(u) => u,
                    None => accepted[0].0,
                };
                let conv = accepted.iter().find(|(u, _)| *u == unit).map(|(_, c)| *c).ok_or_else(|| {
                    Self::invalid(
                        name,
                        raw,
                        format!(
                            "unit {unit} not accepted (accepted: {})",
                            accepted.iter().map(|(u, _)| u.symbol()).collect::<Vec<_>>().join(", ")
                        ),
                    )
                })?;
                if !value.is_finite() {
                    return Err(Self::invalid(name, raw, "not a number"));
                }
                let v = conv.apply(value);
                if v < min || v > max {
                    return Err(Self::invalid(
                        name,
                        raw,
                        format!("outside the possible range {min}-{max} {}", accepted[0].0),
                    ));
                }
                Ok(Some(Measured::entered(v, value, unit)))
            }
            _ => Err(Self::invalid(name, raw, "not a numeric field")),
        }
    }

    pub fn flag(&self, name: &str) -> Result<Option<bool>, ScoreError> {
        let Some((_, raw)) = self.field(name) else { return Ok(None) };
        match raw {
            RawValue::Bool(b) => Ok(Some(*b)),
            RawValue::Number { value, unit: None } if *value == 0.0 || *value == 1.0 => Ok(Some(*value == 1.0)),
            RawValue::Text(t) => match t.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "y" => Ok(Some(true)),
                "0" | "false" | "no" | "n" => Ok(Some(false)),
                _ => Err(Self::invalid(name, raw, "expected yes or no")),
            },
            _ => Err(Self::invalid(name, raw, "expected yes or no")),
        }
    }

    pub fn choice(&self, name: &str) -> Result<Option<&'static str>, ScoreError> {
        let Some((info, raw)) = self.field(name) else { return Ok(None) };
        let FieldKind::Choice(options) = info.kind else { return Err(Self::invalid(name, raw, "not a code field")) };
        let text = match raw {
            RawValue::Text(t) => t.to_ascii_lowercase(),
            RawValue::List(l) if l.len() == 1 => l[0].to_ascii_lowercase(),
            _ => return Err(Self::invalid(name, raw, format!("expected one of {}", options.join(", ")))),
        };
        options
            .iter()
            .find(|o| **o == text)
            .copied()
            .map(Some)
            .ok_or_else(|| Self::invalid(name, raw, format!("expected one of {}", options.join(", "))))
    }

    pub fn choices(&self, name: &str) -> Result<Option<Vec<&'static str>>, ScoreError> {
        let Some((info, raw)) = self.field(name) else { return Ok(None) };
        let FieldKind::Choices(options) = info.kind else { return Err(Self::invalid(name, raw, "not a code field")) };
        let items: Vec<String> = match raw {
            RawValue::Text(t) => vec![t.clone()],
            RawValue::List(l) => l.clone(),
            _ => return Err(Self::invalid(name, raw, format!("expected codes of {}", options.join(", ")))),
        };
        let mut out = Vec::new();
        for it in items {
            let low = it.trim().to_ascii_lowercase();
            match options.iter().find(|o| **o == low) {
                Some(o) => out.push(*o),
                None => return Err(Self::invalid(name, raw, format!("'{it}' is not one of {}", options.join(", ")))),
            }
        }
        Ok(Some(out))
    }

    /// Read every dose field of this calculator into a dose set.
    /// `<drug>_minutes` fields (if the calculator has them) give how long the
    /// infusion has run; `norepinephrine_salt` the salt form.
    pub fn doses(&mut self, weight_kg: Option<f64>) -> Result<DoseSet, ScoreError> {
        let salt = match self.choice("norepinephrine_salt")? {
            Some(s) => s.parse::<Salt>().map_err(|e| ScoreError::Invalid {
                field: "norepinephrine_salt".into(),
                value: s.into(),
                reason: e.to_string(),
            })?,
            None => Salt::Base,
        };
        let mut set = DoseSet { weight_kg, doses: Vec::new() };
        for info in self.info.fields {
            let FieldKind::Dose(drug) = info.kind else { continue };
            let Some(raw) = self.input.fields.get(info.name) else { continue };
            let (rate, unit) = Self::number_of(info.name, raw)?;
            let unit = unit.ok_or_else(|| {
                Self::invalid(
                    info.name,
                    raw,
                    format!(
                        "a dose needs its unit ({})",
                        dose_units(drug).iter().map(|u| u.symbol()).collect::<Vec<_>>().join(", ")
                    ),
                )
            })?;
            if !dose_units(drug).contains(&unit) {
                return Err(Self::invalid(
                    info.name,
                    raw,
                    format!(
                        "unit {unit} is not a dose unit for {drug} (accepted: {})",
                        dose_units(drug).iter().map(|u| u.symbol()).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            let charted = ChartedDose {
                drug,
                rate,
                unit,
                salt: if drug == Drug::Norepinephrine { salt } else { Salt::Base },
                concentration: None,
                weight_kg,
            };
            // Vasopressin per kg without a weight: VIS only needs U/kg/min,
            // so keep the per-kg value instead of refusing.
            let per_kg_vaso = match (drug, unit) {
                (Drug::Vasopressin, Unit::UnitsPerKgPerMin) => Some(rate),
                (Drug::Vasopressin, Unit::MilliUnitsPerKgPerMin) => Some(rate / 1000.0),
                _ => None,
            };
            let canonical = if weight_kg.is_none() && per_kg_vaso.is_some() {
                let v = per_kg_vaso.unwrap_or(0.0);
                if v > 0.003 {
                    return Err(Self::invalid(
                        info.name,
                        raw,
                        "above the possible maximum of 0.003 U/kg/min; was a U/min rate entered as U/kg/min?",
                    ));
                }
                None
            } else {
                let n = charted.normalise().map_err(|e| Self::invalid(info.name, raw, e.to_string()))?;
                if n.unusual {
                    self.warnings.push(format!("{}: {rate} {unit} is unusually high; please confirm", info.name));
                }
                Some(n.canonical)
            };
            let minutes_field = format!("{}_minutes", info.name);
            let minutes = if self.info.fields.iter().any(|f| f.name == minutes_field) {
                self.measured(&minutes_field)?.map(|m| m.value)
            } else {
                None
            };
            set.doses.push(DoseEntry {
                drug,
                rate: canonical,
                vaso_u_per_kg_min: per_kg_vaso,
                entered: rate,
                unit,
                salt: charted.salt,
                minutes,
                time: None,
                source: None,
            });
        }
        Ok(set)
    }
}
