//! E-CPR scores and timing (spec §12): TiPS65.

use crate::cmp::{ge, le, lt};
use crate::result::{Builder, Component, Measured, Options, ScoreResult};
use ecmo_domain::{Rhythm, Unit};
use serde::Serialize;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Tips65Input {
    pub age: Option<Measured>,
    /// Minutes from emergency call to hospital arrival.
    pub call_to_arrival: Option<Measured>,
    /// Initial in-hospital pH.
    pub ph: Option<Measured>,
    /// Shockable rhythm on hospital arrival.
    pub shockable: Option<bool>,
}

/// Mean predicted probability of 1-month CPC 1–2 by score (external validation).
pub const TIPS65_PROBABILITY: [&str; 5] = ["1.6 %", "4.5 %", "12 %", "26.2 %", "48.8 %"];

const DEF: &str = "TiPS65 (Okada 2020): 1 point each for call-to-arrival <= 25 min, initial pH >= 7.0, shockable rhythm on arrival, age < 65; range 0-4";
const POP: &str = "OHCA with shockable rhythm treated with ECPR, JAAM-OHCA registry (Japan); outcome 1-month CPC 1-2";

pub fn tips65(i: &Tips65Input, opts: &Options) -> ScoreResult {
    let mut b = Builder::new("tips65", DEF, POP, opts.assume_normal);
    type Item<'a> = (&'a str, &'a Option<Measured>, fn(f64) -> bool, Unit);
    let items: [Item; 3] = [
        ("time_call_to_arrival_le_25", &i.call_to_arrival, |v| le(v, 25.0), Unit::Minutes),
        ("ph_ge_7_0", &i.ph, |v| ge(v, 7.0), Unit::Dimensionless),
        ("age_lt_65", &i.age, |v| lt(v.floor(), 65.0), Unit::Years),
    ];
    for (name, m, hit, unit) in items {
        match m {
            Some(v) => {
                b.add(Component::new(name, if hit(v.value) { 1.0 } else { 0.0 }).with_measured(v, v.value, unit))
            }
            None => {
                if b.missing(name) {
                    b.add(Component::new(name, 0.0).note("unknown, scored 0 at the caller's request"));
                }
            }
        }
    }
    match i.shockable {
        Some(s) => b.add(
            Component::new("shockable_rhythm", if s { 1.0 } else { 0.0 }).with_value(f64::from(u8::from(s)), "yes/no"),
        ),
        None => {
            if b.missing("shockable_rhythm") {
                b.add(Component::new("shockable_rhythm", 0.0));
            }
        }
    }
    let mut r = b.finish();
    if let Some(t) = r.total {
        let k = (t as usize).min(4);
        r.class = Some(format!("{k}"));
        r.risk = Some(format!("~{} predicted 1-month CPC 1-2 (model estimate)", TIPS65_PROBABILITY[k]));
    }
    r
}

/// Shockable flag from a rhythm code (`None` for unknown).
pub fn shockable(r: Rhythm) -> Option<bool> {
    r.shockable()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(v: f64, u: Unit) -> Option<Measured> {
        Some(Measured::new(v, u))
    }

    #[test]
    fn p1_p2_p3() {
        let p1 = Tips65Input {
            age: m(58.0, Unit::Years),
            call_to_arrival: m(22.0, Unit::Minutes),
            ph: m(6.95, Unit::Dimensionless),
            shockable: Some(true),
        };
        let r = tips65(&p1, &Options::default());
        assert_eq!(r.total, Some(3.0));
        assert!(r.risk.as_deref().unwrap().contains("26.2"));
        let p2 = Tips65Input {
            age: m(70.0, Unit::Years),
            call_to_arrival: m(30.0, Unit::Minutes),
            ph: m(7.05, Unit::Dimensionless),
            shockable: shockable(Rhythm::Pea),
        };
        assert_eq!(tips65(&p2, &Options::default()).total, Some(1.0));
        let p3 = Tips65Input {
            age: m(65.0, Unit::Years),
            call_to_arrival: m(25.0, Unit::Minutes),
            ph: m(7.00, Unit::Dimensionless),
            shockable: shockable(Rhythm::Vf),
        };
        let r = tips65(&p3, &Options::default());
        assert_eq!(r.total, Some(3.0));
        assert_eq!(r.points_of("age_lt_65"), Some(0.0));
        let unknown = Tips65Input { shockable: shockable(Rhythm::Unknown), ..p3 };
        assert_eq!(tips65(&unknown, &Options::default()).missing, vec!["shockable_rhythm"]);
    }
}
