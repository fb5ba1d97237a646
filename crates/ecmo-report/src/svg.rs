//! Hand-written SVG charts (no charting crate draws numbers-at-risk tables, forest plots
//! or flow diagrams the way a journal wants them; the shapes here are simple).
//! Every chart is a `<svg>` element with a `data-chart` attribute naming its kind, and
//! numbers are printed with fixed precision so the output is byte-stable.

use crate::fmt::{esc, f2, f3, p_value};
use ecmo_stats::calibration::CalibrationBin;
use ecmo_stats::competing::CifCurve;
use ecmo_stats::stability::SelectionStability;
use ecmo_study::cohort::Flow;
use ecmo_study::result::{
    CompetingRisksSection, DecisionCurveSection, EventFreeCurve, KmCurve, OddsRatio, RocCurve, SurvivalSection,
    Trajectory,
};
use std::fmt::Write;

/// Okabe-Ito colours (distinguishable with colour-vision deficiency).
pub const COLOURS: [&str; 7] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"];
const FONT: &str = "font-family=\"Helvetica, Arial, sans-serif\"";

fn c(v: f64) -> String {
    format!("{v:.1}")
}

/// A rectangular plotting area mapping data to pixels.
struct Area {
    left: f64,
    top: f64,
    width: f64,
    height: f64,
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
    log_x: bool,
}

impl Area {
    fn x(&self, v: f64) -> f64 {
        let (v, a, b) = if self.log_x { (v.ln(), self.x0.ln(), self.x1.ln()) } else { (v, self.x0, self.x1) };
        self.left + (v - a) / (b - a) * self.width
    }
    fn y(&self, v: f64) -> f64 {
        self.top + self.height - (v - self.y0) / (self.y1 - self.y0) * self.height
    }
    /// The dashed line of no discrimination / perfect calibration on a unit square.
    fn diagonal(&self, s: &mut String) {
        let _ = write!(
            s,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#aaa\" stroke-dasharray=\"4,4\"/>",
            c(self.x(0.0)),
            c(self.y(0.0)),
            c(self.x(1.0)),
            c(self.y(1.0))
        );
    }

    fn frame(
        &self,
        s: &mut String,
        xlabel: &str,
        ylabel: &str,
        xticks: &[f64],
        yticks: &[f64],
        xfmt: &dyn Fn(f64) -> String,
    ) {
        let (l, t, w, h) = (self.left, self.top, self.width, self.height);
        let _ = write!(
            s,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#444\"/>",
            c(l),
            c(t),
            c(w),
            c(h)
        );
        for &v in xticks {
            let x = self.x(v);
            let _ = write!(
                s,
                "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#444\"/><text x=\"{0}\" y=\"{3}\" font-size=\"11\" text-anchor=\"middle\" {FONT}>{4}</text>",
                c(x),
                c(t + h),
                c(t + h + 4.0),
                c(t + h + 16.0),
                esc(&xfmt(v))
            );
        }
        for &v in yticks {
            let y = self.y(v);
            let _ = write!(
                s,
                "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#444\"/><text x=\"{3}\" y=\"{4}\" font-size=\"11\" text-anchor=\"end\" {FONT}>{5}</text>",
                c(l - 4.0),
                c(y),
                c(l),
                c(l - 6.0),
                c(y + 4.0),
                esc(&trim(v))
            );
        }
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\" {FONT}>{}</text>",
            c(l + w / 2.0),
            c(t + h + 32.0),
            esc(xlabel)
        );
        let _ = write!(
            s,
            "<text transform=\"translate({},{}) rotate(-90)\" font-size=\"12\" text-anchor=\"middle\" {FONT}>{}</text>",
            c(l - 40.0),
            c(t + h / 2.0),
            esc(ylabel)
        );
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" { "0".into() } else { s.to_string() }
}

fn open(kind: &str, w: f64, h: f64, title: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" data-chart=\"{kind}\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{}\"><title>{}</title><rect width=\"{w}\" height=\"{h}\" fill=\"#fff\"/>",
        esc(title),
        esc(title)
    )
}

