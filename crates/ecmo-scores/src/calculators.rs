//! The bedside calculator layer: every score from direct inputs, by name.
//!
//! `ecmo score NAME --FIELD VALUE ...` builds a [`CalcInput`] (from flags or a
//! JSON file) and calls [`compute`]; [`calculators`] lists every calculator's
//! fields and accepted units for help text.

use crate::apache::{Apache2Input, apache2};
use crate::ecpr::{Tips65Input, tips65};
use crate::encourage::{EncourageInput, encourage};
use crate::input::{
    CM, CalcInput, CalculatorInfo, FieldInfo, FieldKind, HOURS, KG, MINUTES, RATIO_MMHG, Reader, UNITLESS, YEARS,
};
use crate::misc::{lactate_clearance_score, map_from_bp, map_score};
use crate::result::{Measured, Options, RespSupportDef, ScoreError, ScoreResult, SofaUnitPolicy, VisVariant};
use crate::save::{SaveDiagnosis, SaveInput, save};
use crate::sofa::{PfSample, RespSupport, SofaInput, sofa};
use crate::sofa2::{EcmoSupport, Sofa2Input, sofa2};
use crate::vasoactive::{inotrope_score, nee, vis};
use ecmo_domain::units::Conversion;
use ecmo_domain::{AdmissionType, Drug, Quantity, Rhythm, Sex, Unit};

