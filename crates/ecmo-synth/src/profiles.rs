//! The four cohort profiles, each calibrated to one study in ../shared/seeds/.

use crate::series::{Builder, chance, normal, quartiles, round_to, trunc_normal, uniform};
use ecmo_domain::{
    AdmissionType, ArrestContext, ArrestLocation, ChronicConditions, Drug, Etiology, EventKind, Mode, Patient,
    Quantity as Q, Rhythm, Run, RunRecord, Sex, SupportKind, Timestamp, Unit,
};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A synthetic cohort profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// Refractory cardiogenic shock, 79 % after cardiac arrest, 31 % weaned
    /// (000_8e1a0da87da4db1b: hemodynamic predictors of weaning).
    CsWeaning,
    /// Cardiogenic shock on VA-ECMO, 56 % weaned, VIS reduction rate separating
    /// outcomes with AUC ≈ 0.78 (001_468f31bdc6e8f008).
    CsVis,
    /// Refractory OHCA treated with E-CPR, 10 % survival to ICU discharge
    /// (002_0f172cfa8009e74b).
    Ecpr,
    /// Patients on ECMO referred for VAD; end-organ dysfunction drives 2-year
    /// mortality (003_698794c6825dfa70).
    VadReferral,
}

impl Profile {
    pub const ALL: [Profile; 4] = [Profile::CsWeaning, Profile::CsVis, Profile::Ecpr, Profile::VadReferral];

    pub fn code(self) -> &'static str {
        match self {
            Profile::CsWeaning => "cs_weaning",
            Profile::CsVis => "cs_vis",
            Profile::Ecpr => "ecpr",
            Profile::VadReferral => "vad_referral",
        }
    }

    /// The cohort label written into runs.csv.
    pub fn cohort_label(self) -> String {
        format!("synthetic:{}", self.code())
    }

    pub fn from_code(s: &str) -> Option<Profile> {
        Profile::ALL.into_iter().find(|p| p.code() == s)
    }
}

/// 2013-01-01 00:00 in minutes: the start of the synthetic calendar.
const CALENDAR_START: i64 = 22_528_800;
const CALENDAR_DAYS: f64 = 8.0 * 365.0;

/// What happened to a run, decided before any value is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Ending {
    /// Decannulated; `died_after_h` hours after flow start if the patient died later.
    Weaned {
        died_after_h: Option<f64>,
    },
    DiedOnEcmo,
    BridgedToVad {
        transplant_after_h: Option<f64>,
        died_after_h: Option<f64>,
    },
}

pub fn generate_run(profile: Profile, index: u64, rng: &mut ChaCha8Rng) -> RunRecord {
    match profile {
        Profile::CsWeaning | Profile::CsVis => cardiogenic_shock(profile, index, rng),
        Profile::Ecpr => ecpr(index, rng),
        Profile::VadReferral => vad_referral(index, rng),
    }
}

fn base_record(profile: Profile, index: u64, rng: &mut ChaCha8Rng, age: f64, female: bool) -> RunRecord {
    let weight =
        if female { trunc_normal(rng, 68.0, 13.0, 42.0, 140.0) } else { trunc_normal(rng, 82.0, 14.0, 50.0, 160.0) };
    let height =
        if female { trunc_normal(rng, 163.0, 7.0, 145.0, 185.0) } else { trunc_normal(rng, 176.0, 7.0, 155.0, 200.0) };
    let minute_of_calendar = (uniform(rng, 0.0, CALENDAR_DAYS) * 1440.0) as i64;
    let flow_start = Timestamp(CALENDAR_START + minute_of_calendar - minute_of_calendar % 5);
    let patient = Patient {
        id: format!("SYN-P{:07}", index + 1),
        sex: if female { Sex::Female } else { Sex::Male },
        age_years: Some(age.round().clamp(18.0, 90.0)),
        birth_year: None,
        weight_kg: round_to(weight, 0.5),
        height_cm: Some(round_to(height, 1.0)),
        chronic: ChronicConditions {
            liver_cirrhosis: Some(chance(rng, 0.03)),
            heart_failure_nyha_iv: Some(chance(rng, 0.12)),
            severe_respiratory: Some(chance(rng, 0.05)),
            chronic_dialysis: Some(chance(rng, 0.02)),
            immunocompromised: Some(chance(rng, 0.05)),
            chronic_renal_failure: Some(chance(rng, 0.12)),
        },
    };
    let run = Run {
        id: format!("SYN-R{:07}", index + 1),
        patient_id: patient.id.clone(),
        mode: Mode::Va,
        etiology: Etiology::Other,
        admission_type: AdmissionType::NonOperative,
        icu_admission: Some(flow_start.plus_minutes(-(uniform(rng, 0.5, 6.0) * 60.0) as i64)),
        flow_start,
        decannulation: None,
        arrest: ArrestContext::none(),
        ventilation_hours_before: None,
        cohort: Some(profile.cohort_label()),
    };
    RunRecord::new(patient, run)
}

/// First-24 h targets of a run, drawn from its outcome group's distribution.
struct Targets {
    map_mean: f64,
    lactate0: f64,
    /// Fraction of lactate remaining at 24 h (exp decay).
    lactate_24h_fraction: f64,
    sofa: f64,
    ne_max: f64,
    vrr: f64,
    fluid_balance_l: f64,
    arrest: bool,
    crrt: bool,
    /// Hours until every vasoactive drug is stopped.
    vasoactive_off_h: f64,
    duration_h: f64,
    /// Highest SOFA liver points allowed (VAD candidates without end-organ
    /// dysfunction must not reach bilirubin > 4 mg/dL by chance).
    max_liver_points: usize,
}