fn polyline(points: &[(f64, f64)], colour: &str, width: f64, dash: bool) -> String {
    let mut p = String::new();
    for (i, (x, y)) in points.iter().enumerate() {
        if i > 0 {
            p.push(' ');
        }
        let _ = write!(p, "{},{}", c(*x), c(*y));
    }
    let dash = if dash { " stroke-dasharray=\"5,3\"" } else { "" };
    format!(
        "<polyline data-series=\"1\" points=\"{p}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"{width}\"{dash}/>"
    )
}

fn legend(s: &mut String, x: f64, y: f64, items: &[(String, &str)]) {
    for (i, (label, colour)) in items.iter().enumerate() {
        let yy = y + i as f64 * 16.0;
        let _ = write!(
            s,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{colour}\" stroke-width=\"2.5\"/><text x=\"{}\" y=\"{}\" font-size=\"11\" {FONT}>{}</text>",
            c(x),
            c(yy),
            c(x + 18.0),
            c(yy),
            c(x + 22.0),
            c(yy + 4.0),
            esc(label)
        );
    }
}

const TICKS01: [f64; 6] = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0];

/// ROC curves with AUC and 95 % CI in the legend.
pub fn roc_chart(curves: &[RocCurve]) -> String {
    let legend_h = 16.0 * curves.len() as f64;
    let (w, h) = (520.0, 470.0 + legend_h);
    let mut s = open("roc", w, h, "ROC curves");
    let a =
        Area { left: 60.0, top: 15.0, width: 400.0, height: 400.0, x0: 0.0, x1: 1.0, y0: 0.0, y1: 1.0, log_x: false };
    a.frame(&mut s, "1 - specificity", "sensitivity", &TICKS01, &TICKS01, &|v| trim(v));
    a.diagonal(&mut s);
    let mut items = Vec::new();
    for (i, cv) in curves.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let pts: Vec<(f64, f64)> = cv.points.iter().map(|(x, y)| (a.x(*x), a.y(*y))).collect();
        s.push_str(&polyline(&pts, colour, 2.0, cv.name == "model"));
        items.push((format!("{}: AUC {} (95 % CI {}-{})", cv.name, f3(cv.auc), f3(cv.ci_low), f3(cv.ci_high)), colour));
    }
    legend(&mut s, 60.0, 460.0, &items);
    s.push_str("</svg>");
    s
}

/// Kaplan-Meier curves with the numbers at risk under the x axis.
pub fn km_chart(sec: &SurvivalSection) -> String {
    let rows = sec.curves.len() as f64;
    let (w, h) = (620.0, 400.0 + 18.0 * rows + 40.0);
    let mut s = open("km", w, h, "Kaplan-Meier survival");
    let a = Area {
        left: 150.0,
        top: 15.0,
        width: 420.0,
        height: 300.0,
        x0: 0.0,
        x1: sec.horizon_days,
        y0: 0.0,
        y1: 1.0,
        log_x: false,
    };
    a.frame(&mut s, "days after ECMO flow start", "survival probability", &sec.at_risk_times, &TICKS01, &|v| {
        format!("{v:.0}")
    });
    let mut items = Vec::new();
    for (i, cv) in sec.curves.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        s.push_str(&polyline(&km_points(cv, &a, sec.horizon_days), colour, 2.0, false));
        items.push((
            format!("{} (n = {}): {} at {:.0} days", cv.name, cv.n, f3(cv.surv_at_horizon), sec.horizon_days),
            colour,
        ));
    }
    legend(&mut s, 160.0, 30.0, &items);
    let y0 = 15.0 + 300.0 + 50.0;
    let _ =
        write!(s, "<text x=\"10\" y=\"{}\" font-size=\"11\" font-weight=\"bold\" {FONT}>Number at risk</text>", c(y0));
    for (i, (cv, counts)) in sec.curves.iter().zip(&sec.at_risk).enumerate() {
        let y = y0 + 18.0 * (i as f64 + 1.0);
        let colour = COLOURS[i % COLOURS.len()];
        let _ = write!(
            s,
            "<text x=\"10\" y=\"{}\" font-size=\"11\" fill=\"{colour}\" {FONT}>{}</text>",
            c(y),
            esc(&cv.name)
        );
        for (t, n) in sec.at_risk_times.iter().zip(counts) {
            let _ = write!(
                s,
                "<text data-at-risk=\"1\" x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\" {FONT}>{n}</text>",
                c(a.x(*t)),
                c(y)
            );
        }
    }
    s.push_str("</svg>");
    s
}

