//! `ecmo scores`: every score and study variable of one run, as of an instant,
//! with components and the raw records behind each value.
//!
//! The derivations are `ecmo_scores::run_scores` (one code path for the
//! bedside and for research); this module loads the run and prints.

use crate::score::{num, render_result};
use crate::{DbArg, InvalidInput};
use anyhow::{Context, Result};
use ecmo_domain::{ArrestLocation, RunRecord, Timestamp};
use ecmo_scores::run_scores::{RunScores, run_scores};
use ecmo_scores::series::{Derived, RawRef};
use ecmo_scores::{Options, ScoreResult};
use ecmo_store::StoreError;
use std::fmt::Write as _;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub db: DbArg,
    /// The run to score (its id as listed by `ecmo runs`).
    #[arg(long, value_name = "ID")]
    pub run: String,
    /// Score the run as it stood this many hours after ECMO flow start, using nothing recorded
    /// later (default: the complete record).
    #[arg(long, value_name = "HOURS", allow_negative_numbers = true)]
    pub at: Option<f64>,
    /// Print JSON with every value's full list of source records (schema in docs/json.md).
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> Result<()> {
    if let Some(h) = args.at
        && !h.is_finite()
    {
        return Err(
            InvalidInput(format!("--at {h}: give the number of hours after ECMO flow start, e.g. --at 24")).into()
        );
    }
    if !args.db.exists() {
        return Err(InvalidInput(format!(
            "no registry at {}; create one with `ecmo demo` or `ecmo import DIR --db {}`",
            args.db.label(),
            args.db.label()
        ))
        .into());
    }
    let store = args.db.open()?;
    let record = match store.load_run(&args.run) {
        Ok(r) => r,
        Err(StoreError::NoSuchRun(id)) => {
            return Err(InvalidInput(format!(
                "there is no run '{id}' in {}; `ecmo runs --db {}` lists the run ids",
                args.db.label(),
                args.db.label()
            ))
            .into());
        }
        Err(e) => return Err(e).with_context(|| format!("loading run {}", args.run)),
    };
    let opts = Options::default();
    let scores = run_scores(&record, args.at, &opts);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&to_json(&record, &scores, args.at)?)?);
    } else {
        print!("{}", render(&record, &scores, args.at));
    }
    Ok(())
}

fn to_json(record: &RunRecord, scores: &RunScores, at: Option<f64>) -> Result<serde_json::Value> {
    let mut v = serde_json::to_value(scores)?;
    if let Some(obj) = v.as_object_mut() {
        obj.insert("patient_id".into(), record.patient.id.clone().into());
        obj.insert("complete_record".into(), at.is_none().into());
        if at.is_none() {
            // The complete record has no finite as-of instant.
            obj.insert("as_of".into(), serde_json::Value::Null);
            obj.insert("as_of_hours".into(), serde_json::Value::Null);
        }
    }
    Ok(v)
}

// ---------------------------------------------------------------- text output

fn when(t: Timestamp, t0: Timestamp) -> String {
    let h = t.hours_since(t0);
    format!("{t} ({}{} h)", if h >= 0.0 { "+" } else { "" }, num((h * 10.0).round() / 10.0))
}

/// "based on N records, latest at ..." for a provenance list.
fn basis(prov: &[RawRef], t0: Timestamp) -> String {
    let Some(latest) = prov.iter().max_by_key(|r| r.time) else {
        return "no records".into();
    };
    let n = prov.len();
    let code = latest.code.replace('_', " ");
    let rec = if latest.unit.is_empty() { code } else { format!("{code} {}", with_unit(latest.value, &latest.unit)) };
    // A salt or a non-canonical unit is shown with the base rate the score used.
    let conv = latest.converted.as_deref().map(|c| format!(" (as {c})")).unwrap_or_default();
    let src = latest.source.as_deref().map(|s| format!(", source {s}")).unwrap_or_default();
    format!(
        "based on {n} record{}, latest at {}: {rec}{conv}{src}",
        if n == 1 { "" } else { "s" },
        when(latest.time, t0)
    )
}