fn cardiogenic_shock(profile: Profile, index: u64, rng: &mut ChaCha8Rng) -> RunRecord {
    let vis_profile = profile == Profile::CsVis;
    // Outcome first; group-conditional values after (000: CA 79 %, P(weaned|CA) = 20.3 %,
    // P(weaned|no CA) = 71.4 %, overall 31 %; 001: 56 % weaned).
    let (arrest, weaned) = if vis_profile {
        let weaned = chance(rng, 0.56);
        (chance(rng, if weaned { 0.30 } else { 0.45 }), weaned)
    } else {
        let arrest = chance(rng, 0.79);
        (arrest, chance(rng, if arrest { 0.203 } else { 0.714 }))
    };
    let female = chance(rng, if vis_profile { 0.28 } else { 0.26 });
    let age =
        if vis_profile { trunc_normal(rng, 55.0, 13.0, 18.0, 85.0) } else { trunc_normal(rng, 52.6, 12.6, 18.0, 85.0) };
    let mut b = Builder { rec: base_record(profile, index, rng, age, female) };

    let etiology = if vis_profile {
        let u = rng.random::<f64>();
        let table: &[(Etiology, f64)] = if weaned {
            &[
                (Etiology::AmiCs, 0.30),
                (Etiology::Myocarditis, 0.28),
                (Etiology::AcuteOnChronicHf, 0.17),
                (Etiology::PostCardiotomy, 0.15),
                (Etiology::Other, 0.10),
            ]
        } else {
            &[
                (Etiology::AmiCs, 0.50),
                (Etiology::Myocarditis, 0.08),
                (Etiology::AcuteOnChronicHf, 0.17),
                (Etiology::PostCardiotomy, 0.15),
                (Etiology::Other, 0.10),
            ]
        };
        pick(table, u)
    } else if chance(rng, 0.48) {
        Etiology::AmiCs
    } else {
        pick(
            &[
                (Etiology::Myocarditis, 0.15),
                (Etiology::AcuteOnChronicHf, 0.35),
                (Etiology::PostCardiotomy, 0.2),
                (Etiology::PulmonaryEmbolism, 0.1),
                (Etiology::RefractoryVtVf, 0.1),
                (Etiology::Other, 0.1),
            ],
            rng.random(),
        )
    };
    b.rec.run.etiology = etiology;
    if etiology == Etiology::PostCardiotomy {
        b.rec.run.admission_type = AdmissionType::EmergencyPostOperative;
    }

    let duration_h = if weaned {
        // 000: weaned at a median of 140 [74.3-229] h.
        (140.0 * (normal(rng, 0.0, 0.84)).exp()).clamp(30.0, 900.0)
    } else {
        (100.0 * (normal(rng, 0.0, 0.9)).exp()).clamp(12.0, 900.0)
    };
    let targets = if vis_profile {
        Targets {
            map_mean: trunc_normal(rng, if weaned { 72.0 } else { 63.0 }, 14.0, 35.0, 120.0),
            lactate0: trunc_normal(rng, if weaned { 6.5 } else { 9.5 }, 4.0, 0.8, 24.0),
            lactate_24h_fraction: if weaned { uniform(rng, 0.2, 0.6) } else { uniform(rng, 0.5, 1.0) },
            sofa: trunc_normal(rng, if weaned { 10.5 } else { 12.5 }, 3.0, 3.0, 20.0),
            ne_max: trunc_normal(rng, if weaned { 0.25 } else { 0.38 }, 0.18, 0.02, 0.95),
            vrr: trunc_normal(rng, if weaned { 45.0 } else { 6.0 }, if weaned { 30.0 } else { 40.0 }, -150.0, 100.0),
            fluid_balance_l: if weaned { quartiles(rng, 0.8, 2.2, 4.5) } else { quartiles(rng, 1.5, 3.5, 6.5) },
            arrest,
            crrt: chance(rng, if weaned { 0.20 } else { 0.45 }),
            vasoactive_off_h: 0.0,
            duration_h,
            max_liver_points: 4,
        }
    } else {
        Targets {
            map_mean: trunc_normal(
                rng,
                if weaned { 75.3 } else { 61.4 },
                if weaned { 18.2 } else { 18.3 },
                32.0,
                130.0,
            ),
            lactate0: trunc_normal(rng, if weaned { 8.8 } else { 11.3 }, if weaned { 5.2 } else { 5.0 }, 0.8, 25.0),
            lactate_24h_fraction: if weaned { uniform(rng, 0.2, 0.6) } else { uniform(rng, 0.5, 1.0) },
            sofa: trunc_normal(rng, if weaned { 11.2 } else { 13.2 }, if weaned { 2.6 } else { 3.4 }, 3.0, 22.0),
            ne_max: trunc_normal(rng, if weaned { 0.27 } else { 0.44 }, if weaned { 0.17 } else { 0.25 }, 0.02, 0.95),
            vrr: trunc_normal(rng, if weaned { 35.0 } else { 15.0 }, 38.0, -150.0, 100.0),
            fluid_balance_l: if weaned { quartiles(rng, 0.5, 2.3, 5.5) } else { quartiles(rng, 1.7, 4.1, 8.3) },
            arrest,
            crrt: chance(rng, if weaned { 0.15 } else { 0.35 }),
            vasoactive_off_h: 0.0,
            duration_h,
            max_liver_points: 4,
        }
    };
    let mut targets = targets;
    // Weaned patients come off vasoactives well before decannulation; the others stay on them.
    targets.vasoactive_off_h =
        if weaned { (duration_h * uniform(rng, 0.45, 0.85)).max(26.0).min(duration_h) } else { duration_h };

    if arrest {
        let ohca = chance(rng, 0.5);
        let low_flow = trunc_normal(rng, 35.0, 15.0, 5.0, 120.0).round();
        let no_flow = trunc_normal(rng, 2.0, 3.0, 0.0, 15.0).round();
        let rosc_h = -uniform(rng, 0.5, 8.0);
        let rosc = b.t(rosc_h);
        let cpr_start = rosc.plus_minutes(-(low_flow as i64));
        let shock = chance(rng, 0.55);
        b.rec.run.arrest = ArrestContext {
            location: if ohca { ArrestLocation::Ohca } else { ArrestLocation::Ihca },
            ecpr: false,
            collapse: Some(cpr_start.plus_minutes(-(no_flow as i64))),
            cpr_start: Some(cpr_start),
            emergency_call: None,
            hospital_arrival: None,
            rosc: Some(rosc),
            no_flow_min: Some(no_flow),
            low_flow_min: Some(low_flow),
            first_rhythm: if shock {
                Rhythm::Vf
            } else if chance(rng, 0.5) {
                Rhythm::Pea
            } else {
                Rhythm::Asystole
            },
            arrival_rhythm: Rhythm::Unknown,
        };
    }
    b.rec.run.ventilation_hours_before = Some(round_to(uniform(rng, 0.5, if arrest { 12.0 } else { 30.0 }), 0.5));

    // A few failed weans: decannulated, then ECMO re-instituted within 30 days.
    let recannulated = !weaned && chance(rng, 0.06);
    let ending = if weaned {
        Ending::Weaned { died_after_h: chance(rng, 0.08).then(|| duration_h + uniform(rng, 24.0, 28.0 * 24.0)) }
    } else if recannulated {
        Ending::Weaned { died_after_h: chance(rng, 0.6).then(|| duration_h + uniform(rng, 5.0, 25.0) * 24.0) }
    } else {
        let u = rng.random::<f64>();
        let die_share = if vis_profile { 0.75 } else { 0.645 };
        if u < die_share {
            Ending::DiedOnEcmo
        } else {
            Ending::BridgedToVad {
                transplant_after_h: chance(rng, 0.2).then(|| duration_h + uniform(rng, 30.0, 300.0) * 24.0),
                died_after_h: chance(rng, 0.3).then(|| duration_h + uniform(rng, 31.0, 700.0) * 24.0),
            }
        }
    };
    physiology(&mut b, rng, &targets, weaned);
    outcome(&mut b, rng, ending, duration_h, recannulated);
    pre_ecmo_extras(&mut b, rng);
    b.finish()
}