const fn q(name: &'static str, quantity: Quantity, help: &'static str) -> FieldInfo {
    FieldInfo { name, kind: FieldKind::Quantity(quantity), help }
}
const fn dose(name: &'static str, drug: Drug) -> FieldInfo {
    FieldInfo { name, kind: FieldKind::Dose(drug), help: "continuous infusion rate" }
}
const fn num(
    name: &'static str,
    accepted: &'static [(Unit, Conversion)],
    min: f64,
    max: f64,
    help: &'static str,
) -> FieldInfo {
    FieldInfo { name, kind: FieldKind::Number { accepted, min, max }, help }
}
const fn flag(name: &'static str, help: &'static str) -> FieldInfo {
    FieldInfo { name, kind: FieldKind::Flag, help }
}
const fn choice(name: &'static str, options: &'static [&'static str], help: &'static str) -> FieldInfo {
    FieldInfo { name, kind: FieldKind::Choice(options), help }
}
const fn minutes(name: &'static str) -> FieldInfo {
    num(
        name,
        MINUTES,
        0.0,
        1.0e6,
        "how long the infusion has run (counts in SOFA only if >= 60 min; default: >= 60 min)",
    )
}

const MMHG: &[(Unit, Conversion)] = &[(Unit::MmHg, Conversion::Identity)];
const ASSUME: FieldInfo = flag("assume_normal", "score missing physiology as normal and list it in assumed[]");
const WEIGHT: FieldInfo =
    num("weight", KG, 20.0, 350.0, "dosing weight (needed for per-minute doses and vasopressin in VIS)");
const SALT: FieldInfo = choice(
    "norepinephrine_salt",
    &["base", "bitartrate_monohydrate", "tartrate", "anhydrous_bitartrate", "hydrochloride"],
    "salt form the norepinephrine dose is labelled in (scored as base)",
);
const AGE: FieldInfo = num("age", YEARS, 0.0, 120.0, "age in completed years");
const RESP_SUPPORT: FieldInfo =
    choice("respiratory_support", RespSupport::CODES, "respiratory support at the blood gas");
const UNIT_POLICY: FieldInfo = choice(
    "unit_policy",
    &["unit_native", "convert_to_mgdl"],
    "band umol/L creatinine/bilirubin on the umol/L column (default) or convert first",
);

static VIS_FIELDS: &[FieldInfo] = &[
    dose("norepinephrine", Drug::Norepinephrine),
    dose("epinephrine", Drug::Epinephrine),
    dose("dopamine", Drug::Dopamine),
    dose("dobutamine", Drug::Dobutamine),
    dose("milrinone", Drug::Milrinone),
    dose("vasopressin", Drug::Vasopressin),
    dose("levosimendan", Drug::Levosimendan),
    dose("phenylephrine", Drug::Phenylephrine),
    dose("angiotensin_ii", Drug::AngiotensinII),
    WEIGHT,
    SALT,
    choice("variant", &["gaies2010", "koponen2019"], "VIS coefficient set"),
    flag("strict", "refuse when a running agent is not part of the variant"),
    ASSUME,
];

static SOFA_FIELDS: &[FieldInfo] = &[
    q("pao2", Quantity::Pao2, "arterial PaO2"),
    q("fio2", Quantity::Fio2, "FiO2 of the same blood gas"),
    num("pf_ratio", RATIO_MMHG, 10.0, 1000.0, "PaO2/FiO2 ratio, if given directly"),
    RESP_SUPPORT,
    flag("ventilated", "invasive mechanical ventilation (alternative to respiratory_support)"),
    choice("resp_support_def", &["invasive_or_niv", "invasive_only"], "what counts as respiratory support"),
    q("platelets", Quantity::Platelets, "lowest platelet count"),
    q("bilirubin", Quantity::Bilirubin, "highest total bilirubin"),
    UNIT_POLICY,
    q("map", Quantity::Map, "lowest mean arterial pressure"),
    q("sbp", Quantity::SystolicBp, "systolic pressure (MAP from SBP/DBP when no MAP)"),
    q("dbp", Quantity::DiastolicBp, "diastolic pressure"),
    q("gcs", Quantity::Gcs, "lowest GCS (pre-sedation for sedated patients)"),
    q("creatinine", Quantity::Creatinine, "highest creatinine"),
    q("urine_output", Quantity::UrineOutput, "urine output over 24 h"),
    dose("norepinephrine", Drug::Norepinephrine),
    minutes("norepinephrine_minutes"),
    dose("epinephrine", Drug::Epinephrine),
    minutes("epinephrine_minutes"),
    dose("dopamine", Drug::Dopamine),
    minutes("dopamine_minutes"),
    dose("dobutamine", Drug::Dobutamine),
    minutes("dobutamine_minutes"),
    dose("vasopressin", Drug::Vasopressin),
    dose("milrinone", Drug::Milrinone),
    dose("levosimendan", Drug::Levosimendan),
    dose("phenylephrine", Drug::Phenylephrine),
    WEIGHT,
    SALT,
    ASSUME,
];

static SOFA2_FIELDS: &[FieldInfo] = &[
    q("gcs", Quantity::Gcs, "lowest GCS (pre-sedation)"),
    num("gcs_motor", UNITLESS, 1.0, 6.0, "best motor response, when the total GCS cannot be assessed"),
    flag("delirium_drugs", "receiving drug therapy for delirium"),
    q("pao2", Quantity::Pao2, "arterial PaO2"),
    q("fio2", Quantity::Fio2, "FiO2 of the same blood gas"),
    num("pf_ratio", RATIO_MMHG, 10.0, 1000.0, "PaO2/FiO2 ratio, if given directly"),
    q("spo2", Quantity::Spo2, "SpO2 (used only without PaO2 and when < 98 %)"),
    RESP_SUPPORT,
    flag("support_limited", "advanced support unavailable or limited by a ceiling of treatment"),
    choice("ecmo", &["none", "va", "vv"], "ECMO configuration"),
    flag("mcs", "IABP, LVAD or microaxial flow pump"),
    q("map", Quantity::Map, "lowest MAP"),
    q("sbp", Quantity::SystolicBp, "systolic pressure"),
    q("dbp", Quantity::DiastolicBp, "diastolic pressure"),
    flag("vasoactives_limited", "vasoactives unavailable or limited by a ceiling of care (MAP-only scoring)"),
    dose("norepinephrine", Drug::Norepinephrine),
    minutes("norepinephrine_minutes"),
    dose("epinephrine", Drug::Epinephrine),
    minutes("epinephrine_minutes"),
    dose("dopamine", Drug::Dopamine),
    minutes("dopamine_minutes"),
    dose("dobutamine", Drug::Dobutamine),
    minutes("dobutamine_minutes"),
    dose("milrinone", Drug::Milrinone),
    minutes("milrinone_minutes"),
    dose("vasopressin", Drug::Vasopressin),
    minutes("vasopressin_minutes"),
    dose("levosimendan", Drug::Levosimendan),
    dose("phenylephrine", Drug::Phenylephrine),
    dose("angiotensin_ii", Drug::AngiotensinII),
    WEIGHT,
    SALT,
    q("bilirubin", Quantity::Bilirubin, "highest total bilirubin"),
    UNIT_POLICY,
    q("creatinine", Quantity::Creatinine, "highest creatinine"),
    flag("rrt", "receiving renal replacement therapy (not for non-renal reasons only)"),
    num("uo_lt_0_5_hours", HOURS, 0.0, 48.0, "hours with urine output < 0.5 mL/kg/h"),
    num("uo_lt_0_3_hours", HOURS, 0.0, 48.0, "hours with urine output < 0.3 mL/kg/h"),
    num("anuria_hours", HOURS, 0.0, 48.0, "hours of anuria"),
    q("potassium", Quantity::Potassium, "highest potassium (RRT criteria)"),
    q("ph", Quantity::Ph, "lowest pH (RRT criteria)"),
    q("bicarbonate", Quantity::Bicarbonate, "lowest bicarbonate (RRT criteria)"),
    q("platelets", Quantity::Platelets, "lowest platelet count"),
    ASSUME,
];

static APACHE2_FIELDS: &[FieldInfo] = &[
    q("temperature", Quantity::Temperature, "core temperature (worst)"),
    q("map", Quantity::Map, "mean arterial pressure (worst)"),
    q("sbp", Quantity::SystolicBp, "systolic pressure (MAP from SBP/DBP when no MAP)"),
    q("dbp", Quantity::DiastolicBp, "diastolic pressure"),
    q("heart_rate", Quantity::HeartRate, "heart rate (worst)"),
    q("resp_rate", Quantity::RespiratoryRate, "respiratory rate, ventilated or not (worst)"),
    q("fio2", Quantity::Fio2, "FiO2 of the blood gas"),
    q("pao2", Quantity::Pao2, "PaO2 of the same blood gas"),
    q("paco2", Quantity::Paco2, "PaCO2 of the same blood gas"),
    num("aado2", MMHG, 0.0, 800.0, "A-aDO2 reported by the analyser (preferred)"),
    num("patm", MMHG, 400.0, 800.0, "barometric pressure (default 760 mmHg)"),
    q("ph", Quantity::Ph, "arterial pH (worst)"),
    q("bicarbonate", Quantity::Bicarbonate, "serum HCO3, used only without an arterial pH"),
    q("sodium", Quantity::Sodium, "sodium (worst)"),
    q("potassium", Quantity::Potassium, "potassium (worst)"),
    q("creatinine", Quantity::Creatinine, "creatinine (worst)"),
    flag("acute_renal_failure", "acute renal failure (doubles creatinine points)"),
    q("haematocrit", Quantity::Haematocrit, "haematocrit (worst)"),
    q("wbc", Quantity::Wbc, "white cell count (worst)"),
    q("gcs", Quantity::Gcs, "GCS (best estimate of unsedated GCS)"),
    AGE,
    flag("chronic_health", "severe organ insufficiency or immunocompromise before admission"),
    choice(
        "admission_type",
        &["non_operative", "medical", "emergency_postop", "elective_postop"],
        "admission category",
    ),
    ASSUME,
];

static SAVE_FIELDS: &[FieldInfo] = &[
    FieldInfo {
        name: "diagnosis",
        kind: FieldKind::Choices(SaveDiagnosis::CODES),
        help: "diagnosis groups (all that apply)",
    },
    AGE,
    num("weight", KG, 20.0, 350.0, "weight"),
    flag("liver_failure", "acute pre-ECMO liver failure (else derived from bilirubin/ALT/AST)"),
    q("bilirubin", Quantity::Bilirubin, "pre-ECMO bilirubin (liver failure if >= 33 umol/L)"),
    q("alt", Quantity::Alt, "pre-ECMO ALT (liver failure if > 70 IU/L)"),
    q("ast", Quantity::Ast, "pre-ECMO AST (liver failure if > 70 IU/L)"),
    flag("cns_dysfunction", "neurotrauma, stroke, encephalopathy, cerebral embolism or seizures before ECMO"),
    flag("acute_renal_failure", "acute renal insufficiency (else derived from creatinine > 1.5 mg/dL)"),
    q("creatinine", Quantity::Creatinine, "pre-ECMO creatinine"),
    flag("chronic_renal_failure", "kidney damage or GFR < 60 for >= 3 months"),
    num("ventilation_hours", HOURS, 0.0, 2000.0, "hours intubated before ECMO (0 if not intubated)"),
    flag("intubated", "intubated before ECMO (default: ventilation_hours > 0)"),
    q("pip", Quantity::PeakInspiratoryPressure, "peak inspiratory pressure"),
    flag("cardiac_arrest", "cardiac arrest before ECMO"),
    q("dbp", Quantity::DiastolicBp, "pre-ECMO diastolic pressure"),
    q("sbp", Quantity::SystolicBp, "pre-ECMO systolic pressure (pulse pressure from SBP-DBP)"),
    num("pulse_pressure", MMHG, 0.0, 200.0, "pre-ECMO pulse pressure"),
    q("bicarbonate", Quantity::Bicarbonate, "pre-ECMO bicarbonate"),
    ASSUME,
];

static ENCOURAGE_FIELDS: &[FieldInfo] = &[
    AGE,
    choice("sex", &["female", "f", "male", "m"], "sex"),
    num("bmi", UNITLESS, 8.0, 100.0, "body-mass index, kg/m2 (or weight and height)"),
    num("weight", KG, 20.0, 350.0, "weight (for BMI)"),
    num("height", CM, 100.0, 250.0, "height (for BMI)"),
    q("gcs", Quantity::Gcs, "GCS"),
    q("creatinine", Quantity::Creatinine, "creatinine"),
    q("lactate", Quantity::Lactate, "lactate"),
    q("prothrombin_activity", Quantity::ProthrombinActivity, "prothrombin activity (Quick), % (not INR)"),
    ASSUME,
];

static TIPS65_FIELDS: &[FieldInfo] = &[
    AGE,
    num("call_to_arrival", MINUTES, 0.0, 600.0, "minutes from emergency call to hospital arrival"),
    q("ph", Quantity::Ph, "initial in-hospital pH"),
    choice("arrival_rhythm", &["vf", "pvt", "pea", "asystole", "unknown"], "rhythm on hospital arrival"),
    flag("shockable", "shockable rhythm on hospital arrival (alternative to arrival_rhythm)"),
    ASSUME,
];

static MAP_FIELDS: &[FieldInfo] =
    &[q("sbp", Quantity::SystolicBp, "systolic pressure"), q("dbp", Quantity::DiastolicBp, "diastolic pressure")];

static LC_FIELDS: &[FieldInfo] = &[
    q("lactate_t0", Quantity::Lactate, "lactate at the start"),
    q("lactate_t1", Quantity::Lactate, "lactate at the end"),
];

const fn calc(
    name: &'static str,
    title: &'static str,
    fields: &'static [FieldInfo],
    definition: &'static str,
    population: &'static str,
) -> CalculatorInfo {
    CalculatorInfo { name, title, fields, definition, population }
}

static CALCULATORS: &[CalculatorInfo] = &[
    calc(
        "vis",
        "Vasoactive-Inotropic Score",
        VIS_FIELDS,
        "Gaies 2010 / Koponen 2019 (variant=koponen2019 adds levosimendan x50)",
        "infants after CPB (Gaies); adult cardiac surgery (Koponen)",
    ),
    calc(
        "inotrope_score",
        "Inotrope Score",
        VIS_FIELDS,
        "Wernovsky 1995: dopamine + dobutamine + 100*epinephrine",
        "neonates after arterial switch",
    ),
    calc("nee", "Norepinephrine-equivalent dose", VIS_FIELDS, "Goradia 2021", "adult vasopressor equivalence"),
    calc("sofa", "SOFA (1996)", SOFA_FIELDS, "Vincent 1996", "ICU patients"),
    calc("sofa2", "SOFA-2 (2025)", SOFA2_FIELDS, "Ranzani 2025", "adult ICU patients"),
    calc("apache2", "APACHE II", APACHE2_FIELDS, "Knaus 1985", "adult ICU admissions"),
    calc("save", "SAVE score", SAVE_FIELDS, "Schmidt 2015", "VA-ECMO for refractory cardiogenic shock (ELSO)"),
    calc("encourage", "ENCOURAGE score", ENCOURAGE_FIELDS, "Muller 2016", "VA-ECMO for AMI cardiogenic shock"),
    calc("tips65", "TiPS65", TIPS65_FIELDS, "Okada 2020", "OHCA, shockable rhythm, ECPR"),
    calc("map", "Mean arterial pressure", MAP_FIELDS, "(SBP + 2*DBP)/3", "any"),
    calc("lactate_clearance", "Lactate clearance", LC_FIELDS, "(L0 - L1)/L0 x 100 %", "any"),
];

/// Every bedside calculator with its fields and accepted units.
pub fn calculators() -> &'static [CalculatorInfo] {
    CALCULATORS
}