fn with_unit(v: f64, unit: &str) -> String {
    match unit {
        "" | "1" => num(v),
        "%" => format!("{}%", num(v)),
        u => format!("{} {u}", num(v)),
    }
}

struct Out {
    s: String,
    t0: Timestamp,
}

impl Out {
    fn heading(&mut self, h: &str) {
        let _ = writeln!(self.s, "\n{h}");
    }

    fn item(&mut self, label: &str, value: &str, detail: &str) {
        let _ = writeln!(self.s, "  {label:<42} {value}");
        if !detail.is_empty() {
            let _ = writeln!(self.s, "  {:<42}   {detail}", "");
        }
    }

    /// One derived number with its window and the records behind it.
    fn derived(&mut self, label: &str, d: &Derived<f64>, window: &str) {
        match d.value {
            Some(v) => {
                let mut detail = format!("{window}; {}", basis(&d.provenance, self.t0));
                if let Some(n) = &d.note {
                    let _ = write!(detail, " ({n})");
                }
                self.item(label, &with_unit(v, d.unit), &detail);
            }
            None => {
                let why = d.undefined.as_deref().unwrap_or("not available");
                let detail = if d.provenance.is_empty() { String::new() } else { basis(&d.provenance, self.t0) };
                self.item(label, &format!("not available ({why})"), &detail);
            }
        }
    }

    fn flag(&mut self, label: &str, d: &Derived<bool>, window: &str) {
        match d.value {
            Some(b) => {
                let detail = format!("{window}; {}", basis(&d.provenance, self.t0));
                self.item(label, if b { "yes" } else { "no" }, &detail);
            }
            None => self.item(label, &format!("not known ({})", d.undefined.as_deref().unwrap_or("no data")), ""),
        }
    }

    fn score(&mut self, title: &str, r: &ScoreResult, window: &str) {
        let _ = writeln!(self.s, "  {window}");
        self.s.push_str(&render_result(r, title, "  "));
    }
}

/// A window's label, saying when it is only partly observed at the as-of instant.
fn window(start_h: f64, end_h: f64, at: Option<f64>) -> String {
    match at {
        Some(h) if h < end_h => {
            format!(
                "[{}, {}) h, observed only up to {}{} h",
                num(start_h),
                num(end_h),
                if h >= 0.0 { "+" } else { "" },
                num(h)
            )
        }
        _ => format!("[{}, {}) h", num(start_h), num(end_h)),
    }
}

