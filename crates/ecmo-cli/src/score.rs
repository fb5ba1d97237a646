//! `ecmo score`: a bedside score calculator from direct inputs.
//!
//! Each calculator has its own input fields, so the fields are not clap
//! arguments: everything after the calculator's name is read here as
//! `--FIELD VALUE[unit]` pairs (unit as a suffix, as the next word, or as
//! `--FIELD-unit UNIT`), optionally on top of a JSON file (`--input`). The
//! work is done by `ecmo_scores::compute`; this module only parses and prints.

use crate::InvalidInput;
use anyhow::Result;
use ecmo_domain::Unit;
use ecmo_scores::input::normalise_field;
use ecmo_scores::{CalcInput, CalculatorInfo, FieldInfo, FieldKind, Options, ScoreError, ScoreResult};
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(
    disable_help_flag = true,
    override_usage = "ecmo score <CALCULATOR> --FIELD VALUE[unit] ... [--input case.json] [--assume-normal] [--json]",
    after_help = calculators_overview(),
)]
pub struct Args {
    /// Which score to calculate (`ecmo score <CALCULATOR> --help` lists its inputs).
    #[arg(value_name = "CALCULATOR", value_parser = calculator_values())]
    pub calculator: Option<String>,
    /// Read the inputs from a JSON object such as {"creatinine": [2.1, "mg/dL"]}; inputs given as
    /// --FIELD VALUE on the command line replace the file's values.
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Score missing physiology as normal (0 points) and name every item assumed.
    #[arg(long)]
    pub assume_normal: bool,
    /// Print the result as JSON (schema in docs/json.md).
    #[arg(long)]
    pub json: bool,
    /// Print help; with a calculator, its inputs, accepted units and meaning.
    #[arg(short = 'h', long)]
    pub help: bool,
    /// The calculator's inputs: --FIELD VALUE[unit] (e.g. --creatinine 2.1mg/dL --vasopressin 0.04 U/min).
    #[arg(value_name = "--FIELD VALUE", trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    pub fields: Vec<String>,
}

fn calculator_values() -> clap::builder::PossibleValuesParser {
    let aliases = |name: &str| -> &'static [&'static str] {
        match name {
            "apache2" => &["apache", "apache_ii", "apache-ii"],
            "sofa2" => &["sofa-2", "sofa_2"],
            "inotrope_score" => &["is", "inotrope", "inotrope-score"],
            "lactate_clearance" => &["lactate-clearance"],
            _ => &[],
        }
    };
    clap::builder::PossibleValuesParser::new(
        ecmo_scores::calculators()
            .iter()
            .map(|c| clap::builder::PossibleValue::new(c.name).help(c.title).aliases(aliases(c.name).iter().copied())),
    )
}

/// Worked examples (from the spec) shown in each calculator's help; each is
/// also run by the integration tests.
pub const EXAMPLES: &[(&str, &str)] = &[
    (
        "vis",
        "--dobutamine 5mcg/kg/min --epinephrine 0.05mcg/kg/min --norepinephrine 0.2mcg/kg/min \
         --milrinone 0.375mcg/kg/min --vasopressin 0.04U/min --weight 80kg",
    ),
    ("inotrope_score", "--dopamine 5mcg/kg/min --dobutamine 5mcg/kg/min --epinephrine 0.05mcg/kg/min"),
    ("nee", "--norepinephrine 0.1mcg/kg/min --vasopressin 0.04U/min --weight 80kg"),
    (
        "sofa",
        "--pao2 90mmHg --fio2 0.5 --ventilated --platelets 85x10^9/L --bilirubin 2.4mg/dL --norepinephrine 0.15mcg/kg/min \
         --gcs 9 --creatinine 2.1mg/dL --urine-output 450mL",
    ),
    (
        "sofa2",
        "--ecmo va --gcs 15 --delirium-drugs --bilirubin 2.5mg/dL --creatinine 1.8mg/dL --rrt --platelets 90x10^9/L",
    ),
    (
        "apache2",
        "--age 64 --temperature 100.8degF --sbp 110mmHg --dbp 58mmHg --heart-rate 107/min --resp-rate 22/min --fio2 0.36 --pao2 75mmHg \
         --ph 7.29 --sodium 136mmol/L --potassium 4.5mmol/L --creatinine 1.8mg/dL --acute-renal-failure --haematocrit 34% \
         --wbc 12.3x10^9/L --gcs 13 --chronic-health no",
    ),
    (
        "save",
        "--diagnosis myocarditis --age 30 --weight 60kg --liver-failure no --cns-dysfunction no \
         --acute-renal-failure no --chronic-renal-failure no --ventilation-hours 5 --pip 18cmH2O \
         --cardiac-arrest no --dbp 45mmHg --pulse-pressure 25mmHg --bicarbonate 20mmol/L",
    ),
    (
        "encourage",
        "--age 65 --sex male --bmi 27 --gcs 3 --creatinine 180umol/L --lactate 9mmol/L --prothrombin-activity 40%",
    ),
    ("tips65", "--age 58 --call-to-arrival 22min --ph 7.05 --arrival-rhythm vf"),
    ("map", "--sbp 110mmHg --dbp 58mmHg"),
    ("lactate_clearance", "--lactate-t0 8mmol/L --lactate-t1 4mmol/L"),
];

