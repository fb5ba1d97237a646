//! Patients, ECMO runs and what is recorded during a run.
//!
//! Values are held in canonical units (see [`crate::concepts`] and
//! [`crate::drugs`]); the value and unit as entered travel with them.

use crate::concepts::Quantity;
use crate::drugs::{Concentration, Drug, Salt};
use crate::time::Timestamp;
use crate::units::Unit;
use serde::{Deserialize, Serialize};

/// Defines a small code enum with its CSV/JSON codes, parsing and listing.
macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal $(| $alias:literal)*),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }
            /// Every accepted code, for error messages and docs.
            pub fn codes() -> String {
                [$($code),+].join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                let t = s.trim().to_ascii_lowercase();
                match t.as_str() {
                    $($code $(| $alias)* => Ok($name::$variant),)+
                    _ => Err(format!("unknown code '{}' (accepted: {})", s, $name::codes())),
                }
            }
        }
    };
}

code_enum!(
    /// Sex as recorded (ENCOURAGE awards points for female sex).
    Sex { Female = "female" | "f", Male = "male" | "m" }
);

code_enum!(
    /// ECMO configuration.
    Mode { Va = "va" | "v-a", Vv = "vv" | "v-v", Vav = "vav" | "v-av" }
);

code_enum!(
    /// Indication for ECMO (spec §13.5, ELSO-compatible).
    Etiology {
        AmiCs = "ami_cs" | "ami",
        Myocarditis = "myocarditis",
        PostCardiotomy = "post_cardiotomy",
        AcuteOnChronicHf = "acute_on_chronic_hf" | "adhf",
        PulmonaryEmbolism = "pulmonary_embolism" | "pe",
        RefractoryVtVf = "refractory_vt_vf",
        PostTransplant = "post_transplant",
        Congenital = "congenital",
        Other = "other",
    }
);

code_enum!(
    /// APACHE II admission category (chronic-health points depend on it).
    AdmissionType {
        NonOperative = "non_operative" | "medical",
        EmergencyPostOperative = "emergency_postop",
        ElectivePostOperative = "elective_postop",
    }
);

code_enum!(
    /// Where a cardiac arrest before ECMO happened.
    ArrestLocation { None = "none", Ihca = "ihca", Ohca = "ohca" }
);

code_enum!(
    /// Cardiac rhythm at a point of the arrest (spec §12.2).
    Rhythm {
        Vf = "vf",
        PulselessVt = "pvt",
        Pea = "pea",
        Asystole = "asystole",
        Unknown = "unknown",
    }
);

impl Rhythm {
    /// VF or pulseless VT; `None` when unknown.
    pub fn shockable(self) -> Option<bool> {
        match self {
            Rhythm::Vf | Rhythm::PulselessVt => Some(true),
            Rhythm::Pea | Rhythm::Asystole => Some(false),
            Rhythm::Unknown => None,
        }
    }
}

code_enum!(
    /// Concomitant support with a start and stop.
    SupportKind {
        Iabp = "iabp",
        Impella = "impella",
        /// Continuous renal replacement (CVVH, CVVHD, CVVHDF).
        Crrt = "crrt",
        /// Intermittent haemodialysis or SLED.
        IntermittentDialysis = "intermittent_dialysis" | "ihd",
        MechanicalVentilation = "mechanical_ventilation" | "mv",
    }
);

code_enum!(
    /// Clinical events during or after the run.
    EventKind {
        /// Ischaemic or haemorrhagic stroke confirmed by imaging.
        Stroke = "stroke",
        /// Sepsis-3: infection with an acute SOFA rise of 2 or more.
        Sepsis = "sepsis",
        Bleeding = "bleeding",
        LimbIschaemia = "limb_ischaemia" | "limb_ischemia",
        /// Echo LVEF; `value` in percent.
        EchoLvef = "echo_lvef",
        /// Aortic valve opening on echo; `detail` is opens, intermittent or closed.
        EchoAorticValve = "echo_aortic_valve",
        /// A weaning (reduced-flow) trial met the recovery criteria; `detail` may list them.
        CardiacRecovery = "cardiac_recovery",
        VadImplant = "vad_implant",
        HeartTransplant = "heart_transplant",
        Death = "death",
        IcuDischarge = "icu_discharge",
        HospitalDischarge = "hospital_discharge",
        /// Cerebral Performance Category; `value` 1-5, `detail` the time point.
        Cpc = "cpc",
        /// ECMO re-instituted after decannulation.
        Recannulation = "recannulation",
        /// Last time the patient was known alive (censoring for survival).
        LastFollowUp = "last_follow_up",
    }
);

code_enum!(
    /// Aortic valve opening on echo (spec §13.4).
    AorticValveOpening { Opens = "opens", Intermittent = "intermittent", Closed = "closed" }
);

/// Chronic conditions before this admission (APACHE II chronic health, SAVE).
/// `None` means not recorded, which is different from absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChronicConditions {
    /// Biopsy-proven cirrhosis with portal hypertension or prior hepatic failure.
    pub liver_cirrhosis: Option<bool>,
    /// NYHA class IV heart failure.
    pub heart_failure_nyha_iv: Option<bool>,
    /// Severe chronic respiratory disease.
    pub severe_respiratory: Option<bool>,
    /// Chronic dialysis.
    pub chronic_dialysis: Option<bool>,
    /// Immunosuppression by therapy or disease.
    pub immunocompromised: Option<bool>,
    /// Chronic kidney disease (damage or GFR < 60 for 3 months or more; SAVE).
    pub chronic_renal_failure: Option<bool>,
}