fn km_points(cv: &KmCurve, a: &Area, horizon: f64) -> Vec<(f64, f64)> {
    let mut pts = vec![(a.x(0.0), a.y(1.0))];
    let mut last = 1.0;
    for st in &cv.steps {
        if st.time > horizon {
            break;
        }
        pts.push((a.x(st.time), a.y(last)));
        pts.push((a.x(st.time), a.y(st.surv)));
        last = st.surv;
    }
    pts.push((a.x(horizon), a.y(last)));
    pts
}

/// One row of a forest plot.
pub struct ForestRow {
    pub label: String,
    pub estimate: Option<(f64, f64, f64)>,
    pub right: String,
}

impl ForestRow {
    pub fn from_or(o: &OddsRatio) -> ForestRow {
        let per = if o.per != 1.0 { format!(" (per {} {})", trim(o.per), o.unit) } else { String::new() };
        ForestRow {
            label: format!("{}{per}", o.term),
            estimate: Some((o.odds_ratio, o.ci_low, o.ci_high)),
            right: format!("{} ({}-{}), p {}", f2(o.odds_ratio), f2(o.ci_low), f2(o.ci_high), p_value(o.p)),
        }
    }
}

/// Forest plot of odds ratios on a log axis.
pub fn forest_plot(kind: &str, title: &str, rows: &[ForestRow]) -> String {
    let (w, h) = (820.0, 70.0 + 22.0 * rows.len() as f64);
    let mut s = open(kind, w, h, title);
    let finite: Vec<f64> = rows
        .iter()
        .filter_map(|r| r.estimate)
        .flat_map(|(e, l, u)| [e, l, u])
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    let lo = finite.iter().copied().fold(1.0f64, f64::min).max(1e-3) / 1.2;
    let hi = finite.iter().copied().fold(1.0f64, f64::max).min(1e3) * 1.2;
    let a = Area {
        left: 270.0,
        top: 10.0,
        width: 330.0,
        height: 22.0 * rows.len() as f64,
        x0: lo,
        x1: hi,
        y0: 0.0,
        y1: rows.len() as f64,
        log_x: true,
    };
    let ticks: Vec<f64> = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0]
        .into_iter()
        .filter(|t| *t >= lo && *t <= hi)
        .collect();
    a.frame(&mut s, "odds ratio (log scale)", "", &ticks, &[], &|v| trim(v));
    let _ = write!(
        s,
        "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#888\" stroke-dasharray=\"3,3\"/>",
        c(a.x(1.0)),
        c(a.top),
        c(a.top + a.height)
    );
    for (i, r) in rows.iter().enumerate() {
        let y = a.top + 22.0 * i as f64 + 11.0;
        let _ = write!(s, "<text x=\"6\" y=\"{}\" font-size=\"11\" {FONT}>{}</text>", c(y + 4.0), esc(&r.label));
        let _ = write!(s, "<text x=\"610\" y=\"{}\" font-size=\"11\" {FONT}>{}</text>", c(y + 4.0), esc(&r.right));
        if let Some((e, l, u)) = r.estimate
            && e.is_finite()
            && e > 0.0
        {
            let cl = |v: f64| a.x(v.clamp(lo, hi));
            let _ = write!(
                s,
                "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#000\" stroke-width=\"1.5\"/><rect data-estimate=\"1\" x=\"{3}\" y=\"{4}\" width=\"8\" height=\"8\" fill=\"{5}\"/>",
                c(cl(l)),
                c(y),
                c(cl(u)),
                c(cl(e) - 4.0),
                c(y - 4.0),
                COLOURS[0]
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// Calibration plot: observed proportion against mean predicted risk per bin, with Wilson CIs.
pub fn calibration_plot(bins: &[CalibrationBin]) -> String {
    let (w, h) = (500.0, 470.0);
    let mut s = open("calibration", w, h, "Calibration");
    let a =
        Area { left: 60.0, top: 15.0, width: 400.0, height: 400.0, x0: 0.0, x1: 1.0, y0: 0.0, y1: 1.0, log_x: false };
    a.frame(&mut s, "predicted probability", "observed proportion", &TICKS01, &TICKS01, &|v| trim(v));
    a.diagonal(&mut s);
    let pts: Vec<(f64, f64)> = bins.iter().map(|b| (a.x(b.mean_predicted), a.y(b.observed))).collect();
    s.push_str(&polyline(&pts, COLOURS[0], 1.5, false));
    for b in bins {
        let x = a.x(b.mean_predicted);
        let _ = write!(
            s,
            "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"{3}\"/><circle data-bin=\"1\" cx=\"{0}\" cy=\"{4}\" r=\"4\" fill=\"{3}\"/>",
            c(x),
            c(a.y(b.ci_low)),
            c(a.y(b.ci_high)),
            COLOURS[0],
            c(a.y(b.observed))
        );
    }
    s.push_str("</svg>");
    s
}

/// Medians and interquartile ranges over time by outcome group.
pub fn trajectory_chart(t: &Trajectory) -> String {
    let (w, h) = (560.0, 400.0);
    let title = format!("{} over the first 72 h by outcome", t.quantity);
    let mut s = open("trajectory", w, h, &title);
    let ymax = t.groups.iter().flat_map(|g| g.points.iter().filter_map(|p| p.q3)).fold(0.0f64, f64::max).max(1.0);
    let ystep = nice_step(ymax / 5.0);
    let ytop = (ymax / ystep).ceil() * ystep;
    let yticks: Vec<f64> = (0..=((ytop / ystep).round() as usize)).map(|k| k as f64 * ystep).collect();
    let a =
        Area { left: 60.0, top: 15.0, width: 460.0, height: 300.0, x0: 0.0, x1: 72.0, y0: 0.0, y1: ytop, log_x: false };
    let xticks: Vec<f64> = ecmo_study::TRAJECTORY_HOURS.to_vec();
    a.frame(
        &mut s,
        "hours after ECMO flow start",
        &format!("{} ({}), median and IQR", t.quantity, t.unit),
        &xticks,
        &yticks,
        &|v| format!("{v:.0}"),
    );
    let mut items = Vec::new();
    for (i, g) in t.groups.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let pts: Vec<&ecmo_study::result::TrajectoryPoint> = g.points.iter().filter(|p| p.median.is_some()).collect();
        if pts.is_empty() {
            continue;
        }
        let mut band = String::new();
        for p in &pts {
            let _ = write!(band, "{},{} ", c(a.x(p.hour)), c(a.y(p.q3.unwrap_or(0.0))));
        }
        for p in pts.iter().rev() {
            let _ = write!(band, "{},{} ", c(a.x(p.hour)), c(a.y(p.q1.unwrap_or(0.0))));
        }
        let _ = write!(
            s,
            "<polygon points=\"{}\" fill=\"{colour}\" fill-opacity=\"0.15\" stroke=\"none\"/>",
            band.trim_end()
        );
        let line: Vec<(f64, f64)> = pts.iter().map(|p| (a.x(p.hour), a.y(p.median.unwrap_or(0.0)))).collect();
        s.push_str(&polyline(&line, colour, 2.0, false));
        let n0 = pts.first().map_or(0, |p| p.n);
        items.push((format!("{} (n = {n0} at {:.0} h)", g.name, pts[0].hour), colour));
    }
    legend(&mut s, 70.0, 370.0, &items);
    s.push_str("</svg>");
    s
}

/// Net benefit against the threshold probability: each model, treat all (grey) and treat none
/// (black, 0). Lines below the axis are clipped, as decision curves are usually drawn.
pub fn decision_curve_chart(sec: &DecisionCurveSection) -> String {
    let dc = &sec.curve;
    let legend_h = 16.0 * (dc.models.len() + 2) as f64;
    let (w, h) = (560.0, 390.0 + legend_h);
    let mut s = open("dca", w, h, "Decision curve");
    let x0 = dc.thresholds.first().copied().unwrap_or(0.0);
    let x1 = dc.thresholds.last().copied().unwrap_or(1.0);
    let top = dc.models.iter().flat_map(|m| m.net_benefit.iter()).copied().fold(dc.prevalence, f64::max);
    let ystep = nice_step((top / 5.0).max(1e-3));
    let ytop = (top / ystep).ceil() * ystep;
    let ybottom = -ystep;
    let a = Area { left: 70.0, top: 15.0, width: 440.0, height: 300.0, x0, x1, y0: ybottom, y1: ytop, log_x: false };
    let yticks: Vec<f64> =
        (0..=((ytop - ybottom) / ystep).round() as usize).map(|k| ybottom + k as f64 * ystep).collect();
    let xticks: Vec<f64> = (0..=10).map(|k| k as f64 / 10.0).filter(|t| *t >= x0 - 1e-9 && *t <= x1 + 1e-9).collect();
    a.frame(&mut s, "threshold probability", "net benefit", &xticks, &yticks, &|v| trim(v));
    let _ = write!(
        s,
        "<defs><clipPath id=\"dca-clip\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/></clipPath></defs><g clip-path=\"url(#dca-clip)\">",
        c(a.left),
        c(a.top),
        c(a.width),
        c(a.height)
    );
    let line =
        |v: &[f64]| -> Vec<(f64, f64)> { dc.thresholds.iter().zip(v).map(|(t, y)| (a.x(*t), a.y(*y))).collect() };
    s.push_str(&polyline(&line(&dc.treat_all), "#999999", 1.5, false));
    s.push_str(&polyline(&line(&dc.treat_none), "#000000", 1.5, false));
    let mut items = vec![
        (format!("treat all (prevalence {})", f3(dc.prevalence)), "#999999"),
        ("treat none".to_string(), "#000000"),
    ];
    for (i, m) in dc.models.iter().enumerate() {
        let colour = COLOURS[i % (COLOURS.len() - 1)];
        s.push_str(&polyline(&line(&m.net_benefit), colour, 2.0, m.name == "model"));
        let auc =
            sec.models.iter().find(|x| x.name == m.name).map_or(String::new(), |x| format!(" (AUC {})", f3(x.auc)));
        items.push((format!("{}{auc}", m.name), colour));
    }
    s.push_str("</g>");
    legend(&mut s, 70.0, 370.0, &items);
    s.push_str("</svg>");
    s
}

/// At most this many steps per cumulative-incidence curve in the chart (all are in the CSV).
const MAX_STEPS: usize = 300;

fn thin<T: Clone>(v: &[T]) -> Vec<T> {
    if v.len() <= MAX_STEPS {
        return v.to_vec();
    }
    let step = v.len().div_ceil(MAX_STEPS);
    let mut out: Vec<T> = v.iter().step_by(step).cloned().collect();
    if let Some(last) = v.last() {
        out.push(last.clone());
    }
    out
}

/// A right-continuous step function from (0, start) through `points` to `end`.
fn steps(points: &[(f64, f64)], start: f64, end: f64, a: &Area) -> Vec<(f64, f64)> {
    let mut out = vec![(a.x(0.0), a.y(start))];
    let mut last = start;
    for &(t, v) in points {
        if t > end {
            break;
        }
        out.push((a.x(t), a.y(last)));
        out.push((a.x(t), a.y(v)));
        last = v;
    }
    out.push((a.x(end), a.y(last)));
    out
}

/// Cumulative incidence of every cause in one group: step functions with their 95 % CIs
/// dashed, and the Kaplan-Meier probability of being free of every cause in grey (the curves
/// and the grey line add up to 1 at every time).
pub fn cif_chart(sec: &CompetingRisksSection, group: &str) -> String {
    let curves: Vec<&CifCurve> = sec.incidence.curves.iter().filter(|c| c.group == group).collect();
    let free: Option<&EventFreeCurve> = sec.event_free.iter().find(|e| e.group == group);
    let legend_h = 16.0 * (curves.len() + 1) as f64;
    let (w, h) = (560.0, 410.0 + legend_h);
    let mut s = open("cif", w, h, &format!("Cumulative incidence: {group}"));
    let _ = write!(s, "<text x=\"60\" y=\"14\" font-size=\"12\" font-weight=\"bold\" {FONT}>{}</text>", esc(group));
    let tmax = sec
        .incidence
        .curves
        .iter()
        .flat_map(|c| c.points.last().map(|p| p.time))
        .chain(sec.event_free.iter().flat_map(|e| e.steps.last().map(|p| p.time)))
        .fold(0.0f64, f64::max)
        .max(1.0);
    let xstep = nice_step(tmax / 6.0);
    let xend = (tmax / xstep).ceil() * xstep;
    let a =
        Area { left: 60.0, top: 25.0, width: 460.0, height: 300.0, x0: 0.0, x1: xend, y0: 0.0, y1: 1.0, log_x: false };
    let xticks: Vec<f64> = (0..=((xend / xstep).round() as usize)).map(|k| k as f64 * xstep).collect();
    let unit = if sec.time_unit.is_empty() { String::new() } else { format!(" ({})", sec.time_unit) };
    a.frame(&mut s, &format!("{}{unit}", sec.time), "cumulative incidence", &xticks, &TICKS01, &|v| trim(v));
    // Curves stop at the group's last follow-up (the Kaplan-Meier table lists censoring times too).
    let last = free
        .and_then(|f| f.steps.last().map(|p| p.time))
        .into_iter()
        .chain(curves.iter().filter_map(|c| c.points.last().map(|p| p.time)))
        .fold(0.0f64, f64::max);
    let mut items = Vec::new();
    for cv in &curves {
        let colour = COLOURS[(cv.cause as usize - 1) % (COLOURS.len() - 1)];
        let pts = thin(&cv.points);
        let est: Vec<(f64, f64)> = pts.iter().map(|p| (p.time, p.estimate)).collect();
        let lo: Vec<(f64, f64)> = pts.iter().map(|p| (p.time, p.ci_low)).collect();
        let hi: Vec<(f64, f64)> = pts.iter().map(|p| (p.time, p.ci_high)).collect();
        s.push_str(&polyline(&steps(&est, 0.0, last, &a), colour, 2.0, false));
        for band in [&lo, &hi] {
            let _ = write!(
                s,
                "{}",
                polyline(&steps(band, 0.0, last, &a), colour, 0.8, true).replace("data-series=\"1\" ", "")
            );
        }
        let last = cv.points.last().map_or(0.0, |p| p.estimate);
        items.push((format!("{}: {} events, {} at the last event", cv.cause_name, cv.events, f3(last)), colour));
    }
    if let Some(f) = free {
        let pts: Vec<(f64, f64)> = thin(&f.steps).iter().map(|p| (p.time, p.surv)).collect();
        s.push_str(&polyline(&steps(&pts, 1.0, last, &a), "#999999", 1.5, false));
        items.push(("free of every cause (Kaplan-Meier)".to_string(), "#999999"));
    }
    legend(&mut s, 70.0, 390.0, &items);
    s.push_str("</svg>");
    s
}

/// How often each candidate was selected across bootstrap resamples (bars; darker = in the
/// model selected on the full data).
pub fn stability_chart(st: &SelectionStability) -> String {
    let n = st.terms.len() as f64;
    let (w, h) = (700.0, 70.0 + 24.0 * n);
    let mut s = open("stability", w, h, "Selection stability");
    let a =
        Area { left: 240.0, top: 10.0, width: 360.0, height: 24.0 * n, x0: 0.0, x1: 1.0, y0: 0.0, y1: n, log_x: false };
    a.frame(&mut s, "proportion of bootstrap resamples selecting the term", "", &TICKS01, &[], &|v| trim(v));
    for (i, t) in st.terms.iter().enumerate() {
        let y = a.top + 24.0 * i as f64;
        let colour = if t.selected_on_full_data { COLOURS[0] } else { COLOURS[5] };
        let _ = write!(
            s,
            "<text x=\"6\" y=\"{}\" font-size=\"11\" {FONT}>{}</text><rect data-estimate=\"1\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"16\" fill=\"{colour}\"/><text x=\"{}\" y=\"{}\" font-size=\"11\" {FONT}>{} ({}/{})</text>",
            c(y + 16.0),
            esc(&t.term),
            c(a.x(0.0)),
            c(y + 4.0),
            c(a.x(t.proportion) - a.x(0.0)),
            c(a.x(1.0) + 6.0),
            c(y + 16.0),
            f2(t.proportion),
            t.selected,
            st.successful
        );
    }
    s.push_str("</svg>");
    s
}

/// A "nice" axis step (1, 2 or 5 times a power of ten) at or above `raw`; also used by the web charts.
pub fn nice_step(raw: f64) -> f64 {
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// CONSORT-like flow: runs read, each exclusion step, included, outcome groups.
pub fn flow_diagram(flow: &Flow) -> String {
    let n = flow.steps.len() as f64;
    let (w, h) = (760.0, 90.0 + 80.0 * n + 90.0);
    let mut s = open("flow", w, h, "Flow of runs");
    let boxed = |s: &mut String, x: f64, y: f64, bw: f64, lines: &[String]| {
        let bh = 14.0 * lines.len() as f64 + 12.0;
        let _ = write!(
            s,
            "<rect data-box=\"1\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#f4f8fb\" stroke=\"#335\"/>",
            c(x),
            c(y),
            c(bw),
            c(bh)
        );
        for (i, l) in lines.iter().enumerate() {
            let _ = write!(
                s,
                "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\" {FONT}>{}</text>",
                c(x + bw / 2.0),
                c(y + 18.0 + 14.0 * i as f64),
                esc(l)
            );
        }
        bh
    };
    let arrow = |s: &mut String, x1: f64, y1: f64, x2: f64, y2: f64| {
        let _ = write!(
            s,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#335\" marker-end=\"url(#arr)\"/>",
            c(x1),
            c(y1),
            c(x2),
            c(y2)
        );
    };
    s.push_str("<defs><marker id=\"arr\" markerWidth=\"8\" markerHeight=\"8\" refX=\"7\" refY=\"4\" orient=\"auto\"><path d=\"M0,0 L8,4 L0,8 z\" fill=\"#335\"/></marker></defs>");
    let cx = 40.0;
    let bw = 260.0;
    let mut y = 10.0;
    let bh = boxed(&mut s, cx, y, bw, &[format!("{} ECMO runs in the registry", flow.total)]);
    y += bh;
    for st in &flow.steps {
        let mid = y + 30.0;
        arrow(&mut s, cx + bw / 2.0, y, cx + bw / 2.0, y + 60.0);
        arrow(&mut s, cx + bw / 2.0, mid, 360.0, mid);
        let reason = wrap(&st.reason, 52);
        let mut lines = vec![format!("excluded: {}", st.excluded)];
        lines.extend(reason);
        boxed(&mut s, 360.0, mid - 14.0, 380.0, &lines);
        y += 60.0;
        let bh = boxed(&mut s, cx, y, bw, &[format!("{} runs remain", st.remaining)]);
        y += bh;
    }
    arrow(&mut s, cx + bw / 2.0, y, cx + bw / 2.0, y + 30.0);
    y += 30.0;
    let half = (bw - 10.0) / 2.0;
    boxed(&mut s, cx, y, half, &[flow.event_label.clone(), format!("n = {}", flow.events)]);
    boxed(&mut s, cx + half + 10.0, y, half, &[flow.non_event_label.clone(), format!("n = {}", flow.non_events)]);
    s.push_str("</svg>");
    s
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        if !cur.is_empty() && cur.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_and_wrapping() {
        assert_eq!(nice_step(3.2), 5.0);
        assert_eq!(nice_step(0.13), 0.2);
        assert_eq!(wrap("a bb ccc dddd", 6), vec!["a bb", "ccc", "dddd"]);
        assert_eq!(trim(0.5), "0.5");
        assert_eq!(trim(1.0), "1");
    }
}
