use super::*;
use ecmo_stats::design::{Column, Frame};

pub const TERMS: [&str; 8] = ["age", "lwt", "race", "smoke", "ptl", "ht", "ui", "ftv"];

/// birthwt as a Frame (race categorical white/black/other, reference white) and the outcome.
pub fn birthwt() -> (Frame, Vec<f64>) {
    let data = csv("birthwt.csv");
    let mut f = Frame::new();
    for v in ["age", "lwt", "smoke", "ptl", "ht", "ui", "ftv", "low"] {
        f.push(v, Column::Numeric(csv_col(&data, v))).unwrap();
    }
    let race: Vec<String> = csv_col(&data, "race")
        .iter()
        .map(|r| match *r as i32 {
            1 => "white".to_string(),
            2 => "black".to_string(),
            _ => "other".to_string(),
        })
        .collect();
    let rv: Vec<Option<&str>> = race.iter().map(|s| Some(s.as_str())).collect();
    let levels = vec!["white".to_string(), "black".to_string(), "other".to_string()];
    f.push("race", Column::categorical(&rv, Some(levels), Some("white")).unwrap()).unwrap();
    let y = csv_col(&data, "low");
    (f, y)
}