/// Pre-ECMO values that SAVE and ENCOURAGE need and the studies do not report
/// (peak inspiratory pressure, prothrombin activity, transaminases, GCS). Drawn
/// last, so adding them left every earlier draw, and the calibrated figures, as
/// they were.
fn pre_ecmo_extras(b: &mut Builder, rng: &mut ChaCha8Rng) {
    let arrest = b.rec.run.arrest.had_arrest();
    if b.rec.run.ventilation_hours_before.is_none() {
        b.rec.run.ventilation_hours_before = Some(round_to(uniform(rng, 0.0, 30.0), 0.5));
    }
    if b.rec.run.ventilation_hours_before.is_some_and(|h| h > 0.0) {
        b.obs(Q::PeakInspiratoryPressure, -1.0, trunc_normal(rng, 26.0, 5.0, 14.0, 42.0), Unit::CmH2O, 1.0);
    }
    b.obs(Q::ProthrombinActivity, -1.0, trunc_normal(rng, 60.0, 16.0, 15.0, 100.0), Unit::Percent, 1.0);
    let alt = (trunc_normal(rng, 4.3, 1.1, 2.5, 8.5)).exp();
    b.obs(Q::Alt, -1.0, alt, Unit::UnitsPerL, 1.0);
    b.obs(Q::Ast, -1.0, alt * uniform(rng, 1.1, 1.8), Unit::UnitsPerL, 1.0);
    let gcs = if arrest { 3.0 } else { trunc_normal(rng, 11.0, 3.5, 3.0, 15.0).round() };
    b.obs(Q::Gcs, -1.5, gcs, Unit::Dimensionless, 1.0);
}

fn pick<T: Copy>(table: &[(T, f64)], u: f64) -> T {
    let total: f64 = table.iter().map(|x| x.1).sum();
    let mut acc = 0.0;
    for (t, w) in table {
        acc += w / total;
        if u < acc {
            return *t;
        }
    }
    table[table.len() - 1].0
}

/// A SOFA organ band: the (canonical) interval of values giving `points`.
fn band_value<R: Rng>(rng: &mut R, bands: &[(f64, f64)], points: usize) -> f64 {
    let (lo, hi) = bands[points.min(bands.len() - 1)];
    // Inner 60 % of the band, away from thresholds, so unit conversions and
    // the unit-native SOFA policy agree on the band.
    lo + (0.2 + 0.6 * rng.random::<f64>()) * (hi - lo)
}

