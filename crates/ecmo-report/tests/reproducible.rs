//! Same data => byte-identical report and tables, whatever order the runs arrive in.

mod common;

use ecmo_synth::Profile;

#[test]
fn same_data_gives_the_same_bytes() {
    let runs = common::runs(Profile::CsVis, 160, 5);
    let a = common::study("vis", &runs);
    let mut reversed = runs.clone();
    reversed.reverse();
    let b = common::study("vis", &reversed);
    assert_eq!(ecmo_report::render_html(&a), ecmo_report::render_html(&b));
    assert_eq!(ecmo_report::tables(&a), ecmo_report::tables(&b));
    assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
    // The default date is the data's own latest record, not the clock.
    assert_ne!(a.provenance.date, "no data");
    assert_eq!(a.provenance.date_rule, "date of the latest record in the data");
    // Different data => different fingerprint.
    let c = common::study("vis", &runs[1..]);
    assert_ne!(a.provenance.data_fingerprint, c.provenance.data_fingerprint);
}

#[test]
fn report_states_how_it_was_made() {
    let runs = common::runs(Profile::CsWeaning, 150, 6);
    let r = common::study("weaning", &runs);
    let html = ecmo_report::render_html(&r);
    for needle in [
        "ecmo-cds (ecmo) test",
        &format!("sha256:{}", r.provenance.data_fingerprint),
        "Rows dropped for missing data",
        "Every test that ran",
        "TRIPOD+AI checklist",
        "[model]",
        "selection = &quot;stepwise_aic&quot;",
        "<strong>Missing data:</strong> Complete-case analysis",
        "Selection stability",
        "Competing risks",
        "Decision curve",
    ] {
        assert!(html.contains(needle), "report lacks {needle}");
    }
    // Self-contained: no script, no external resource.
    assert!(!html.contains("<script"));
    assert!(
        !html.contains("http://")
            || html.matches("http://").count() == html.matches("http://www.w3.org/2000/svg").count()
    );
    assert!(!html.contains("https://"));
    for kind in ["flow", "forest", "calibration", "roc", "trajectory", "dca", "stability", "cif"] {
        assert!(html.contains(&format!("data-chart=\"{kind}\"")), "no {kind} chart");
    }
}