pub fn calculator(name: &str) -> Option<&'static CalculatorInfo> {
    let n = name.trim().to_ascii_lowercase().replace('-', "_");
    let n = match n.as_str() {
        "apache" | "apache_ii" | "apacheii" => "apache2",
        "sofa_2" | "sofa_ii" => "sofa2",
        "is" | "inotrope" => "inotrope_score",
        "nee" | "ne_equivalent" => "nee",
        other => other,
    };
    CALCULATORS.iter().find(|c| c.name == n)
}

/// Run the calculator `name` on direct inputs. Option fields in the input
/// (`assume_normal`, `variant`, `strict`, `unit_policy`, `resp_support_def`,
/// `patm`) override `opts`.
pub fn compute(name: &str, input: &CalcInput, opts: &Options) -> Result<ScoreResult, ScoreError> {
    let info = calculator(name).ok_or_else(|| ScoreError::UnknownCalculator {
        name: name.to_string(),
        known: CALCULATORS.iter().map(|c| c.name).collect::<Vec<_>>().join(", "),
    })?;
    let mut r = Reader::new(info, input)?;
    let mut opts = opts.clone();
    if let Some(a) = r.flag("assume_normal")? {
        opts.assume_normal = a;
    }
    let mut result = match info.name {
        "vis" | "inotrope_score" | "nee" => {
            if let Some(v) = r.choice("variant")? {
                opts.vis_variant = if v == "koponen2019" { VisVariant::Koponen2019 } else { VisVariant::Gaies2010 };
            }
            if let Some(s) = r.flag("strict")? {
                opts.strict_agents = s;
            }
            let weight = r.measured("weight")?.map(|m| m.value);
            let doses = r.doses(weight)?;
            match info.name {
                "vis" => vis(&doses, opts.vis_variant, &opts)?,
                "inotrope_score" => inotrope_score(&doses, &opts)?,
                _ => nee(&doses, &opts),
            }
        }
        "sofa" => {
            unit_policy(&r, &mut opts)?;
            if let Some(d) = r.choice("resp_support_def")? {
                opts.resp_support =
                    if d == "invasive_only" { RespSupportDef::InvasiveOnly } else { RespSupportDef::InvasiveOrNiv };
            }
            let weight = r.measured("weight")?.map(|m| m.value);
            let input = SofaInput {
                pf: pf_samples(&mut r)?,
                platelets: r.measured("platelets")?,
                bilirubin: r.measured("bilirubin")?,
                map: map_field(&mut r)?,
                gcs: r.measured("gcs")?,
                creatinine: r.measured("creatinine")?,
                urine_output_24h: r.measured("urine_output")?,
                doses: r.doses(weight)?,
            };
            sofa(&input, &opts)
        }
        "sofa2" => {
            unit_policy(&r, &mut opts)?;
            let weight = r.measured("weight")?.map(|m| m.value);
            let support = support_field(&r)?;
            let ecmo = match r.choice("ecmo")? {
                Some("va") => EcmoSupport::Va,
                Some("vv") => EcmoSupport::Vv,
                _ => EcmoSupport::None,
            };
            let input = Sofa2Input {
                gcs: r.measured("gcs")?,
                gcs_motor: r.measured("gcs_motor")?,
                delirium_drugs: r.flag("delirium_drugs")?.unwrap_or(false),
                pf: pf_samples(&mut r)?,
                spo2: r.measured("spo2")?,
                spo2_fio2: r.measured("fio2")?,
                spo2_support: support,
                support_limited: r.flag("support_limited")?.unwrap_or(false),
                ecmo,
                other_mcs: r.flag("mcs")?.unwrap_or(false),
                map: map_field(&mut r)?,
                doses: r.doses(weight)?,
                vasoactives_limited: r.flag("vasoactives_limited")?.unwrap_or(false),
                bilirubin: r.measured("bilirubin")?,
                creatinine: r.measured("creatinine")?,
                rrt: r.flag("rrt")?.unwrap_or(false),
                uo_lt_0_5_hours: r.measured("uo_lt_0_5_hours")?.map(|m| m.value),
                uo_lt_0_3_hours: r.measured("uo_lt_0_3_hours")?.map(|m| m.value),
                anuria_hours: r.measured("anuria_hours")?.map(|m| m.value),
                potassium: r.measured("potassium")?,
                ph: r.measured("ph")?,
                bicarbonate: r.measured("bicarbonate")?,
                platelets: r.measured("platelets")?,
            };
            sofa2(&input, &opts)
        }
        "apache2" => {
            if let Some(p) = r.measured("patm")? {
                opts.patm_mmhg = p.value;
            }
            let admission_type = match r.choice("admission_type")? {
                Some(c) => Some(c.parse::<AdmissionType>().map_err(|e| ScoreError::Invalid {
                    field: "admission_type".into(),
                    value: c.into(),
                    reason: e,
                })?),
                None => None,
            };
            let input = Apache2Input {
                temperature: r.measured("temperature")?,
                map: map_field(&mut r)?,
                heart_rate: r.measured("heart_rate")?,
                resp_rate: r.measured("resp_rate")?,
                fio2: r.measured("fio2")?,
                pao2: r.measured("pao2")?,
                paco2: r.measured("paco2")?,
                aado2: r.measured("aado2")?,
                ph: r.measured("ph")?,
                bicarbonate: r.measured("bicarbonate")?,
                sodium: r.measured("sodium")?,
                potassium: r.measured("potassium")?,
                creatinine: r.measured("creatinine")?,
                acute_renal_failure: r.flag("acute_renal_failure")?,
                haematocrit: r.measured("haematocrit")?,
                wbc: r.measured("wbc")?,
                gcs: r.measured("gcs")?,
                age: r.measured("age")?,
                chronic_health: r.flag("chronic_health")?,
                admission_type,
            };
            apache2(&input, &opts)
        }
        "save" => {
            let diagnoses = r
                .choices("diagnosis")?
                .map(|v| v.iter().filter_map(|c| SaveDiagnosis::from_code(c)).collect::<Vec<_>>());
            let dbp = r.measured("dbp")?;
            let sbp = r.measured("sbp")?;
            let pulse_pressure = match r.measured("pulse_pressure")? {
                Some(p) => Some(p),
                None => match (&sbp, &dbp) {
                    (Some(s), Some(d)) => {
                        if d.value > s.value {
                            return Err(ScoreError::Inconsistent {
                                fields: "sbp, dbp".into(),
                                rule: "diastolic pressure above systolic".into(),
                            });
                        }
                        Some(Measured::new(s.value - d.value, Unit::MmHg))
                    }
                    _ => None,
                },
            };
            let input = SaveInput {
                diagnoses,
                age: r.measured("age")?,
                weight: r.measured("weight")?,
                liver_failure: r.flag("liver_failure")?,
                bilirubin: r.measured("bilirubin")?,
                alt: r.measured("alt")?,
                ast: r.measured("ast")?,
                cns_dysfunction: r.flag("cns_dysfunction")?,
                acute_renal_failure: r.flag("acute_renal_failure")?,
                creatinine: r.measured("creatinine")?,
                chronic_renal_failure: r.flag("chronic_renal_failure")?,
                ventilation_hours: r.measured("ventilation_hours")?,
                intubated: r.flag("intubated")?,
                pip: r.measured("pip")?,
                cardiac_arrest: r.flag("cardiac_arrest")?,
                dbp,
                pulse_pressure,
                bicarbonate: r.measured("bicarbonate")?,
            };
            save(&input, &opts)
        }
        "encourage" => {
            let sex = match r.choice("sex")? {
                Some(s) => Some(s.parse::<Sex>().map_err(|e| ScoreError::Invalid {
                    field: "sex".into(),
                    value: s.into(),
                    reason: e,
                })?),
                None => None,
            };
            let bmi = match r.measured("bmi")? {
                Some(b) => Some(b),
                None => match (r.measured("weight")?, r.measured("height")?) {
                    (Some(w), Some(h)) => Some(Measured::new(w.value / (h.value / 100.0).powi(2), Unit::Dimensionless)),
                    _ => None,
                },
            };
            let input = EncourageInput {
                age: r.measured("age")?,
                sex,
                bmi,
                gcs: r.measured("gcs")?,
                creatinine: r.measured("creatinine")?,
                lactate: r.measured("lactate")?,
                prothrombin_activity: r.measured("prothrombin_activity")?,
            };
            encourage(&input, &opts)
        }
        "tips65" => {
            let from_rhythm = match r.choice("arrival_rhythm")? {
                Some(c) => c.parse::<Rhythm>().ok().and_then(Rhythm::shockable),
                None => None,
            };
            let input = Tips65Input {
                age: r.measured("age")?,
                call_to_arrival: r.measured("call_to_arrival")?,
                ph: r.measured("ph")?,
                shockable: r.flag("shockable")?.or(from_rhythm),
            };
            tips65(&input, &opts)
        }
        "map" => map_score(r.measured("sbp")?.as_ref(), r.measured("dbp")?.as_ref(), &opts)?,
        "lactate_clearance" => {
            lactate_clearance_score(r.measured("lactate_t0")?.as_ref(), r.measured("lactate_t1")?.as_ref(), &opts)?
        }
        other => {
            return Err(ScoreError::UnknownCalculator { name: other.to_string(), known: String::new() });
        }
    };
    result.warnings.extend(r.warnings);
    Ok(result)
}