/// Hour-level physiology of a cardiogenic-shock-like run.
fn physiology(b: &mut Builder, rng: &mut ChaCha8Rng, t: &Targets, good_course: bool) {
    let duration = t.duration_h;
    let si_units = chance(rng, 0.3);
    let per_minute_charting = chance(rng, 0.3);

    // SOFA: cardiovascular points follow from the drugs (NE > 0.1 → 4, ≤ 0.1 → 3),
    // CNS from the neurological state, the rest distributed over four organs.
    let cv = if t.ne_max > 0.1 + 1e-9 { 4 } else { 3 };
    let mut cns: i32 = if t.arrest { [3, 4, 4][rng.random_range(0..3)] } else { [0, 1, 2, 3][rng.random_range(0..4)] };
    let target = t.sofa.round() as i32;
    let mut rest = target - cv - cns;
    if rest < 0 {
        cns = (cns + rest).max(0);
        rest = 0;
    }
    let mut organ = [0usize; 4]; // resp, renal, liver, coag
    let mut left = rest.min(12 + t.max_liver_points as i32);
    while left > 0 {
        let i = rng.random_range(0..4);
        let cap = if i == 2 { t.max_liver_points } else { 4 };
        if organ[i] < cap {
            organ[i] += 1;
            left -= 1;
        }
    }
    if t.crrt && organ[1] < 2 {
        organ[1] = 2;
    }
    // Worst values of the first 24 h, from the band of each organ's points.
    let pf_worst =
        band_value(rng, &[(400.0, 520.0), (300.0, 400.0), (200.0, 300.0), (100.0, 200.0), (55.0, 100.0)], organ[0]);
    let creat_worst = band_value(rng, &[(0.6, 1.2), (1.2, 2.0), (2.0, 3.5), (3.5, 5.0), (5.0, 7.0)], organ[1]);
    let bili_worst = band_value(rng, &[(0.3, 1.2), (1.2, 2.0), (2.0, 6.0), (6.0, 12.0), (12.0, 18.0)], organ[2]);
    let plt_worst =
        band_value(rng, &[(150.0, 280.0), (100.0, 150.0), (50.0, 100.0), (20.0, 50.0), (8.0, 20.0)], organ[3]);
    let gcs_worst = match cns {
        0 => 15.0,
        1 => [13.0, 14.0][rng.random_range(0..2)],
        2 => rng.random_range(10..=12) as f64,
        3 => rng.random_range(6..=9) as f64,
        _ => rng.random_range(3..=5) as f64,
    };

    // Pre-ECMO snapshot: hypotension and acidosis in the 6 h before flow.
    for h in [-3.0, -2.0, -1.0] {
        let sbp = trunc_normal(rng, 72.0, 12.0, 45.0, 110.0);
        let dbp = trunc_normal(rng, 42.0, 9.0, 22.0, sbp - 5.0);
        b.obs(Q::SystolicBp, h, sbp, Unit::MmHg, 1.0);
        b.obs(Q::DiastolicBp, h, dbp, Unit::MmHg, 1.0);
        b.obs(Q::Map, h, (sbp + 2.0 * dbp) / 3.0, Unit::MmHg, 1.0);
    }
    let lactate_unit = if si_units {
        Unit::MmolPerL
    } else if chance(rng, 0.1) {
        Unit::MgPerDl
    } else {
        Unit::MmolPerL
    };
    let lactate_at = |h: f64| -> f64 {
        // Exponential approach to a floor with the run's own 24 h fraction.
        let floor = 1.2;
        let k =
            -(((t.lactate_24h_fraction * t.lactate0 - floor).max(0.05)) / (t.lactate0 - floor).max(0.1)).ln() / 24.0;
        let k = if good_course { k } else { k.min(0.02) };
        floor + (t.lactate0 - floor).max(0.0) * (-k * h.max(0.0)).exp()
    };
    let pre_lactate = t.lactate0 * uniform(rng, 0.85, 1.0);
    blood_gas(b, rng, -1.0, pre_lactate, lactate_unit, 0.0);
    b.obs(Q::Creatinine, -1.0, creat_worst * uniform(rng, 0.75, 0.95), creat_unit(si_units), creat_step(si_units));
    b.obs(Q::Bilirubin, -1.0, bili_worst * uniform(rng, 0.7, 0.95), bili_unit(si_units), bili_step(si_units));

    // MAP: hourly; AR(1) noise centred so the first-24 h mean is the target.
    let mut noise = [0.0f64; 24];
    let mut e = 0.0;
    for n in noise.iter_mut() {
        e = 0.7 * e + normal(rng, 0.0, 5.0);
        *n = e;
    }
    let mean_noise = noise.iter().sum::<f64>() / 24.0;
    let end = duration.floor() as usize;
    let late_level =
        if good_course { trunc_normal(rng, 74.0, 8.0, 60.0, 95.0) } else { trunc_normal(rng, 60.0, 9.0, 40.0, 80.0) };
    let mut hr_e = 0.0;
    for h in 0..=end {
        let hf = h as f64;
        let map = if let Some(n) = noise.get(h) {
            t.map_mean + n - mean_noise
        } else {
            e = 0.7 * e + normal(rng, 0.0, 5.0);
            let w = ((hf - 24.0) / 48.0).min(1.0);
            (1.0 - w) * t.map_mean + w * late_level + e
        };
        b.obs(Q::Map, hf, map, Unit::MmHg, 1.0);
        hr_e = 0.8 * hr_e + normal(rng, 0.0, 6.0);
        b.obs(Q::HeartRate, hf, 95.0 + hr_e, Unit::PerMin, 1.0);
        if h % 4 == 0 {
            let flow = if good_course && hf > 0.7 * duration { 2.0 - (hf / duration - 0.7) * 2.0 } else { 3.8 };
            b.obs(Q::PumpFlow, hf, flow + normal(rng, 0.0, 0.2), Unit::LitrePerMin, 0.1);
            b.obs(Q::RespiratoryRate, hf, trunc_normal(rng, 16.0, 3.0, 8.0, 30.0), Unit::PerMin, 1.0);
            let temp = if t.arrest && h < 24 {
                trunc_normal(rng, 35.2, 0.6, 33.0, 37.5)
            } else {
                trunc_normal(rng, 36.8, 0.6, 35.0, 39.0)
            };
            b.obs(Q::Temperature, hf, temp, Unit::Celsius, 0.1);
        }
    }

    // Blood gases q4h for 48 h, then q8h; the worst P/F of day 1 at a random gas.
    let worst_gas = [0.0, 4.0, 8.0, 12.0, 16.0, 20.0][rng.random_range(0..6)];
    let mut h = 0.0;
    while h <= duration {
        let lac = if h == 0.0 { t.lactate0 } else { lactate_at(h) * uniform(rng, 0.93, 1.0) };
        let pf = if h < 24.0 {
            if h == worst_gas { pf_worst } else { (pf_worst * uniform(rng, 1.05, 1.6)).min(600.0) }
        } else {
            trunc_normal(rng, 300.0, 60.0, 150.0, 500.0)
        };
        blood_gas(b, rng, h, lac, lactate_unit, pf);
        h += if h < 48.0 { 4.0 } else { 8.0 };
    }

    // Chemistry q12h: the first-day worst at 0 or 12 h; later values drift by course.
    let worst_lab = if chance(rng, 0.5) { 0.0 } else { 12.0 };
    let mut h = 0.0;
    while h <= duration {
        let day1 = h < 24.0;
        let f = |rng: &mut ChaCha8Rng, worst: bool| if worst { 1.0 } else { uniform(rng, 0.8, 0.97) };
        let is_worst = day1 && h == worst_lab;
        let drift = if day1 {
            1.0
        } else if good_course {
            0.85
        } else {
            1.1
        };
        let c = creat_worst * f(rng, is_worst) * drift;
        b.obs(Q::Creatinine, h, c, creat_unit(si_units), creat_step(si_units));
        let bl = bili_worst * f(rng, is_worst) * drift;
        b.obs(Q::Bilirubin, h, bl, bili_unit(si_units), bili_step(si_units));
        let p = if is_worst { plt_worst } else { plt_worst * uniform(rng, 1.04, 1.3) / drift };
        b.obs(Q::Platelets, h, p, Unit::ThousandPerUl, 1.0);
        b.obs(Q::Wbc, h, trunc_normal(rng, 13.0, 4.0, 2.0, 35.0), Unit::ThousandPerUl, 0.1);
        b.obs(Q::Haematocrit, h, trunc_normal(rng, 30.0, 4.0, 20.0, 45.0), Unit::Percent, 1.0);
        b.obs(Q::Sodium, h, trunc_normal(rng, 139.0, 4.0, 125.0, 155.0), Unit::MmolPerL, 1.0);
        b.obs(Q::Potassium, h, trunc_normal(rng, 4.3, 0.6, 2.8, 6.5), Unit::MmolPerL, 0.1);
        h += 12.0;
    }

    // GCS q8h: the first-day worst at 0 h, improving on a good course.
    let mut h = 0.0;
    while h <= duration {
        let g = if h < 24.0 {
            if h == 0.0 { gcs_worst } else { (gcs_worst + rng.random_range(0..=1) as f64).min(15.0) }
        } else if good_course {
            (gcs_worst + (h / 24.0) * 2.0).min(15.0).round()
        } else {
            gcs_worst
        };
        b.obs(Q::Gcs, h, g, Unit::Dimensionless, 1.0);
        h += 8.0;
    }

    // Fluids in 6 h blocks; day 1 sums to the target balance.
    let urine_day1 = trunc_normal(rng, if t.crrt { 600.0 } else { 1400.0 }, 450.0, 520.0, 3000.0);
    let other_out_day1 = trunc_normal(rng, 500.0, 200.0, 100.0, 1500.0);
    let intake_day1 = (t.fluid_balance_l * 1000.0 + urine_day1 + other_out_day1).max(300.0);
    let mut h = 0.0;
    while h + 6.0 <= duration.max(24.0) {
        let (ins, urine, out) = if h < 24.0 {
            (intake_day1 / 4.0, urine_day1 / 4.0, other_out_day1 / 4.0)
        } else {
            let balance = if good_course { uniform(rng, -300.0, 150.0) } else { uniform(rng, 0.0, 600.0) };
            let urine = trunc_normal(rng, if good_course { 450.0 } else { 250.0 }, 120.0, 20.0, 1200.0);
            let out = uniform(rng, 50.0, 200.0);
            ((balance + urine + out).max(50.0), urine, out)
        };
        b.volume(Q::FluidIn, h, h + 6.0, ins);
        b.volume(Q::UrineOutput, h, h + 6.0, urine);
        b.volume(Q::FluidOut, h, h + 6.0, out);
        h += 6.0;
    }

    vasoactives(b, rng, t, per_minute_charting);

    b.support(
        SupportKind::MechanicalVentilation,
        -(b.rec.run.ventilation_hours_before.unwrap_or(1.0)),
        Some(duration + 12.0),
    );
    if t.crrt {
        let start = uniform(rng, 2.0, 20.0).min(duration * 0.5);
        b.support(SupportKind::Crrt, start, Some(duration));
    }
    if chance(rng, 0.25) {
        b.support(SupportKind::Iabp, -2.0, Some((duration * 0.6).max(12.0)));
    }
}

