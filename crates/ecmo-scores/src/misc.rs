//! Small derived variables (spec §3): MAP, lactate clearance, fluid balance.

use crate::result::{Builder, Component, Measured, Options, ScoreError, ScoreResult};

/// MAP from systolic and diastolic pressure: (SBP + 2·DBP) / 3.
pub fn map_from_bp(sbp: f64, dbp: f64) -> Result<f64, ScoreError> {
    if dbp > sbp {
        return Err(ScoreError::Inconsistent {
            fields: "sbp, dbp".into(),
            rule: format!("diastolic {dbp} mmHg is above systolic {sbp} mmHg"),
        });
    }
    Ok((sbp + 2.0 * dbp) / 3.0)
}

/// MAP calculator result.
pub fn map_score(sbp: Option<&Measured>, dbp: Option<&Measured>, opts: &Options) -> Result<ScoreResult, ScoreError> {
    let mut b = Builder::new("map", "MAP = (SBP + 2*DBP)/3 = DBP + (SBP - DBP)/3", "any", opts.assume_normal);
    match (sbp, dbp) {
        (Some(s), Some(d)) => {
            let m = map_from_bp(s.value, d.value)?;
            b.add(Component::new("map", m).with_value(m, "mmHg").note(format!("{}/{} mmHg", s.value, d.value)));
        }
        (s, d) => {
            if s.is_none() {
                b.missing_required("sbp");
            }
            if d.is_none() {
                b.missing_required("dbp");
            }
        }
    }
    Ok(b.finish())
}

/// Lactate clearance (%) = (L0 − L1) / L0 × 100; positive is a fall.
pub fn lactate_clearance(l0: f64, l1: f64) -> Result<f64, ScoreError> {
    if l0 <= 0.0 {
        return Err(ScoreError::Undefined {
            what: "lactate clearance".into(),
            reason: format!("baseline lactate is {l0} mmol/L"),
        });
    }
    Ok((l0 - l1) / l0 * 100.0)
}

pub fn lactate_clearance_score(
    l0: Option<&Measured>,
    l1: Option<&Measured>,
    opts: &Options,
) -> Result<ScoreResult, ScoreError> {
    let mut b = Builder::new(
        "lactate_clearance",
        "(L_t0 - L_t1) / L_t0 * 100 %; undefined if L_t0 = 0",
        "any",
        opts.assume_normal,
    );
    match (l0, l1) {
        (Some(a), Some(z)) => {
            let c = lactate_clearance(a.value, z.value)?;
            b.add(
                Component::new("lactate_clearance", c)
                    .with_value(c, "%")
                    .note(format!("{:.2} -> {:.2} mmol/L", a.value, z.value)),
            );
        }
        (a, z) => {
            if a.is_none() {
                b.missing_required("lactate_t0");
            }
            if z.is_none() {
                b.missing_required("lactate_t1");
            }
        }
    }
    Ok(b.finish())
}

/// VIS reduction rate (%) = (VIS_start − VIS_24) / VIS_start × 100.
pub fn vis_reduction_rate(start: f64, later: f64) -> Result<f64, ScoreError> {
    if start <= 0.0 {
        return Err(ScoreError::Undefined {
            what: "VIS reduction rate".into(),
            reason: format!("VIS at the start is {start}; absolute change {:+}", later - start),
        });
    }
    Ok((start - later) / start * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_examples() {
        assert!((map_from_bp(100.0, 60.0).unwrap() - 73.333_333_333).abs() < 1e-6);
        assert_eq!(map_from_bp(85.0, 55.0).unwrap(), 65.0);
        assert!((map_from_bp(120.0, 80.0).unwrap() - 93.333_333_333).abs() < 1e-6);
        assert!(matches!(map_from_bp(60.0, 80.0), Err(ScoreError::Inconsistent { .. })));
    }

    #[test]
    fn lactate_examples() {
        assert!((lactate_clearance(12.0, 2.4).unwrap() - 80.0).abs() < 1e-9);
        assert!((lactate_clearance(4.0, 6.0).unwrap() + 50.0).abs() < 1e-9);
        assert!(matches!(lactate_clearance(0.0, 1.0), Err(ScoreError::Undefined { .. })));
    }

    #[test]
    fn vrr_examples() {
        // V6: (38.75 − 12.5)/38.75 = 67.7 %.
        let v = vis_reduction_rate(38.75, 12.5).unwrap();
        assert!((v - 67.741_935).abs() < 1e-5);
        // V7: start 0 → undefined with the absolute change.
        let e = vis_reduction_rate(0.0, 10.0).unwrap_err();
        assert!(e.to_string().contains("+10"), "{e}");
    }
}
