//! Number and text formatting shared by the HTML and CSV outputs.

/// HTML/XML escape.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(ch),
        }
    }
    o
}

fn fixed(v: f64, d: usize) -> String {
    if v.is_nan() {
        return "-".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Inf".into() } else { "-Inf".into() };
    }
    let s = format!("{v:.d$}");
    // "-0.00" reads as a sign that is not there.
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') { s[1..].to_string() } else { s }
}

pub fn f1(v: f64) -> String {
    fixed(v, 1)
}
pub fn f2(v: f64) -> String {
    fixed(v, 2)
}
pub fn f3(v: f64) -> String {
    fixed(v, 3)
}

/// Up to four decimals, trailing zeros removed (ranges, cut-offs).
pub fn short(v: f64) -> String {
    let s = fixed(v, 4);
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// p as journals print it: "< 0.001" below 0.001, else three decimals.
pub fn p_value(p: f64) -> String {
    if p.is_nan() {
        "-".into()
    } else if p < 0.001 {
        "< 0.001".into()
    } else {
        fixed(p, 3)
    }
}

/// A CSV field (quoted when needed).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

/// Full-precision number for CSV (shortest round-trip form; empty for NaN). Very small and very
/// large magnitudes in scientific notation: Display would write a p of 1e-200 with 200 zeros.
pub fn num(v: f64) -> String {
    if v.is_nan() {
        String::new()
    } else if v != 0.0 && v.is_finite() && !(1e-5..1e15).contains(&v.abs()) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(p_value(0.0004), "< 0.001");
        assert_eq!(p_value(0.0123), "0.012");
        assert_eq!(f2(-0.001), "0.00");
        assert_eq!(esc("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(num(f64::NAN), "");
        assert_eq!(num(2.800037982367557e-196), "2.800037982367557e-196");
        assert_eq!(num(0.00012), "0.00012");
        assert_eq!(num(-3.5e20), "-3.5e20");
        assert_eq!(num(0.0), "0");
        for v in [1.234e-7, 6.02e23, 0.1 + 0.2] {
            assert_eq!(num(v).parse::<f64>().unwrap(), v);
        }
        assert_eq!(short(-102.71999999999998), "-102.72");
        assert_eq!(short(3.0), "3");
    }
}