/// The total's unit: most calculators give points.
pub fn total_unit(score: &str) -> &'static str {
    match score {
        "nee" => "mcg/kg/min norepinephrine equivalent",
        "map" => "mmHg",
        "lactate_clearance" => "%",
        _ => "points",
    }
}

/// Options of the command itself that may also appear among the fields.
struct Parsed {
    triples: Vec<(String, String, Option<String>)>,
    json: bool,
    assume_normal: bool,
    help: bool,
    input: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let info = args.calculator.as_deref().and_then(ecmo_scores::calculator);
    let parsed = parse_fields(info, &args.fields)?;
    let help = args.help || parsed.help;
    let Some(info) = info else {
        if help {
            print!("{}", general_help());
            return Ok(());
        }
        clap::Error::raw(
            clap::error::ErrorKind::MissingRequiredArgument,
            format!("which score? `ecmo score <CALCULATOR> --FIELD VALUE ...`\n\n{}", calculators_overview()),
        )
        .exit();
    };
    if help {
        print!("{}", calculator_help(info));
        return Ok(());
    }
    let json = args.json || parsed.json;
    let mut input = CalcInput::new();
    if let Some(path) = parsed.input.as_ref().or(args.input.as_ref()) {
        let text = std::fs::read_to_string(path)
            .map_err(|e| InvalidInput(format!("cannot read the input file {}: {e}", path.display())))?;
        input = CalcInput::from_json_str(&text)
            .map_err(|e| InvalidInput(format!("in {}: {}", path.display(), explain(info, &e))))?;
    }
    let mut flags = CalcInput::new();
    for (field, value, unit) in &parsed.triples {
        flags.push_pair(field, value, unit.as_deref()).map_err(|e| InvalidInput(explain(info, &e)))?;
    }
    input.merge(flags);
    let opts = Options { assume_normal: args.assume_normal || parsed.assume_normal, ..Options::default() };
    let result = ecmo_scores::compute(info.name, &input, &opts).map_err(|e| InvalidInput(explain(info, &e)))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else {
        print!("{}", render_result(&result, info.title, ""));
    }
    if !result.is_computable() {
        return Err(InvalidInput(not_computable(info, &result)).into());
    }
    Ok(())
}

