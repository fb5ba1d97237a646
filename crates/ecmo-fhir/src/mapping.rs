//! The code mapping (`mapping.csv`, compiled in; docs/fhir.md): which LOINC, SNOMED CT,
//! RxNorm, ATC and UCUM codes mean which registry codes.

use crate::{ATC, LOINC, RXNORM, SNOMED, UCUM, code_system};
use ecmo_domain::{Drug, EventKind, Quantity, SupportKind, Unit};
use std::collections::HashMap;
use std::sync::OnceLock;

/// The mapping file as shipped.
pub const MAPPING_CSV: &str = include_str!("mapping.csv");

/// What a coded element means in the registry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    Quantity(Quantity),
    /// A patients.csv column (`weight_kg`, `height_cm`).
    PatientColumn(&'static str),
    Drug(Drug),
    Ecmo,
    Support(SupportKind),
    Event(EventKind),
    /// A derived result written by `ecmo fhir export`; not data, skipped on import.
    DerivedScore,
}

#[derive(Debug, Default)]
pub struct Mapping {
    codes: HashMap<(String, String), Target>,
    /// UCUM code -> registry unit spelling.
    units: HashMap<String, String>,
    /// First code of each target, written on export: target key -> (system, code, display).
    export: HashMap<String, (String, String, String)>,
}

fn system_url(alias: &str) -> Option<&'static str> {
    Some(match alias {
        "loinc" => LOINC,
        "snomed" => SNOMED,
        "rxnorm" => RXNORM,
        "atc" => ATC,
        "ucum" => UCUM,
        _ => return None,
    })
}

fn target_key(t: &Target) -> String {
    match t {
        Target::Quantity(q) => format!("quantity:{}", q.code()),
        Target::PatientColumn(c) => format!("patient:{c}"),
        Target::Drug(d) => format!("drug:{}", d.code()),
        Target::Ecmo => "ecmo".into(),
        Target::Support(s) => format!("support:{}", s.code()),
        Target::Event(e) => format!("event:{}", e.code()),
        Target::DerivedScore => "score".into(),
    }
}

/// A problem with the mapping file (a build-time asset; tests keep it clean).
#[derive(Debug, thiserror::Error)]
#[error("mapping.csv line {line}: {reason}")]
pub struct MappingError {
    pub line: u64,
    pub reason: String,
}

impl Mapping {
    /// Parse a mapping table (the shipped one, or a centre's own with the same columns).
    pub fn parse(text: &str) -> Result<Self, MappingError> {
        let mut m = Mapping::default();
        let mut r = csv::ReaderBuilder::new().comment(Some(b'#')).trim(csv::Trim::All).from_reader(text.as_bytes());
        for rec in r.records() {
            let rec = rec.map_err(|e| MappingError { line: 0, reason: e.to_string() })?;
            let line = rec.position().map(|p| p.line()).unwrap_or(0);
            let err = |reason: String| MappingError { line, reason };
            let f = |i: usize| rec.get(i).unwrap_or("").to_string();
            let (element, system, code, maps_to, display) = (f(0), f(1), f(2), f(3), f(4));
            let url = system_url(&system).ok_or_else(|| err(format!("unknown system alias '{system}'")))?;
            if element == "unit" {
                m.units.insert(code.clone(), maps_to.clone());
                if !maps_to.is_empty() {
                    m.export.entry(format!("unit:{maps_to}")).or_insert((url.into(), code, display));
                }
                continue;
            }
            let target = match element.as_str() {
                "observation" => Target::Quantity(
                    maps_to.parse().map_err(|e: ecmo_domain::concepts::UnknownQuantity| err(e.to_string()))?,
                ),
                "patient" => Target::PatientColumn(match maps_to.as_str() {
                    "weight_kg" => "weight_kg",
                    "height_cm" => "height_cm",
                    other => return Err(err(format!("patient column '{other}' is not weight_kg or height_cm"))),
                }),
                "medication" => {
                    Target::Drug(maps_to.parse().map_err(|e: ecmo_domain::drugs::UnknownDrug| err(e.to_string()))?)
                }
                "procedure" => match maps_to.split_once(':') {
                    None if maps_to == "ecmo" => Target::Ecmo,
                    Some(("support", k)) => Target::Support(k.parse().map_err(err)?),
                    Some(("event", k)) => Target::Event(k.parse().map_err(err)?),
                    _ => {
                        return Err(err(format!(
                            "procedure target '{maps_to}' is not ecmo, support:KIND or event:KIND"
                        )));
                    }
                },
                other => return Err(err(format!("unknown element '{other}'"))),
            };
            if m.codes.insert((url.to_string(), code.clone()), target).is_some() {
                return Err(err(format!("{system} {code} is mapped twice")));
            }
            m.export.entry(target_key(&target)).or_insert((url.into(), code, display));
        }
        Ok(m)
    }

