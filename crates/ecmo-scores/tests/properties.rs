//! Property tests: VIS monotone in each dose, SOFA in 0..=24, APACHE II in 0..=71.

use ecmo_domain::{AdmissionType, Drug, Unit};
use ecmo_scores::apache::{Apache2Input, apache2};
use ecmo_scores::sofa::{PfSample, RespSupport, SofaInput, sofa};
use ecmo_scores::sofa2::{EcmoSupport, Sofa2Input, sofa2};
use ecmo_scores::vasoactive::{DoseSet, vis};
use ecmo_scores::{Measured, Options, VisVariant};
use proptest::prelude::*;

fn m(v: f64, u: Unit) -> Option<Measured> {
    Some(Measured::new(v, u))
}

fn doses(r: &[f64; 9]) -> DoseSet {
    let mut d = DoseSet::new(Some(75.0));
    for (i, drug) in Drug::ALL.iter().enumerate() {
        d = d.with(*drug, r[i]);
    }
    d
}

fn rates() -> impl Strategy<Value = [f64; 9]> {
    [0.0..1.0f64, 0.0..1.0, 0.0..20.0, 0.0..20.0, 0.0..0.75, 0.0..0.06, 0.0..0.2, 0.0..5.0, 0.0..80.0]
}

proptest! {
    #[test]
    fn vis_never_decreases_when_a_dose_increases(r in rates(), which in 0usize..9, extra in 0.0..1.0f64,
                                                  koponen in any::<bool>()) {
        let variant = if koponen { VisVariant::Koponen2019 } else { VisVariant::Gaies2010 };
        let o = Options::default();
        let before = vis(&doses(&r), variant, &o).unwrap().total.unwrap();
        let mut r2 = r;
        r2[which] += extra;
        let after = vis(&doses(&r2), variant, &o).unwrap().total.unwrap();
        prop_assert!(after >= before, "{before} -> {after}");
    }

    #[test]
    fn sofa_in_0_24(pf in 20.0..700.0f64, vent in 0u8..4, plt in 0.0..1000.0f64, bili in 0.0..60.0f64,
                    map in 0.0..200.0f64, gcs in 3u8..=15, creat in 0.1..20.0f64, uo in 0.0..8000.0f64,
                    r in rates(), assume in any::<bool>(), drop in 0u8..8) {
        let support = [RespSupport::None, RespSupport::Hfnc, RespSupport::Niv, RespSupport::Invasive][vent as usize];
        let mut i = SofaInput {
            pf: vec![PfSample::new(pf, Some(support))],
            platelets: m(plt, Unit::ThousandPerUl),
            bilirubin: m(bili, Unit::MgPerDl),
            map: m(map, Unit::MmHg),
            gcs: m(f64::from(gcs), Unit::Dimensionless),
            creatinine: m(creat, Unit::MgPerDl),
            urine_output_24h: m(uo, Unit::Ml),
            doses: doses(&r),
        };
        match drop { 0 => i.platelets = None, 1 => i.gcs = None, 2 => i.map = None, _ => {} }
        let res = sofa(&i, &Options { assume_normal: assume, ..Options::default() });
        if let Some(t) = res.total {
            prop_assert!((0.0..=24.0).contains(&t));
            prop_assert_eq!(t, res.components.iter().map(|c| c.points).sum::<f64>());
        } else {
            prop_assert!(!res.missing.is_empty());
        }
    }

    #[test]
    fn sofa2_in_0_24(pf in 20.0..700.0f64, plt in 0.0..1000.0f64, bili in 0.0..60.0f64, map in 0.0..200.0f64,
                     gcs in 3u8..=15, creat in 0.1..20.0f64, r in rates(), ecmo in 0u8..3, rrt in any::<bool>()) {
        let i = Sofa2Input {
            pf: vec![PfSample::new(pf, Some(RespSupport::Invasive))],
            platelets: m(plt, Unit::ThousandPerUl),
            bilirubin: m(bili, Unit::MgPerDl),
            map: m(map, Unit::MmHg),
            gcs: m(f64::from(gcs), Unit::Dimensionless),
            creatinine: m(creat, Unit::MgPerDl),
            doses: doses(&r),
            ecmo: [EcmoSupport::None, EcmoSupport::Vv, EcmoSupport::Va][ecmo as usize],
            rrt,
            ..Default::default()
        };
        let t = sofa2(&i, &Options::default()).total.unwrap();
        prop_assert!((0.0..=24.0).contains(&t));
    }

    #[test]
    fn apache2_in_0_71(temp in 10.0..46.0f64, map in 0.0..250.0f64, hr in 0.0..300.0f64, rr in 0.0..80.0f64,
                       fio2 in 0.21..1.0f64, pao2 in 5.0..800.0f64, paco2 in 5.0..200.0f64, ph in 6.3..8.0f64,
                       na in 90.0..200.0f64, k in 1.0..12.0f64, creat in 0.1..30.0f64, arf in any::<bool>(),
                       hct in 5.0..80.0f64, wbc in 0.0..500.0f64, gcs in 3u8..=15, age in 0.0..120.0f64,
                       chronic in any::<bool>(), adm in 0usize..3) {
        let i = Apache2Input {
            temperature: m(temp, Unit::Celsius),
            map: m(map, Unit::MmHg),
            heart_rate: m(hr, Unit::PerMin),
            resp_rate: m(rr, Unit::PerMin),
            fio2: m(fio2, Unit::Fraction),
            pao2: m(pao2, Unit::MmHg),
            paco2: m(paco2, Unit::MmHg),
            aado2: None,
            ph: m(ph, Unit::Dimensionless),
            bicarbonate: None,
            sodium: m(na, Unit::MmolPerL),
            potassium: m(k, Unit::MmolPerL),
            creatinine: m(creat, Unit::MgPerDl),
            acute_renal_failure: Some(arf),
            haematocrit: m(hct, Unit::Percent),
            wbc: m(wbc, Unit::ThousandPerUl),
            gcs: m(f64::from(gcs), Unit::Dimensionless),
            age: m(age, Unit::Years),
            chronic_health: Some(chronic),
            admission_type: Some(AdmissionType::ALL[adm]),
        };
        let t = apache2(&i, &Options::default()).total.unwrap();
        prop_assert!((0.0..=71.0).contains(&t), "{t}");
    }
}