/// Split the trailing words into `(field, value, unit)` and the command's own options.
fn parse_fields(info: Option<&'static CalculatorInfo>, words: &[String]) -> Result<Parsed, InvalidInput> {
    let mut p = Parsed { triples: Vec::new(), json: false, assume_normal: false, help: false, input: None };
    let calc = info.map_or("<CALCULATOR>", |i| i.name);
    let is_flag_word = |w: &str| w.starts_with("--") && w.len() > 2;
    let mut i = 0;
    while i < words.len() {
        let word = words[i].as_str();
        i += 1;
        match word {
            "--json" => {
                p.json = true;
                continue;
            }
            "--assume-normal" | "--assume_normal" => {
                p.assume_normal = true;
                continue;
            }
            "--help" | "-h" => {
                p.help = true;
                continue;
            }
            "--input" => {
                let f = words.get(i).ok_or_else(|| InvalidInput("--input needs a file name".into()))?;
                p.input = Some(PathBuf::from(f));
                i += 1;
                continue;
            }
            _ => {}
        }
        if let Some(f) = word.strip_prefix("--input=") {
            p.input = Some(PathBuf::from(f));
            continue;
        }
        // `--field`, `--field=value` or `field=value`.
        let (name, inline) = match word.strip_prefix("--") {
            Some(rest) => match rest.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (rest, None),
            },
            None => match word.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => {
                    return Err(InvalidInput(format!(
                        "unexpected '{word}': give inputs as --FIELD VALUE (see `ecmo score {calc} --help`)"
                    )));
                }
            },
        };
        let field = normalise_field(name);
        // `--creatinine-unit umol/L` gives the unit of an earlier or later value.
        if let Some(base) = field.strip_suffix("_unit")
            && info.is_none_or(|c| !c.fields.iter().any(|f| f.name == field))
        {
            let unit = match inline {
                Some(u) => u.to_string(),
                None => {
                    let u = words
                        .get(i)
                        .filter(|w| !is_flag_word(w))
                        .ok_or_else(|| InvalidInput(format!("--{} needs a unit", name.trim_start_matches('-'))))?;
                    i += 1;
                    u.clone()
                }
            };
            set_unit(&mut p.triples, base, unit)?;
            continue;
        }
        let kind = info.and_then(|c| c.fields.iter().find(|f| f.name == field)).map(|f| f.kind);
        if let Some(c) = info
            && kind.is_none()
        {
            return Err(InvalidInput(format!(
                "{} has no input called --{}; its inputs are: {} (see `ecmo score {} --help`)",
                c.title,
                field.replace('_', "-"),
                c.fields.iter().map(|f| format!("--{}", f.name.replace('_', "-"))).collect::<Vec<_>>().join(", "),
                c.name
            )));
        }
        let value = match inline {
            Some(v) => v.to_string(),
            None => match words.get(i) {
                Some(w) if !is_flag_word(w) => {
                    i += 1;
                    w.clone()
                }
                _ if matches!(kind, Some(FieldKind::Flag)) => "yes".to_string(),
                _ => {
                    return Err(InvalidInput(format!(
                        "--{} needs a value (see `ecmo score {calc} --help`)",
                        field.replace('_', "-")
                    )));
                }
            },
        };
        // A unit as the next word: `--vasopressin 0.04 U/min`.
        let mut unit = None;
        if inline.is_none()
            && is_bare_number(&value)
            && let Some(w) = words.get(i)
            && !is_flag_word(w)
            && !w.contains('=')
            && !is_bare_number(w)
        {
            unit = Some(w.clone());
            i += 1;
        }
        if let Some(existing) = p.triples.iter_mut().find(|(f, _, _)| *f == field) {
            if matches!(kind, Some(FieldKind::Choices(_))) {
                existing.1 = format!("{},{value}", existing.1);
                continue;
            }
            return Err(InvalidInput(format!("--{} is given twice", field.replace('_', "-"))));
        }
        p.triples.push((field, value, unit));
    }
    Ok(p)
}

fn is_bare_number(s: &str) -> bool {
    s.trim().parse::<f64>().is_ok()
}

fn set_unit(triples: &mut [(String, String, Option<String>)], field: &str, unit: String) -> Result<(), InvalidInput> {
    match triples.iter_mut().find(|(f, _, _)| f == field) {
        Some((_, v, slot @ None)) if is_bare_number(v) => {
            *slot = Some(unit);
            Ok(())
        }
        Some(_) => Err(InvalidInput(format!("--{}: unit given twice", field.replace('_', "-")))),
        None => Err(InvalidInput(format!(
            "--{}-unit given before (or without) --{} VALUE",
            field.replace('_', "-"),
            field.replace('_', "-")
        ))),
    }
}

/// A score error in plain language, with what to do about it.
pub fn explain(info: &CalculatorInfo, e: &ScoreError) -> String {
    let flag = |f: &str| format!("--{}", normalise_field(f).replace('_', "-"));
    match e {
        ScoreError::Invalid { field, value, reason } if field.starts_with('(') => {
            format!("invalid input {value}: {reason}")
        }
        ScoreError::Invalid { field, value, reason } => {
            let accepted = info
                .fields
                .iter()
                .find(|f| f.name == normalise_field(field))
                .filter(|_| !reason.contains("accepted"))
                .map(|f| format!(" (accepted: {})", accepted_values(f)))
                .unwrap_or_default();
            format!("{} = {value} was refused: {reason}{accepted}", flag(field))
        }
        ScoreError::UnknownField { field, .. } => {
            format!("{} has no input called {} (see `ecmo score {} --help`)", info.title, flag(field), info.name)
        }
        ScoreError::Inconsistent { fields, rule } => format!("inconsistent inputs ({fields}): {rule}"),
        ScoreError::NotComputable { missing, .. } => {
            format!("{} cannot be calculated: missing {}", info.title, missing.join(", "))
        }
        other => format!("{}: {other}", info.title),
    }
}

