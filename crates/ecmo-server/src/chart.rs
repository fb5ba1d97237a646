//! Inline SVG timelines (hand-written: a chart library would need JavaScript or
//! a large dependency for a few polylines). Scaled by `viewBox`, so they fill a
//! laptop screen or an ICU wall display alike.

use crate::pages::esc;
use crate::views::{Mark, Timeline};
use std::fmt::Write as _;

const W: f64 = 960.0;
const H: f64 = 150.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 24.0;

/// A "nice" tick step for a range split into about `n` parts (the study report's rule).
fn tick_step(span: f64, n: f64) -> f64 {
    ecmo_report::svg::nice_step((span / n).max(1e-9))
}

fn fmt_num(v: f64) -> String {
    if v.abs() >= 100.0 || v.fract().abs() < 1e-9 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}").trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// The hour range every chart of a page shares.
pub fn hour_range(timelines: &[Timeline], marks: &[Mark], latest: f64) -> (f64, f64) {
    let pts = timelines.iter().flat_map(|t| t.points.iter().map(|p| p[0]));
    let mks = marks.iter().map(|m| m.hours);
    let lo = pts.clone().chain(mks.clone()).fold(0.0f64, f64::min).max(-48.0);
    let hi = pts.chain(mks).fold(latest.max(1.0), f64::max);
    (lo, hi)
}

pub fn svg(t: &Timeline, marks: &[Mark], (x0, x1): (f64, f64)) -> String {
    let mut s = String::new();
    let title = format!("{} ({})", t.label, t.unit);
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{}"><title>{}</title>"#,
        esc(&title),
        esc(&title)
    );
    let ys: Vec<f64> = t.points.iter().map(|p| p[1]).collect();
    let (mut y0, mut y1) = ys.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), y| (a.min(*y), b.max(*y)));
    if !y0.is_finite() {
        (y0, y1) = (0.0, 1.0);
    }
    // Rates, scores, flows and lactate are read against zero; pressures and balances are not.
    if y0 >= 0.0 && t.key != "map" {
        y0 = 0.0;
    }
    if y1 - y0 < 1e-9 {
        y1 = y0 + 1.0;
    }
    let ystep = tick_step(y1 - y0, 4.0);
    y0 = (y0 / ystep).floor() * ystep;
    y1 = (y1 / ystep).ceil() * ystep;
    let xs = |h: f64| LEFT + (h - x0) / (x1 - x0).max(1e-9) * (W - LEFT - RIGHT);
    let ypx = |v: f64| TOP + (1.0 - (v - y0) / (y1 - y0)) * (H - TOP - BOTTOM);
    // Grid and axes.
    let mut v = y0;
    while v <= y1 + ystep * 0.01 {
        let y = ypx(v);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}"/><text class="tick" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            W - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            fmt_num(v)
        );
        v += ystep;
    }
    let xstep = tick_step(x1 - x0, 10.0).max(1.0);
    let mut h = (x0 / xstep).ceil() * xstep;
    while h <= x1 {
        // Avoid "-0 h" from floating-point steps.
        let h0 = if h.abs() < 1e-9 { 0.0 } else { h };
        let x = xs(h0);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{}"/><text class="tick" x="{x:.1}" y="{}" text-anchor="middle">{}{} h</text>"#,
            H - BOTTOM,
            H - 8.0,
            if h0 > 0.0 { "+" } else { "" },
            fmt_num(h0)
        );
        h += xstep;
    }
    for m in marks {
        let x = xs(m.hours);
        let _ = write!(
            s,
            r#"<line class="mark mark-{}" x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{}"><title>{} at {} h</title></line>"#,
            esc(&m.kind),
            H - BOTTOM,
            esc(&m.label),
            fmt_num(m.hours)
        );
    }
    if t.points.is_empty() {
        let _ = write!(
            s,
            r#"<text class="empty" x="{}" y="{}" text-anchor="middle">not recorded</text>"#,
            W / 2.0,
            H / 2.0
        );
    } else {
        let mut d = String::new();
        let mut prev: Option<f64> = None;
        for p in &t.points {
            let (x, y) = (xs(p[0]), ypx(p[1]));
            match prev {
                None => {
                    let _ = write!(d, "M{x:.1},{y:.1}");
                }
                Some(py) if t.step => {
                    let _ = write!(d, " H{x:.1} V{y:.1}");
                    let _ = py;
                }
                Some(_) => {
                    let _ = write!(d, " L{x:.1},{y:.1}");
                }
            }
            prev = Some(y);
        }
        if t.step {
            let _ = write!(d, " H{:.1}", xs(x1));
        }
        let _ = write!(s, r#"<path class="line" d="{d}"/>"#);
        // Sparse series (lactate) get a dot per sample so single values are visible.
        if t.points.len() <= 60 && !t.step {
            for p in &t.points {
                let _ = write!(
                    s,
                    r#"<circle class="dot" cx="{:.1}" cy="{:.1}" r="3"><title>{} {} at {} h</title></circle>"#,
                    xs(p[0]),
                    ypx(p[1]),
                    fmt_num(p[1]),
                    esc(&t.unit),
                    fmt_num(p[0])
                );
            }
        }
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ticks() {
        assert_eq!(tick_step(100.0, 4.0), 50.0);
        assert_eq!(tick_step(7.0, 4.0), 2.0);
        assert_eq!(tick_step(0.3, 4.0), 0.1);
    }

    #[test]
    fn chart_escapes_labels_and_draws_steps() {
        let t = Timeline {
            key: "vis".into(),
            label: "VIS <x>".into(),
            unit: "points".into(),
            step: true,
            points: vec![[0.0, 10.0], [5.0, 20.0]],
        };
        let s = svg(&t, &[], (0.0, 10.0));
        assert!(s.contains("VIS &lt;x&gt;"));
        assert!(s.contains(" H") && s.contains(" V"));
    }
}