fn creat_unit(si: bool) -> Unit {
    if si { Unit::UmolPerL } else { Unit::MgPerDl }
}
fn creat_step(si: bool) -> f64 {
    if si { 1.0 } else { 0.01 }
}
fn bili_unit(si: bool) -> Unit {
    if si { Unit::UmolPerL } else { Unit::MgPerDl }
}
fn bili_step(si: bool) -> f64 {
    if si { 1.0 } else { 0.1 }
}

/// One arterial blood gas: lactate, pH, bicarbonate, PaO2/FiO2 (when `pf` > 0), PaCO2.
fn blood_gas(b: &mut Builder, rng: &mut ChaCha8Rng, h: f64, lactate: f64, unit: Unit, pf: f64) {
    b.obs(Q::Lactate, h, lactate, unit, if unit == Unit::MgPerDl { 1.0 } else { 0.1 });
    let ph = (7.40 - 0.022 * (lactate - 1.0) + normal(rng, 0.0, 0.03)).clamp(6.85, 7.6);
    b.obs(Q::Ph, h, ph, Unit::Dimensionless, 0.01);
    let hco3 = (24.0 - 1.1 * (lactate - 1.0) + normal(rng, 0.0, 1.5)).clamp(5.0, 34.0);
    b.obs(Q::Bicarbonate, h, hco3, Unit::MmolPerL, 0.1);
    b.obs(Q::Paco2, h, trunc_normal(rng, 40.0, 5.0, 28.0, 60.0), Unit::MmHg, 1.0);
    if pf > 0.0 {
        let fio2 = [0.4, 0.5, 0.6, 0.8, 1.0][rng.random_range(0..5)];
        let fio2 = if pf < 120.0 { 1.0 } else { fio2 };
        let pao2 = (pf * fio2).clamp(45.0, 590.0);
        b.obs(Q::Fio2, h, fio2, Unit::Fraction, 0.01);
        b.obs(Q::Pao2, h, pao2, Unit::MmHg, 1.0);
    }
}