fn not_computable(info: &CalculatorInfo, r: &ScoreResult) -> String {
    let items: Vec<String> = r
        .missing
        .iter()
        .map(|m| match info.fields.iter().find(|f| f.name == m.as_str()) {
            Some(f) => format!("--{} ({})", f.name.replace('_', "-"), f.help),
            None => m.replace('_', " "),
        })
        .collect();
    let mut s = format!("{} cannot be calculated: missing {}", info.title, items.join("; "));
    if info.fields.iter().any(|f| f.name == "assume_normal") {
        s.push_str(". Give them, or add --assume-normal to score missing physiology as normal (listed as assumed)");
    }
    s
}

fn unit_list(units: &[Unit]) -> String {
    let list = units.iter().filter(|u| **u != Unit::Dimensionless).map(|u| u.symbol()).collect::<Vec<_>>();
    match (list.is_empty(), units.contains(&Unit::Dimensionless)) {
        (true, _) => "a plain number, no unit".to_string(),
        (false, true) => format!("units {} or a plain number", list.join(", ")),
        (false, false) => format!("units {}", list.join(", ")),
    }
}

/// Accepted values of one field, for help and errors.
fn accepted_values(f: &FieldInfo) -> String {
    match f.kind {
        FieldKind::Quantity(q) => {
            let c = q.concept();
            let unit =
                if c.canonical == Unit::Dimensionless { String::new() } else { format!(" {}", c.canonical.symbol()) };
            format!("{}; possible range {}-{}{unit}", unit_list(&f.accepted_units()), num(c.hard.0), num(c.hard.1))
        }
        FieldKind::Dose(_) => unit_list(&f.accepted_units()),
        FieldKind::Number { min, max, .. } => {
            let units = f.accepted_units();
            let first = units.first().map(|u| if *u == Unit::Dimensionless { "" } else { u.symbol() }).unwrap_or("");
            format!(
                "{}{}; possible range {}-{} {first}",
                unit_list(&units),
                if units.len() > 1 { format!(" (default {first})") } else { String::new() },
                num(min),
                num(max)
            )
            .trim_end()
            .to_string()
        }
        FieldKind::Flag => "yes or no; the flag alone means yes".into(),
        FieldKind::Choice(c) => format!("one of {}", c.join(", ")),
        FieldKind::Choices(c) => format!("one or more of {} (comma-separated)", c.join(", ")),
    }
}

fn field_meaning(f: &FieldInfo) -> String {
    match f.kind {
        FieldKind::Dose(d) => format!("{d}, {}", f.help),
        FieldKind::Quantity(q) => {
            let label = q.concept().label;
            if f.help.to_ascii_lowercase().contains(&label.to_ascii_lowercase()) {
                f.help.to_string()
            } else {
                format!("{} ({label})", f.help)
            }
        }
        _ => f.help.to_string(),
    }
}

/// The list of calculators (help of `ecmo score`).
pub fn calculators_overview() -> String {
    let mut s = String::from("Calculators:\n");
    for c in ecmo_scores::calculators() {
        let _ = writeln!(s, "  {:<18} {} ({}; derived in: {})", c.name, c.title, c.definition, c.population);
    }
    s.push_str(
        "\nInputs are written --FIELD VALUE with the unit after the value (--creatinine 2.1mg/dL or \
         --creatinine 2.1 mg/dL). `ecmo score <CALCULATOR> --help` lists a calculator's inputs with their \
         accepted units.\nA missing or impossible input is named in the error and the exit code is 3.",
    );
    s
}

fn general_help() -> String {
    format!(
        "Bedside score calculator from direct inputs.\n\n\
         Usage: ecmo score <CALCULATOR> --FIELD VALUE[unit] ... [--input case.json] [--assume-normal] [--json]\n\n\
         Options:\n\
         \x20 --input FILE      read the inputs from a JSON object such as {{\"creatinine\": [2.1, \"mg/dL\"]}};\n\
         \x20                   --FIELD VALUE given on the command line replace the file's values\n\
         \x20 --assume-normal   score missing physiology as normal (0 points); the result names every item assumed\n\
         \x20 --json            print the result as JSON (schema in docs/json.md)\n\
         \x20 -h, --help        this help; `ecmo score <CALCULATOR> --help` lists that calculator's inputs\n\n{}\n",
        calculators_overview()
    )
}