impl ChronicConditions {
    /// APACHE II "history of severe organ insufficiency or immunocompromise":
    /// yes if any of the five conditions is recorded, no only when all five are
    /// recorded absent, unknown otherwise. (Chronic renal failure in the SAVE
    /// sense is not one of them: APACHE II counts chronic dialysis only.)
    pub fn apache_severe_insufficiency(&self) -> Option<bool> {
        let flags = [
            self.liver_cirrhosis,
            self.heart_failure_nyha_iv,
            self.severe_respiratory,
            self.chronic_dialysis,
            self.immunocompromised,
        ];
        if flags.contains(&Some(true)) {
            Some(true)
        } else if flags.iter().all(|f| *f == Some(false)) {
            Some(false)
        } else {
            None
        }
    }
}

/// A patient, pseudonymous.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Patient {
    pub id: String,
    pub sex: Sex,
    /// Age in completed years at the first cannulation, when given directly.
    pub age_years: Option<f64>,
    /// Birth year, when age is derived.
    pub birth_year: Option<i32>,
    pub weight_kg: f64,
    pub height_cm: Option<f64>,
    pub chronic: ChronicConditions,
}

impl Patient {
    /// Age in completed years at `at`, from the age column or the birth year
    /// (then approximate by up to a year, which the caller reports).
    pub fn age_at(&self, at: Timestamp) -> Option<f64> {
        self.age_years.or_else(|| self.birth_year.map(|y| f64::from(at.civil().0 - y)))
    }

    pub fn bmi(&self) -> Option<f64> {
        self.height_cm.map(|h| self.weight_kg / (h / 100.0).powi(2))
    }
}

/// Cardiac arrest context of a run (spec §12.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArrestContext {
    pub location: ArrestLocation,
    /// ECMO started during CPR without sustained ROSC.
    pub ecpr: bool,
    pub collapse: Option<Timestamp>,
    pub cpr_start: Option<Timestamp>,
    pub emergency_call: Option<Timestamp>,
    pub hospital_arrival: Option<Timestamp>,
    pub rosc: Option<Timestamp>,
    /// Minutes from collapse to CPR, when charted directly.
    pub no_flow_min: Option<f64>,
    /// Minutes from CPR start to ECMO flow (or sustained ROSC), when charted directly.
    pub low_flow_min: Option<f64>,
    pub first_rhythm: Rhythm,
    pub arrival_rhythm: Rhythm,
}

impl ArrestContext {
    pub fn none() -> Self {
        ArrestContext {
            location: ArrestLocation::None,
            ecpr: false,
            collapse: None,
            cpr_start: None,
            emergency_call: None,
            hospital_arrival: None,
            rosc: None,
            no_flow_min: None,
            low_flow_min: None,
            first_rhythm: Rhythm::Unknown,
            arrival_rhythm: Rhythm::Unknown,
        }
    }

    pub fn had_arrest(&self) -> bool {
        self.location != ArrestLocation::None
    }
}

/// One ECMO run: from flow start to decannulation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub id: String,
    pub patient_id: String,
    pub mode: Mode,
    pub etiology: Etiology,
    pub admission_type: AdmissionType,
    pub icu_admission: Option<Timestamp>,
    /// ECMO flow established (T0 of every "hours on ECMO" in this system).
    pub flow_start: Timestamp,
    pub decannulation: Option<Timestamp>,
    pub arrest: ArrestContext,
    /// Hours of mechanical ventilation before ECMO (SAVE).
    pub ventilation_hours_before: Option<f64>,
    /// Free-text cohort or enrolment label of the centre (the synthetic
    /// generator writes its profile name here).
    pub cohort: Option<String>,
}

/// Where a record came from (file and line, a form, a FHIR resource).
pub type Source = Option<String>;

/// A measured value at an instant, or a volume over `[start, time]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub time: Timestamp,
    /// Start of the collection interval for volumes; `None` for point values.
    pub start: Option<Timestamp>,
    pub quantity: Quantity,
    /// Canonical unit value.
    pub value: f64,
    pub entered_value: f64,
    pub entered_unit: Unit,
    pub source: Source,
}

/// A change of an infusion's rate; the rate holds until the next change of
/// the same drug. A stop is a change to 0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InfusionChange {
    pub time: Timestamp,
    pub drug: Drug,
    /// Canonical rate: mcg/kg/min (base for norepinephrine), U/min for
    /// vasopressin, ng/kg/min for angiotensin II.
    pub rate: f64,
    pub entered_rate: f64,
    pub entered_unit: Unit,
    pub salt: Salt,
    pub concentration: Option<Concentration>,
    pub weight_kg: f64,
    pub source: Source,
}

/// A concomitant support period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupportPeriod {
    pub kind: SupportKind,
    pub start: Timestamp,
    /// `None` while still running.
    pub stop: Option<Timestamp>,
    pub source: Source,
}

/// A clinical event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub time: Timestamp,
    pub kind: EventKind,
    pub value: Option<f64>,
    pub detail: Option<String>,
    pub source: Source,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apache_chronic_health_needs_all_five_to_say_no() {
        let none = ChronicConditions::default();
        assert_eq!(none.apache_severe_insufficiency(), None);
        let all_no = ChronicConditions {
            liver_cirrhosis: Some(false),
            heart_failure_nyha_iv: Some(false),
            severe_respiratory: Some(false),
            chronic_dialysis: Some(false),
            immunocompromised: Some(false),
            chronic_renal_failure: Some(true),
        };
        // Chronic renal failure without dialysis is a SAVE item, not an APACHE II one.
        assert_eq!(all_no.apache_severe_insufficiency(), Some(false));
        let one_yes = ChronicConditions { immunocompromised: Some(true), liver_cirrhosis: None, ..all_no };
        assert_eq!(one_yes.apache_severe_insufficiency(), Some(true));
    }
}