    /// The shipped mapping.
    pub fn builtin() -> &'static Mapping {
        static M: OnceLock<Mapping> = OnceLock::new();
        M.get_or_init(|| Mapping::parse(MAPPING_CSV).unwrap_or_else(|e| panic!("the shipped {e}")))
    }

    /// What a coding means: the table, then the ecmo-cds code systems (always understood).
    pub fn lookup(&self, system: &str, code: &str) -> Option<Target> {
        if let Some(t) = self.codes.get(&(system.to_string(), code.to_string())) {
            return Some(*t);
        }
        let own = |kind: &str| system == code_system(kind);
        if own("quantity") {
            code.parse().ok().map(Target::Quantity)
        } else if own("drug") {
            code.parse().ok().map(Target::Drug)
        } else if own("support") {
            if code == "ecmo" { Some(Target::Ecmo) } else { code.parse().ok().map(Target::Support) }
        } else if own("event") {
            code.parse().ok().map(Target::Event)
        } else if own("score") {
            Some(Target::DerivedScore)
        } else {
            None
        }
    }

    /// The registry spelling of a UCUM unit code (unchanged when the table has no row).
    pub fn unit_from_ucum<'a>(&'a self, code: &'a str) -> &'a str {
        self.units.get(code).map(String::as_str).unwrap_or(code)
    }

    /// The UCUM code written for a registry unit (`[pH]` and `{score}` for the two unitless
    /// quantities, which the registry records without a unit).
    pub fn ucum_for(&self, unit: Unit, quantity: Option<Quantity>) -> String {
        if unit == Unit::Dimensionless {
            return if quantity == Some(Quantity::Ph) { "[pH]".into() } else { "{score}".into() };
        }
        self.export.get(&format!("unit:{}", unit.symbol())).map(|e| e.1.clone()).unwrap_or_else(|| unit.symbol().into())
    }

    /// The UCUM code written for a bag concentration unit (`mcg/mL` is `ug/mL` in UCUM).
    pub fn ucum_for_concentration(&self, symbol: &str) -> String {
        self.export.get(&format!("unit:{symbol}")).map(|e| e.1.clone()).unwrap_or_else(|| symbol.into())
    }

    /// The coding written on export for a target: the table's first code, else ecmo-cds's own.
    pub fn coding_for(&self, target: Target) -> (String, String, String) {
        if let Some(e) = self.export.get(&target_key(&target)) {
            return e.clone();
        }
        let (kind, code) = match target {
            Target::Quantity(q) => ("quantity", q.code().to_string()),
            Target::Drug(d) => ("drug", d.code().to_string()),
            Target::Support(s) => ("support", s.code().to_string()),
            Target::Event(e) => ("event", e.code().to_string()),
            Target::Ecmo => ("support", "ecmo".to_string()),
            Target::PatientColumn(c) => ("quantity", c.to_string()),
            Target::DerivedScore => ("score", "score".to_string()),
        };
        (code_system(kind), code.clone(), code.replace('_', " "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_mapping_parses_and_covers_every_drug() {
        let m = Mapping::builtin();
        for d in Drug::ALL {
            let (system, _, _) = m.coding_for(Target::Drug(d));
            assert!(system == RXNORM || system == ATC, "{d} has no RxNorm or ATC code");
        }
        assert_eq!(m.lookup(LOINC, "2524-7"), Some(Target::Quantity(Quantity::Lactate)));
        assert_eq!(m.lookup(SNOMED, "233573008"), Some(Target::Ecmo));
        assert_eq!(m.lookup(LOINC, "0000-0"), None);
        assert_eq!(m.unit_from_ucum("mm[Hg]"), "mmHg");
        assert_eq!(m.unit_from_ucum("mmol/L"), "mmol/L");
        assert_eq!(m.ucum_for(Unit::MmHg, None), "mm[Hg]");
        assert_eq!(m.ucum_for(Unit::Fraction, Some(Quantity::Fio2)), "1");
    }

    #[test]
    fn every_quantity_and_kind_has_an_export_code_that_reads_back() {
        let m = Mapping::builtin();
        let targets = Quantity::ALL
            .iter()
            .map(|q| Target::Quantity(*q))
            .chain(SupportKind::ALL.iter().map(|s| Target::Support(*s)))
            .chain(EventKind::ALL.iter().map(|e| Target::Event(*e)))
            .chain(Drug::ALL.iter().map(|d| Target::Drug(*d)))
            .chain([Target::Ecmo]);
        for t in targets {
            let (system, code, _) = m.coding_for(t);
            assert_eq!(m.lookup(&system, &code), Some(t), "{system}|{code}");
        }
        for u in Unit::ALL {
            let ucum = m.ucum_for(u, None);
            if u != Unit::Dimensionless {
                assert_eq!(m.unit_from_ucum(&ucum).parse::<Unit>(), Ok(u), "{ucum}");
            }
        }
    }

    #[test]
    fn a_broken_mapping_names_its_line() {
        let e = Mapping::parse("element,system,code,maps_to,display\nobservation,loinc,1-1,no_such,x\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.reason.contains("no_such"), "{}", e.reason);
    }
}