/// Help of one calculator: what it is, where it was derived, every input.
pub fn calculator_help(c: &CalculatorInfo) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{} (`ecmo score {}`)\n", c.title, c.name);
    let _ = writeln!(s, "Definition: {}", c.definition);
    let _ = writeln!(s, "Derived in: {}\n", c.population);
    let _ = writeln!(
        s,
        "Usage: ecmo score {} --FIELD VALUE[unit] ... [--input case.json] [--assume-normal] [--json]\n",
        c.name
    );
    s.push_str("Inputs (write the unit after the value: --creatinine 2.1mg/dL or --creatinine 2.1 mg/dL):\n");
    let width = c.fields.iter().map(|f| f.name.len()).max().unwrap_or(0) + 2;
    for f in c.fields.iter().filter(|f| f.name != "assume_normal") {
        let _ = writeln!(s, "  --{:<width$} {}", f.name.replace('_', "-"), field_meaning(f));
        let _ = writeln!(s, "    {:<width$} {}", "", accepted_values(f));
    }
    s.push_str("\nOptions:\n");
    if c.fields.iter().any(|f| f.name == "assume_normal") {
        s.push_str("  --assume-normal     score missing physiology as normal (0 points) and name each item assumed\n");
    }
    s.push_str("  --input FILE        the same inputs as a JSON object, e.g. {\"creatinine\": [2.1, \"mg/dL\"]}\n");
    s.push_str("  --json              print the result as JSON (schema in docs/json.md)\n");
    if let Some((_, ex)) = EXAMPLES.iter().find(|(n, _)| *n == c.name) {
        let ex = ex.split_whitespace().collect::<Vec<_>>().join(" ");
        let _ = writeln!(s, "\nExample:\n  ecmo score {} {ex}", c.name);
    }
    s
}

/// A number for people: no trailing zeros, about four significant digits.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return if v.is_nan() { "not a number".into() } else { "unbounded".into() };
    }
    if v == v.round() && v.abs() < 1e12 {
        return format!("{v:.0}");
    }
    let mag = v.abs().log10().floor() as i64;
    let decimals = (3 - mag).clamp(2, 8) as usize;
    let s = format!("{v:.decimals$}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.to_string() }
}

/// A score result for people: total, class, each component with the value
/// used, assumed and missing items, definition and derivation population.
pub fn render_result(r: &ScoreResult, title: &str, indent: &str) -> String {
    let mut s = String::new();
    let unit = total_unit(r.score);
    match r.total {
        Some(t) => {
            let _ = write!(s, "{indent}{title}: {} {unit}", num(t));
        }
        None => {
            let _ = write!(s, "{indent}{title}: not computable (missing {})", r.missing.join(", "));
        }
    }
    if let Some(c) = &r.class {
        let label = if r.score == "tips65" { "score" } else { "class" };
        let _ = write!(s, ", {label} {c}");
    }
    if let Some(risk) = &r.risk {
        let _ = write!(s, " ({risk})");
    }
    s.push('\n');
    if !r.components.is_empty() {
        let w = r.components.iter().map(|c| c.name.len()).max().unwrap_or(0).max(9);
        let head = if unit == "points" { "points" } else { "result" };
        let _ = writeln!(s, "{indent}  {:<w$}  {head:>6}  value used", "component");
        for c in &r.components {
            let mut value = match (c.value, &c.unit) {
                (Some(v), Some(u)) if u == "1" || u.is_empty() => num(v),
                (Some(v), Some(u)) if u == "yes/no" => (if v != 0.0 { "yes" } else { "no" }).to_string(),
                (Some(v), Some(u)) => format!("{} {u}", num(v)),
                (Some(v), None) => num(v),
                (None, _) => "-".into(),
            };
            if let Some(t) = c.time {
                let _ = write!(value, " at {t}");
            }
            if let Some(src) = &c.source {
                let _ = write!(value, " [{src}]");
            }
            if let Some(n) = &c.note {
                let _ = write!(value, " ({n})");
            }
            let _ = writeln!(s, "{indent}  {:<w$}  {:>6}  {value}", c.name, num(c.points));
        }
    }
    if !r.assumed.is_empty() {
        let _ = writeln!(s, "{indent}Assumed normal (0 points, not measured): {}", r.assumed.join(", "));
    }
    if !r.missing.is_empty() {
        let _ = writeln!(s, "{indent}Missing: {}", r.missing.join(", "));
    }
    if !r.excluded_agents.is_empty() {
        let _ = writeln!(s, "{indent}Running but not part of this score: {}", r.excluded_agents.join(", "));
    }
    for w in &r.warnings {
        let _ = writeln!(s, "{indent}Note: {w}");
    }
    let _ = writeln!(s, "{indent}Definition: {}", r.definition);
    let _ = writeln!(s, "{indent}Derived in: {}", r.population);
    s
}