/// Vasoactive infusions: started before flow, reaching the 24 h rates that give
/// the run's VIS reduction rate, then tapered (good course) or continued.
fn vasoactives(b: &mut Builder, rng: &mut ChaCha8Rng, t: &Targets, per_minute: bool) {
    let keep = 1.0 - t.vrr / 100.0; // fraction of each rate still running at 24 h
    let mut agents: Vec<(Drug, f64)> = vec![(Drug::Norepinephrine, t.ne_max / keep.max(1.0))];
    if chance(rng, 0.6) {
        agents.push((Drug::Dobutamine, [2.5, 5.0, 7.5, 10.0][rng.random_range(0..4)]));
    }
    if chance(rng, if t.sofa > 12.0 { 0.25 } else { 0.12 }) {
        agents.push((Drug::Epinephrine, round_to(uniform(rng, 0.02, 0.15), 0.01)));
    }
    if chance(rng, 0.1) {
        agents.push((Drug::Milrinone, [0.25, 0.375, 0.5][rng.random_range(0..3)]));
    }
    if chance(rng, if t.sofa > 12.0 { 0.2 } else { 0.08 }) {
        agents.push((Drug::Vasopressin, [0.01, 0.02, 0.03, 0.04][rng.random_range(0..4)]));
    }
    // Change times in the first day: every 3-6 h, the last one at or before 24 h.
    let mut times = vec![];
    let mut h = uniform(rng, 2.0, 5.0);
    while h < 24.0 {
        times.push(h.round());
        h += uniform(rng, 3.0, 6.0);
    }
    times.retain(|x| *x < 24.0);
    times.dedup();
    let n = times.len().max(1) as f64;
    let off = t.vasoactive_off_h;
    // Nothing is charted after the infusions stop (runs shorter than a day stop early).
    times.retain(|x| *x < off);
    for (drug, r0) in &agents {
        b.rate(*drug, -2.0, *r0, per_minute);
        for (k, tk) in times.iter().enumerate() {
            let f = (k + 1) as f64 / n;
            let rate = r0 * (1.0 + f * (keep - 1.0));
            b.rate(*drug, *tk, rate.max(0.0), per_minute);
        }
        // After the first day.
        let r24 = r0 * keep;
        let mut h = 24.0 + uniform(rng, 2.0, 8.0);
        let span = (off - 24.0).max(1.0);
        while h < off {
            let rate = if off < t.duration_h { r24 * (1.0 - (h - 24.0) / span) } else { r24 * uniform(rng, 0.8, 1.3) };
            b.rate(*drug, h, rate.max(0.0), per_minute);
            h += uniform(rng, 6.0, 12.0);
        }
        b.rate(*drug, off, 0.0, per_minute);
    }
}

/// Decannulation, death, bridge and follow-up events.
fn outcome(b: &mut Builder, rng: &mut ChaCha8Rng, ending: Ending, duration_h: f64, recannulated: bool) {
    let end = b.t(duration_h);
    match ending {
        Ending::Weaned { died_after_h } => {
            b.rec.run.decannulation = Some(end);
            b.event(EventKind::EchoLvef, duration_h - 2.0, Some(round_to(uniform(rng, 25.0, 45.0), 1.0)), None);
            b.event(EventKind::CardiacRecovery, duration_h - 2.0, None, Some("weaning trial passed"));
            match died_after_h {
                Some(d) => b.event(EventKind::Death, d, None, None),
                None => {
                    b.event(EventKind::IcuDischarge, duration_h + uniform(rng, 48.0, 240.0), None, None);
                    b.event(EventKind::LastFollowUp, duration_h + uniform(rng, 365.0, 800.0) * 24.0, None, None);
                }
            }
        }
        Ending::DiedOnEcmo => {
            b.event(EventKind::Death, duration_h, None, None);
            b.rec.run.decannulation = Some(end);
        }
        Ending::BridgedToVad { transplant_after_h, died_after_h } => {
            b.event(EventKind::EchoAorticValve, duration_h - 24.0, None, Some("closed"));
            b.event(EventKind::VadImplant, duration_h, None, None);
            b.rec.run.decannulation = Some(end);
            if let Some(tx) = transplant_after_h.filter(|tx| died_after_h.is_none_or(|d| *tx < d)) {
                b.event(EventKind::HeartTransplant, tx, None, None);
            }
            match died_after_h {
                Some(d) => b.event(EventKind::Death, d, None, None),
                None => b.event(EventKind::LastFollowUp, duration_h + uniform(rng, 730.0, 900.0) * 24.0, None, None),
            }
        }
    }
    if recannulated {
        // A failed wean: ECMO re-instituted within 30 days; the outcome group stays "not weaned".
        b.event(EventKind::Recannulation, duration_h + uniform(rng, 12.0, 4.0 * 24.0), None, None);
    }
}

