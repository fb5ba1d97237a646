#![allow(dead_code)]
//! Shared helpers for the golden-file tests.

pub mod birthwt;

use serde_json::Value;

pub fn golden(name: &str) -> Value {
    let path = format!("{}/../../../shared/golden/{}", env!("CARGO_MANIFEST_DIR"), name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    serde_json::from_str(&text).expect("golden JSON parses")
}

pub fn csv(name: &str) -> (Vec<String>, Vec<Vec<String>>) {
    csv_at(&format!("{}/../../../shared/golden/{}", env!("CARGO_MANIFEST_DIR"), name))
}

/// Reference output of a script in this crate's `tests/golden/` (issue 9 methods).
pub fn local_golden(name: &str) -> Value {
    let path = format!("{}/tests/golden/{}", env!("CARGO_MANIFEST_DIR"), name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    serde_json::from_str(&text).expect("golden JSON parses")
}

/// A data file in this crate's `tests/golden/`.
pub fn local_csv(name: &str) -> (Vec<String>, Vec<Vec<String>>) {
    csv_at(&format!("{}/tests/golden/{}", env!("CARGO_MANIFEST_DIR"), name))
}

fn csv_at(path: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(|s| s.to_string()).collect();
    let rows = lines.filter(|l| !l.is_empty()).map(|l| l.split(',').map(|s| s.to_string()).collect()).collect();
    (header, rows)
}

/// Numeric column of a CSV (NA -> NaN).
pub fn csv_col(data: &(Vec<String>, Vec<Vec<String>>), name: &str) -> Vec<f64> {
    let j = data.0.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"));
    data.1.iter().map(|r| if r[j] == "NA" { f64::NAN } else { r[j].parse().unwrap() }).collect()
}

pub fn csv_str(data: &(Vec<String>, Vec<Vec<String>>), name: &str) -> Vec<String> {
    let j = data.0.iter().position(|h| h == name).unwrap();
    data.1.iter().map(|r| r[j].clone()).collect()
}

/// JSON number, with "Inf"/"-Inf"/"NaN" strings and null -> NaN.
pub fn num(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap(),
        Value::String(s) if s == "Inf" => f64::INFINITY,
        Value::String(s) if s == "-Inf" => f64::NEG_INFINITY,
        Value::String(s) if s == "NaN" => f64::NAN,
        Value::Null => f64::NAN,
        other => panic!("not a number: {other}"),
    }
}

pub fn nums(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(a) => a.iter().map(num).collect(),
        other => vec![num(other)],
    }
}

pub fn strs(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().map(|s| s.as_str().unwrap().to_string()).collect(),
        Value::String(s) => vec![s.clone()],
        other => panic!("not strings: {other}"),
    }
}

/// |a - b| <= tol * max(|b|, tiny); both NaN counts as equal; equal infinities equal.
#[track_caller]
pub fn close(a: f64, b: f64, tol: f64, what: &str) {
    if a.is_nan() && b.is_nan() {
        return;
    }
    if a.is_infinite() || b.is_infinite() {
        assert_eq!(a, b, "{what}: {a} vs R {b}");
        return;
    }
    let scale = b.abs().max(1e-300);
    let rel = (a - b).abs() / scale;
    assert!(
        rel <= tol || (a - b).abs() <= tol * 1e-3,
        "{what}: got {a:.17e}, R {b:.17e}, rel diff {rel:.3e} > {tol:e}"
    );
}

#[track_caller]
pub fn close_vec(a: &[f64], b: &[f64], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: length {} vs R {}", a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        close(*x, *y, tol, &format!("{what}[{i}]"));
    }
}

pub fn matrix_rows(v: &Value) -> Vec<Vec<f64>> {
    v["rows"].as_array().unwrap().iter().map(nums).collect()
}
