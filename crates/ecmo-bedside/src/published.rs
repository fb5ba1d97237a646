//! Published scores that need no local fitting (SAVE, ENCOURAGE, TiPS65) and
//! the severity scores of the first 24 h, each with its published risk class,
//! the population it was derived in, and the caveats a clinician must read.
//! The scores themselves come from `ecmo_scores::run_scores` (one code path for
//! the bedside, the web and the research table).

use ecmo_domain::{Etiology, Mode, RunView};
use ecmo_model::{Guard, GuardKind};
use ecmo_scores::ScoreResult;
use ecmo_scores::run_scores::RunScores;
use serde::Serialize;

/// A published score with what is needed to read it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublishedScore {
    /// Display name (`SAVE`).
    pub name: &'static str,
    /// What the score estimates and over which horizon.
    pub purpose: &'static str,
    /// Applies to this run at all (TiPS65 only to out-of-hospital E-CPR).
    pub applicable: bool,
    /// Why not, when not applicable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_applicable_reason: Option<String>,
    /// The result with components, class and the derivation cohort's outcome for the class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<ScoreResult>,
    /// Population mismatches and other cautions for this patient.
    pub guards: Vec<Guard>,
    /// Limits of the score that hold for every patient.
    pub caveats: Vec<&'static str>,
    pub citation: &'static str,
}

const SAVE_CITATION: &str = "Schmidt M et al. Predicting survival after ECMO for refractory cardiogenic shock: the SAVE-score. Eur Heart J 2015;36:2246-56 (spec §9)";
const ENCOURAGE_CITATION: &str = "Muller G et al. The ENCOURAGE mortality risk score after VA-ECMO for acute myocardial infarction with cardiogenic shock. Intensive Care Med 2016;42:370-8 (spec §10)";
const TIPS65_CITATION: &str =
    "Okada Y et al. TiPS65: neurological outcome after ECPR for OHCA. JAMA Netw Open 2020;3:e2022920 (spec §12.6)";
const SOFA_CITATION: &str = "Vincent JL et al. The SOFA score. Intensive Care Med 1996;22:707-10 (spec §6)";
const APACHE_CITATION: &str = "Knaus WA et al. APACHE II. Crit Care Med 1985;13:818-29 (spec §8)";

const ELSO_SAVE: &str = "ELSO: SAVE is for benchmarking and for comparing cohorts between centres, not for selecting individual patients for ECMO or for withdrawing it (Lorusso 2021 [R]).";
const PRE_ECMO: &str =
    "Pre-ECMO values (worst in the 6 h before cannulation): the score describes the patient at cannulation, not now.";

fn adult_guard(view: &RunView) -> Option<Guard> {
    let age = view.patient().age_at(view.flow_start())?;
    (age < 18.0).then(|| {
        Guard::caution(
            GuardKind::PopulationMismatch,
            None,
            format!("patient aged {age}: the score was derived in adults"),
        )
    })
}

fn va_guard(view: &RunView, score: &str) -> Option<Guard> {
    (view.run().mode == Mode::Vv).then(|| {
        Guard::blocking(
            GuardKind::PopulationMismatch,
            None,
            format!("this is a VV run; {score} was derived on VA-ECMO and does not apply"),
        )
    })
}

/// The published scores for a run, from its `RunScores` at the same instant.
pub fn published_scores(view: &RunView, s: &RunScores) -> Vec<PublishedScore> {
    let run = view.run();
    let mut out = Vec::new();

    let mut g: Vec<Guard> = [va_guard(view, "SAVE"), adult_guard(view)].into_iter().flatten().collect();
    if run.arrest.ecpr {
        g.push(Guard::caution(
            GuardKind::PopulationMismatch,
            None,
            "E-CPR run: SAVE was derived in refractory cardiogenic shock; its performance after E-CPR is not established",
        ));
    }
    out.push(PublishedScore {
        name: "SAVE",
        purpose: "survival to hospital discharge after VA-ECMO for refractory cardiogenic shock",
        applicable: run.mode != Mode::Vv,
        not_applicable_reason: (run.mode == Mode::Vv).then(|| "VV run".to_string()),
        result: Some(s.save.clone()),
        guards: g,
        caveats: vec![
            ELSO_SAVE,
            PRE_ECMO,
            "Derivation: 3,846 ELSO-registry adults, 2003-2013; survival figures are those of the derivation cohort's classes.",
            "Class I/II boundary (> 5 vs >= 5) differs between sources; see docs/scores.md.",
        ],
        citation: SAVE_CITATION,
    });

    let mut g: Vec<Guard> = [va_guard(view, "ENCOURAGE"), adult_guard(view)].into_iter().flatten().collect();
    if run.etiology != Etiology::AmiCs {
        g.push(Guard::caution(
            GuardKind::PopulationMismatch,
            None,
            format!(
                "etiology {}: ENCOURAGE was derived in acute myocardial infarction with cardiogenic shock only",
                run.etiology
            ),
        ));
    }
    out.push(PublishedScore {
        name: "ENCOURAGE",
        purpose: "6-month survival after VA-ECMO for acute myocardial infarction with cardiogenic shock",
        applicable: run.mode != Mode::Vv,
        not_applicable_reason: (run.mode == Mode::Vv).then(|| "VV run".to_string()),
        result: Some(s.encourage.clone()),
        guards: g,
        caveats: vec![
            PRE_ECMO,
            "Derivation: 138 patients in 2 French ICUs; small cohort, wide uncertainty around each class's survival.",
        ],
        citation: ENCOURAGE_CITATION,
    });

    let t = &s.tips65;
    let mut g: Vec<Guard> = adult_guard(view).into_iter().collect();
    if t.applicable && run.arrest.arrival_rhythm.shockable() == Some(false) {
        g.push(Guard::caution(
            GuardKind::PopulationMismatch,
            None,
            "non-shockable rhythm on arrival: TiPS65 was derived in OHCA with a shockable rhythm",
        ));
    }
    out.push(PublishedScore {
        name: "TiPS65",
        purpose: "favourable neurological outcome (CPC 1-2) at 1 month after E-CPR for out-of-hospital arrest",
        applicable: t.applicable,
        not_applicable_reason: t.reason.clone(),
        result: t.result.clone(),
        guards: g,
        caveats: vec![
            "Derivation: JAAM-OHCA registry (Japan), OHCA with shockable rhythm treated with E-CPR; probabilities are the original model's mean estimates, not a guarantee.",
        ],
        citation: TIPS65_CITATION,
    });

    out.push(PublishedScore {
        name: "SOFA (first 24 h)",
        purpose: "organ dysfunction in the first 24 h of ECMO (Seed 000: lower in weaned patients)",
        applicable: true,
        not_applicable_reason: None,
        result: Some(s.sofa_first_24h.clone()),
        guards: Vec::new(),
        caveats: vec![
            "A description of organ failure, not a risk estimate; on VA-ECMO the cardiovascular component reflects drugs given with mechanical support.",
        ],
        citation: SOFA_CITATION,
    });
    out.push(PublishedScore {
        name: "APACHE II (first 24 h)",
        purpose: "severity of illness in the first 24 h (Seed 001: higher in failed weaning)",
        applicable: true,
        not_applicable_reason: None,
        result: Some(s.apache2_first_24h.clone()),
        guards: Vec::new(),
        caveats: vec!["Predicted mortality is not shown: the diagnostic-category weights were not verified (spec §8)."],
        citation: APACHE_CITATION,
    });
    out
}