/// E-CPR for refractory OHCA (002): 10.2 % survival to ICU discharge, driven by
/// admission lactate and low-flow time.
fn ecpr(index: u64, rng: &mut ChaCha8Rng) -> RunRecord {
    let survivor = chance(rng, 0.102);
    let female = chance(rng, 0.2);
    let age = trunc_normal(rng, 49.0, 11.0, 18.0, 75.0);
    let mut b = Builder { rec: base_record(Profile::Ecpr, index, rng, age, female) };
    let shockable = if survivor { chance(rng, 0.95) } else { chance(rng, 0.55) };
    let low_flow =
        trunc_normal(rng, if survivor { 45.0 } else { 70.0 }, if survivor { 12.0 } else { 18.0 }, 25.0, 150.0).round();
    let no_flow = if chance(rng, 0.7) { trunc_normal(rng, 2.0, 2.0, 0.0, 10.0).round() } else { 0.0 };
    let flow = b.rec.run.flow_start;
    let cpr_start = flow.plus_minutes(-(low_flow as i64));
    let collapse = cpr_start.plus_minutes(-(no_flow as i64));
    let call = collapse.plus_minutes(rng.random_range(1..=3));
    let arrival = cpr_start.plus_minutes((low_flow * uniform(rng, 0.5, 0.75)) as i64).max(call.plus_minutes(8));
    let rhythm = if shockable {
        if chance(rng, 0.9) { Rhythm::Vf } else { Rhythm::PulselessVt }
    } else if chance(rng, 0.5) {
        Rhythm::Pea
    } else {
        Rhythm::Asystole
    };
    b.rec.run.etiology = if shockable && chance(rng, 0.7) { Etiology::AmiCs } else { Etiology::Other };
    b.rec.run.icu_admission = Some(flow.plus_minutes(rng.random_range(30..=120)));
    b.rec.run.ventilation_hours_before = Some(0.5);
    b.rec.run.arrest = ArrestContext {
        location: ArrestLocation::Ohca,
        ecpr: true,
        collapse: Some(collapse),
        cpr_start: Some(cpr_start),
        emergency_call: Some(call),
        hospital_arrival: Some(arrival),
        rosc: None,
        no_flow_min: Some(no_flow),
        low_flow_min: Some(low_flow),
        first_rhythm: rhythm,
        arrival_rhythm: if shockable && chance(rng, 0.8) {
            Rhythm::Vf
        } else if chance(rng, 0.5) {
            Rhythm::Pea
        } else {
            Rhythm::Asystole
        },
    };
    let lactate_adm = trunc_normal(rng, if survivor { 9.0 } else { 14.5 }, if survivor { 3.0 } else { 4.0 }, 2.0, 24.0);
    let clearance48 =
        if survivor { trunc_normal(rng, 85.0, 8.0, 50.0, 97.0) } else { trunc_normal(rng, 40.0, 35.0, -60.0, 95.0) };
    let duration_h =
        if survivor { uniform(rng, 72.0, 200.0) } else { (60.0 * normal(rng, 0.0, 0.7).exp()).clamp(6.0, 400.0) };
    let arrival_h = arrival.hours_since(flow);
    blood_gas(&mut b, rng, arrival_h, lactate_adm, Unit::MmolPerL, 0.0);
    let targets = Targets {
        map_mean: trunc_normal(rng, if survivor { 70.0 } else { 58.0 }, 12.0, 35.0, 110.0),
        lactate0: lactate_adm * uniform(rng, 0.95, 1.05),
        lactate_24h_fraction: 1.0 - clearance48 / 100.0 * 0.7,
        sofa: trunc_normal(rng, if survivor { 12.0 } else { 14.0 }, 2.5, 6.0, 22.0),
        ne_max: trunc_normal(rng, if survivor { 0.2 } else { 0.45 }, 0.2, 0.02, 0.95),
        vrr: trunc_normal(rng, if survivor { 50.0 } else { 0.0 }, 35.0, -150.0, 100.0),
        fluid_balance_l: quartiles(rng, 2.0, 4.0, 7.0),
        arrest: true,
        crrt: chance(rng, 0.3),
        vasoactive_off_h: if survivor { duration_h * 0.6 } else { duration_h },
        duration_h,
        max_liver_points: 4,
    };
    physiology(&mut b, rng, &targets, survivor);
    // Neuron-specific enolase at 24 h (survivors 53.8 ± 17.9, non-survivors 104.8 ± 44.2 µg/L).
    if duration_h >= 24.0 {
        let nse = if survivor {
            trunc_normal(rng, 53.8, 17.9, 8.0, 150.0)
        } else {
            trunc_normal(rng, 104.8, 44.2, 15.0, 290.0)
        };
        b.obs(Q::Nse, 24.0, nse, Unit::MicrogramPerL, 0.1);
    }
    let ending = if survivor {
        Ending::Weaned { died_after_h: None }
    } else if duration_h > 48.0 && chance(rng, 0.4) {
        // Weaned from ECMO but died of post-anoxic injury.
        Ending::Weaned { died_after_h: Some(duration_h + uniform(rng, 24.0, 240.0)) }
    } else {
        Ending::DiedOnEcmo
    };
    outcome(&mut b, rng, ending, duration_h, false);
    if survivor {
        let cpc = if matches!(rhythm, Rhythm::Vf | Rhythm::PulselessVt) && chance(rng, 0.75) {
            rng.random_range(1..=2)
        } else {
            rng.random_range(3..=4)
        };
        let icu = b
            .rec
            .events
            .iter()
            .find(|e| e.kind == EventKind::IcuDischarge)
            .map(|e| e.time.hours_since(flow))
            .unwrap_or(duration_h + 72.0);
        b.event(EventKind::Cpc, icu, Some(cpc as f64), Some("icu_discharge"));
    } else {
        let death = b
            .rec
            .events
            .iter()
            .find(|e| e.kind == EventKind::Death)
            .map(|e| e.time.hours_since(flow))
            .unwrap_or(duration_h);
        b.event(EventKind::Cpc, death, Some(5.0), Some("death"));
    }
    pre_ecmo_extras(&mut b, rng);
    b.finish()
}