pub fn render(record: &RunRecord, sc: &RunScores, at: Option<f64>) -> String {
    let run = &record.run;
    let w24 = window(0.0, 24.0, at);
    let t0 = sc.flow_start;
    let mut o = Out { s: String::new(), t0 };
    let arrest = match (run.arrest.location, run.arrest.ecpr) {
        (ArrestLocation::None, _) => "no cardiac arrest".to_string(),
        (l, true) => format!("{} E-CPR", l.code().to_uppercase()),
        (l, false) => format!("{} arrest", l.code().to_uppercase()),
    };
    let _ = writeln!(
        o.s,
        "Run {} (patient {}): {}-ECMO, {}, {arrest}; ECMO flow started {}",
        run.id,
        record.patient.id,
        run.mode.code().to_uppercase(),
        run.etiology.code().replace('_', " "),
        t0
    );
    match at {
        Some(h) => {
            let rel = if h >= 0.0 { format!("{} h after", num(h)) } else { format!("{} h before", num(-h)) };
            let _ = writeln!(o.s, "As of {rel} flow start ({}): nothing recorded later was used.", t0.plus_hours(h));
        }
        None => {
            let _ = writeln!(o.s, "Complete record (every record of the run was used).");
        }
    }
    o.s.push_str("Times are relative to ECMO flow start (+h). Windows are half-open [start, end).\n");

    o.heading("Vasoactive support (VIS: Gaies 2010; doses in mcg/kg/min, vasopressin U/min)");
    o.derived("VIS at flow start (0 h)", &sc.vis_at_0h, "rates in force at 0 h");
    o.derived("VIS at 24 h", &sc.vis_at_24h, "rates in force at +24 h");
    o.derived("VIS maximum, first 24 h", &sc.vis_max_simultaneous_24h, &format!("max over time of VIS(t), {w24}"));
    o.derived(
        "VIS maximum, first 24 h (per-agent maxima)",
        &sc.vis_max_per_agent_24h,
        &format!("each agent's own maximum in {w24}"),
    );
    o.derived("VIS 24 h reduction rate", &sc.vis_reduction_24h, "(VIS 0 h - VIS 24 h) / VIS 0 h");
    let given: Vec<&Derived<f64>> = sc.max_dose_24h.iter().filter(|d| d.value.is_some_and(|v| v > 0.0)).collect();
    if given.is_empty() {
        o.item("Maximum doses, first 24 h", &format!("no vasoactive infusion in {w24}"), "");
    }
    for d in given {
        let drug = d.name.trim_start_matches("max_").split("_0_").next().unwrap_or(&d.name).replace('_', " ");
        o.derived(&format!("Maximum {drug}, first 24 h"), d, &format!("step function over {w24}"));
    }
    let e = &sc.exposure_24h;
    let per: Vec<String> =
        e.per_drug_hours.iter().filter(|(_, h)| *h > 0.0).map(|(d, h)| format!("{d} {} h", num(*h))).collect();
    o.item(
        "Exposure to any vasoactive, first 24 h",
        &format!("{} h", num(e.union_hours)),
        &format!(
            "{w24}; sum over agents {} h{}; {}",
            num(e.drug_hours),
            if per.is_empty() { String::new() } else { format!(" ({})", per.join(", ")) },
            basis(&e.provenance, t0)
        ),
    );

    o.heading("Perfusion");
    o.derived("Lactate at admission", &sc.lactate_admission, "first lactate after hospital/ICU arrival");
    o.derived("Lactate at 24 h", &sc.lactate_at_24h, "sample closest to +24 h within 2 h");
    o.derived("Lactate maximum, first 24 h", &sc.lactate_max_24h, &w24);
    for d in &sc.lactate_clearance {
        let h = d.name.trim_start_matches("lactate_clearance_0_").trim_end_matches('h');
        o.derived(&format!("Lactate clearance 0-{h} h"), d, &format!("samples closest to 0 h and +{h} h (within 2 h)"));
    }
    o.derived(
        "Lactate clearance admission-48 h",
        &sc.lactate_clearance_admission_48h,
        "admission lactate to the sample closest to +48 h",
    );
    o.derived("MAP lowest, first 24 h", &sc.map_first_24h.min, &w24);
    o.derived("MAP time-weighted mean, first 24 h", &sc.map_first_24h.time_weighted_mean, &w24);
    o.derived("MAP at 24 h", &sc.map_at_24h, "sample closest to +24 h within 2 h");
    o.derived("Fluid balance, day 1", &sc.fluid_balance_day1, &format!("intake - output over {w24}"));

    o.heading("Organ failure (worst values of the first 24 h of ECMO)");
    o.score("SOFA (1996)", &sc.sofa_first_24h, &format!("window {w24}:"));
    o.score(
        "SOFA-2 (2025)",
        &sc.sofa2_first_24h,
        &format!("window {w24} (VA-ECMO alone scores cardiovascular 4 and respiratory 4):"),
    );
    o.score("APACHE II", &sc.apache2_first_24h, &format!("window {w24}:"));

    o.heading("Pre-ECMO risk (worst value in the 6 h before flow start)");
    o.score("SAVE", &sc.save, "window [-6, 0] h:");
    o.score("ENCOURAGE", &sc.encourage, "window [-6, 0] h:");

    o.heading("Cardiac arrest");
    if run.arrest.had_arrest() {
        o.derived("No-flow time", &sc.arrest.no_flow_min, "collapse to start of CPR");
        o.derived("Low-flow time", &sc.arrest.low_flow_min, "start of CPR to ECMO flow (or sustained ROSC)");
        o.derived("Collapse to ECMO flow", &sc.arrest.collapse_to_flow_min, "no-flow + low-flow");
    } else {
        o.item("Arrest before ECMO", "none", "");
    }
    match (&sc.tips65.result, &sc.tips65.reason) {
        (Some(r), _) => o.score("TiPS65", r, "at hospital arrival:"),
        (None, Some(why)) => o.item("TiPS65", &format!("not applicable ({why})"), ""),
        (None, None) => {}
    }

    o.heading("PREDICT VA-ECMO inputs (Wengenmayer 2019; samples within ±30 min of each time point)");
    let p = &sc.predict_va_ecmo;
    for tp in &p.time_points {
        let h = num(tp.hours);
        o.derived(&format!("Lactate at {h} h"), &tp.lactate, &format!("sample closest to +{h} h"));
        o.derived(&format!("pH at {h} h"), &tp.ph, &format!("sample closest to +{h} h"));
        o.derived(&format!("Bicarbonate at {h} h"), &tp.bicarbonate, &format!("sample closest to +{h} h"));
    }
    let complete = |b: bool| if b { "complete" } else { "incomplete" };
    match &p.not_applicable_reason {
        Some(why) => o.item("Inputs of the 6 h / 12 h model", &format!("not applicable ({why})"), ""),
        None => o.item(
            "Inputs of the 6 h / 12 h model",
            &format!("{} / {}", complete(p.inputs_complete_6h), complete(p.inputs_complete_12h)),
            &format!("derived in: {}", p.population),
        ),
    }
    o.item("Probability", "not shown", p.withheld);
    o.item("Caveats", &p.caveats.join("; "), "");

    o.heading("End-organ dysfunction (up to decannulation or the as-of instant)");
    o.flag("Renal replacement therapy", &sc.end_organ.rrt, "CRRT or dialysis from flow start");
    o.derived("Bilirubin maximum, last 48 h", &sc.end_organ.bilirubin_max_48h, "48 h before the decision time");
    o.flag("Bilirubin > 4.0 mg/dL", &sc.end_organ.bilirubin_gt_4, "48 h before the decision time");
    o.derived("NSE at 24 h", &sc.nse_at_24h, "sample closest to +24 h within 6 h");

    o.heading("Outcomes (as far as known at the as-of instant)");
    let w = &sc.weaning;
    let status = serde_json::to_value(w.status).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    let success = match w.success {
        Some(true) => "weaned (decannulated, no re-cannulation within 30 days)",
        Some(false) => "not weaned",
        None => "not yet known",
    };
    let mut detail = format!("status {}; {}", status.replace('_', " "), basis(&w.provenance, t0));
    if w.weaned_then_died_le30d {
        detail.push_str("; died within 30 days after weaning");
    }
    o.item("Weaning", success, &detail);
    for s in [&sc.survival_30d, &sc.survival_2y] {
        let label = if s.horizon_days <= 31.0 { "Survival at 30 days" } else { "Survival at 2 years" };
        let value = match s.alive_at_horizon {
            Some(true) => "alive".to_string(),
            Some(false) => "died".to_string(),
            None => "not known (follow-up too short)".to_string(),
        };
        let detail = if s.death {
            format!("death at day {}", num(s.time_days))
        } else {
            format!("last known alive at day {}", num(s.time_days))
        };
        o.item(label, &value, &detail);
    }
    o.s.push_str("\n`--json` lists every record behind each value (time, value, unit, source).\n");
    o.s
}