fn unit_policy(r: &Reader, opts: &mut Options) -> Result<(), ScoreError> {
    if let Some(p) = r.choice("unit_policy")? {
        opts.sofa_unit_policy =
            if p == "convert_to_mgdl" { SofaUnitPolicy::ConvertToMgDl } else { SofaUnitPolicy::UnitNative };
    }
    Ok(())
}

fn support_field(r: &Reader) -> Result<Option<RespSupport>, ScoreError> {
    Ok(match r.choice("respiratory_support")? {
        Some(c) => RespSupport::from_code(c),
        None => r.flag("ventilated").ok().flatten().map(|v| if v { RespSupport::Invasive } else { RespSupport::None }),
    })
}

fn pf_samples(r: &mut Reader) -> Result<Vec<PfSample>, ScoreError> {
    let support = support_field(r)?;
    if let Some(pf) = r.measured("pf_ratio")? {
        return Ok(vec![PfSample::new(pf.value, support)]);
    }
    let pao2 = r.measured("pao2")?;
    let fio2 = r.measured("fio2")?;
    Ok(match (pao2, fio2) {
        (Some(p), Some(f)) => {
            vec![PfSample { ratio: p.value / f.value, support, pao2: Some(p), fio2: Some(f) }]
        }
        _ => Vec::new(),
    })
}

fn map_field(r: &mut Reader) -> Result<Option<Measured>, ScoreError> {
    if let Some(m) = r.measured("map")? {
        return Ok(Some(m));
    }
    match (r.measured("sbp")?, r.measured("dbp")?) {
        (Some(s), Some(d)) => {
            let m = map_from_bp(s.value, d.value)?;
            Ok(Some(Measured::new(m, Unit::MmHg)))
        }
        _ => Ok(None),
    }
}