/// Referred for ECMO-to-VAD conversion (003): stroke 4/37 and sepsis 2/37
/// withdrawn, 25/37 implanted; end-organ dysfunction (RRT or bilirubin > 4 mg/dL)
/// gives 23 % 2-year survival against 83 % without.
fn vad_referral(index: u64, rng: &mut ChaCha8Rng) -> RunRecord {
    let female = chance(rng, 0.25);
    let age = trunc_normal(rng, 45.0, 13.0, 18.0, 70.0);
    let mut b = Builder { rec: base_record(Profile::VadReferral, index, rng, age, female) };
    b.rec.run.etiology = pick(
        &[
            (Etiology::AmiCs, 0.4),
            (Etiology::AcuteOnChronicHf, 0.35),
            (Etiology::Myocarditis, 0.15),
            (Etiology::Other, 0.1),
        ],
        rng.random(),
    );
    let end_organ = chance(rng, 13.0 / 37.0);
    let rrt = end_organ && chance(rng, 0.7);
    let high_bili = end_organ && (!rrt || chance(rng, 0.4));
    let u = rng.random::<f64>();
    let withdrawn_stroke = u < 4.0 / 37.0;
    let withdrawn_sepsis = !withdrawn_stroke && u < 6.0 / 37.0;
    let recovered = !withdrawn_stroke && !withdrawn_sepsis && u < 12.0 / 37.0;
    let duration_h = uniform(rng, 5.0, 12.0) * 24.0;
    let targets = Targets {
        map_mean: trunc_normal(rng, 65.0, 10.0, 40.0, 100.0),
        lactate0: trunc_normal(rng, 7.0, 3.5, 1.0, 20.0),
        lactate_24h_fraction: uniform(rng, 0.3, 0.8),
        sofa: trunc_normal(rng, if end_organ { 13.0 } else { 10.0 }, 2.5, 5.0, 20.0),
        ne_max: trunc_normal(rng, 0.3, 0.18, 0.02, 1.2),
        vrr: trunc_normal(rng, 30.0, 35.0, -100.0, 100.0),
        fluid_balance_l: quartiles(rng, 1.0, 2.8, 5.0),
        arrest: chance(rng, 0.3),
        crrt: rrt,
        vasoactive_off_h: duration_h,
        duration_h,
        max_liver_points: if end_organ { 4 } else { 1 },
    };
    physiology(&mut b, rng, &targets, recovered);
    if high_bili {
        // Bilirubin climbing above 4 mg/dL in the days before the VAD decision (hepatic congestion).
        for h in [60.0, 36.0, 12.0] {
            b.obs(Q::Bilirubin, duration_h - h, uniform(rng, 4.3, 9.0), Unit::MgPerDl, 0.1);
        }
    }
    // Daily echo: aortic valve and LVEF.
    let av_closed = chance(rng, 0.45);
    for d in 1..(duration_h / 24.0) as usize {
        let h = d as f64 * 24.0 + 9.0;
        let lvef = if recovered { 12.0 + d as f64 * 4.0 } else { uniform(rng, 8.0, 18.0) };
        b.event(EventKind::EchoLvef, h, Some(round_to(lvef.min(45.0), 1.0)), None);
        let av = if av_closed && !recovered {
            "closed"
        } else if chance(rng, 0.5) {
            "intermittent"
        } else {
            "opens"
        };
        b.event(EventKind::EchoAorticValve, h, None, Some(av));
    }
    if withdrawn_stroke {
        b.event(EventKind::Stroke, uniform(rng, 24.0, 72.0), None, Some("ischaemic, CT-confirmed"));
    }
    if withdrawn_sepsis {
        b.event(EventKind::Sepsis, uniform(rng, 48.0, 96.0), None, Some("bloodstream infection"));
    }
    let flow = b.rec.run.flow_start;
    let two_year_death = chance(rng, if end_organ { 1.0 - 0.231 } else { 1.0 - 0.833 });
    let death_h = duration_h + uniform(rng, 1.0, 700.0) * 24.0;
    if withdrawn_stroke || withdrawn_sepsis {
        b.event(EventKind::Death, duration_h, None, None);
        b.rec.run.decannulation = Some(b.t(duration_h));
    } else if recovered {
        b.rec.run.decannulation = Some(b.t(duration_h));
        b.event(EventKind::CardiacRecovery, duration_h - 6.0, None, Some("LVEF > 25 %, VTI ≥ 10 cm at 1.5 L/min"));
        if two_year_death {
            b.event(EventKind::Death, death_h, None, None);
        } else {
            b.event(EventKind::LastFollowUp, duration_h + uniform(rng, 730.0, 1000.0) * 24.0, None, None);
        }
    } else {
        b.event(EventKind::VadImplant, duration_h, None, None);
        b.rec.run.decannulation = Some(b.t(duration_h));
        if chance(rng, 4.0 / 25.0) {
            b.event(EventKind::HeartTransplant, duration_h + uniform(rng, 90.0, 600.0) * 24.0, None, None);
        }
        if two_year_death {
            b.event(EventKind::Death, death_h, None, None);
        } else {
            b.event(EventKind::LastFollowUp, duration_h + uniform(rng, 730.0, 1000.0) * 24.0, None, None);
        }
    }
    let _ = flow;
    pre_ecmo_extras(&mut b, rng);
    b.finish()
}
