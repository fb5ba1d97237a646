//! Writing a registry in the CSV format, one run at a time (bounded memory).
//!
//! Rows are formatted by hand into buffers: the synthetic generator writes
//! tens of millions of rows and the csv crate's per-field serialisation was
//! the bottleneck. Fields written here never need quoting except free text
//! (`cohort`, `detail`), which goes through [`push_text`].

use crate::csv_format::{self, Manifest};
use ecmo_domain::{ChronicConditions, Patient, RunRecord, Timestamp};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Streams patients and runs into a registry directory.
pub struct RegistryWriter {
    dir: PathBuf,
    files: [BufWriter<File>; 6],
    staging: RowBuffers,
    pub rows_written: u64,
}

/// Formatted rows of some runs, one buffer per file. Workers fill these in
/// parallel; the writer appends them in order.
#[derive(Debug, Default)]
pub struct RowBuffers {
    patients: Vec<u8>,
    runs: Vec<u8>,
    observations: Vec<u8>,
    infusions: Vec<u8>,
    support: Vec<u8>,
    events: Vec<u8>,
    rows: u64,
}

fn header(cols: &[(&str, bool)]) -> String {
    let mut s = cols.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(",");
    s.push('\n');
    s
}

impl RegistryWriter {
    /// Create the directory (if needed) and the six files with their headers.
    pub fn create(dir: &Path, manifest: &Manifest) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let open = |name: &str, cols: &[(&str, bool)]| -> std::io::Result<BufWriter<File>> {
            let mut w = BufWriter::with_capacity(1 << 20, File::create(dir.join(name))?);
            w.write_all(header(cols).as_bytes())?;
            Ok(w)
        };
        let manifest_json = serde_json::to_string_pretty(manifest).map_err(std::io::Error::other)?;
        std::fs::write(dir.join(csv_format::MANIFEST), manifest_json + "\n")?;
        Ok(RegistryWriter {
            dir: dir.to_path_buf(),
            files: [
                open(csv_format::PATIENTS, csv_format::PATIENT_COLUMNS)?,
                open(csv_format::RUNS, csv_format::RUN_COLUMNS)?,
                open(csv_format::OBSERVATIONS, csv_format::OBSERVATION_COLUMNS)?,
                open(csv_format::INFUSIONS, csv_format::INFUSION_COLUMNS)?,
                open(csv_format::SUPPORT, csv_format::SUPPORT_COLUMNS)?,
                open(csv_format::EVENTS, csv_format::EVENT_COLUMNS)?,
            ],
            staging: RowBuffers::default(),
            rows_written: 0,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Append rows formatted elsewhere, in the order given.
    pub fn append(&mut self, rows: &RowBuffers) -> std::io::Result<()> {
        let parts = [&rows.patients, &rows.runs, &rows.observations, &rows.infusions, &rows.support, &rows.events];
        for (file, part) in self.files.iter_mut().zip(parts) {
            file.write_all(part)?;
        }
        self.rows_written += rows.rows;
        Ok(())
    }

    pub fn write_patient(&mut self, p: &Patient) -> std::io::Result<()> {
        self.staging.clear();
        self.staging.push_patient(p);
        let staged = std::mem::take(&mut self.staging);
        let r = self.append(&staged);
        self.staging = staged;
        r
    }

    pub fn write_run(&mut self, r: &RunRecord) -> std::io::Result<()> {
        self.staging.clear();
        self.staging.push_run(r);
        let staged = std::mem::take(&mut self.staging);
        let res = self.append(&staged);
        self.staging = staged;
        res
    }

    /// Flush every file; call once at the end.
    pub fn finish(mut self) -> std::io::Result<u64> {
        for w in self.files.iter_mut() {
            w.flush()?;
        }
        Ok(self.rows_written)
    }
}

impl RowBuffers {
    pub fn clear(&mut self) {
        for b in [
            &mut self.patients,
            &mut self.runs,
            &mut self.observations,
            &mut self.infusions,
            &mut self.support,
            &mut self.events,
        ] {
            b.clear();
        }
        self.rows = 0;
    }

    pub fn push_patient(&mut self, p: &Patient) {
        let b = &mut self.patients;
        push_text(b, &p.id);
        b.push(b',');
        b.extend_from_slice(p.sex.code().as_bytes());
        b.push(b',');
        push_opt_num(b, p.age_years);
        b.push(b',');
        if let Some(y) = p.birth_year {
            b.extend_from_slice(y.to_string().as_bytes());
        }
        b.push(b',');
        push_num(b, p.weight_kg);
        b.push(b',');
        push_opt_num(b, p.height_cm);
        let ChronicConditions {
            liver_cirrhosis,
            heart_failure_nyha_iv,
            severe_respiratory,
            chronic_dialysis,
            immunocompromised,
            chronic_renal_failure,
        } = &p.chronic;
        for f in [
            liver_cirrhosis,
            heart_failure_nyha_iv,
            severe_respiratory,
            chronic_dialysis,
            immunocompromised,
            chronic_renal_failure,
        ] {
            b.push(b',');
            push_flag(b, *f);
        }
        b.push(b'\n');
        self.rows += 1;
    }

    /// Format a run and all its records.
    pub fn push_run(&mut self, r: &RunRecord) {
        let run = &r.run;
        let id = run.id.as_bytes();
        let b = &mut self.runs;
        push_text(b, &run.id);
        b.push(b',');
        push_text(b, &run.patient_id);
        b.push(b',');
        b.extend_from_slice(run.mode.code().as_bytes());
        b.push(b',');
        b.extend_from_slice(run.etiology.code().as_bytes());
        b.push(b',');
        b.extend_from_slice(run.admission_type.code().as_bytes());
        b.push(b',');
        push_opt_time(b, run.icu_admission);
        b.push(b',');
        run.flow_start.write_to(b);
        b.push(b',');
        push_opt_time(b, run.decannulation);
        b.push(b',');
        let a = &run.arrest;
        b.extend_from_slice(a.location.code().as_bytes());
        b.push(b',');
        push_flag(b, Some(a.ecpr));
        for t in [a.collapse, a.cpr_start, a.emergency_call, a.hospital_arrival, a.rosc] {
            b.push(b',');
            push_opt_time(b, t);
        }
        b.push(b',');
        push_opt_num(b, a.no_flow_min);
        b.push(b',');
        push_opt_num(b, a.low_flow_min);
        b.push(b',');
        if a.first_rhythm != ecmo_domain::Rhythm::Unknown {
            b.extend_from_slice(a.first_rhythm.code().as_bytes());
        }
        b.push(b',');
        if a.arrival_rhythm != ecmo_domain::Rhythm::Unknown {
            b.extend_from_slice(a.arrival_rhythm.code().as_bytes());
        }
        b.push(b',');
        push_opt_num(b, run.ventilation_hours_before);
        b.push(b',');
        if let Some(c) = &run.cohort {
            push_text(b, c);
        }
        b.push(b'\n');
        self.rows += 1;

        let b = &mut self.observations;
        for o in &r.observations {
            b.extend_from_slice(id);
            b.push(b',');
            o.time.write_to(b);
            b.push(b',');
            b.extend_from_slice(o.quantity.code().as_bytes());
            b.push(b',');
            push_num(b, o.entered_value);
            b.push(b',');
            if o.entered_unit != ecmo_domain::Unit::Dimensionless {
                b.extend_from_slice(o.entered_unit.symbol().as_bytes());
            }
            b.push(b',');
            push_opt_time(b, o.start);
            b.push(b'\n');
        }
        self.rows += r.observations.len() as u64;

        let b = &mut self.infusions;
        for i in &r.infusions {
            b.extend_from_slice(id);
            b.push(b',');
            i.time.write_to(b);
            b.push(b',');
            b.extend_from_slice(i.drug.code().as_bytes());
            b.push(b',');
            push_num(b, i.entered_rate);
            b.push(b',');
            b.extend_from_slice(i.entered_unit.symbol().as_bytes());
            b.push(b',');
            b.extend_from_slice(i.salt.code().as_bytes());
            b.push(b',');
            if let Some(c) = i.concentration {
                push_num(b, c.value);
                b.push(b',');
                b.extend_from_slice(c.unit.symbol().as_bytes());
            } else {
                b.push(b',');
            }
            b.push(b',');
            if (i.weight_kg - r.patient.weight_kg).abs() > 1e-9 {
                push_num(b, i.weight_kg);
            }
            b.push(b'\n');
        }
        self.rows += r.infusions.len() as u64;

        let b = &mut self.support;
        for s in &r.supports {
            b.extend_from_slice(id);
            b.push(b',');
            b.extend_from_slice(s.kind.code().as_bytes());
            b.push(b',');
            s.start.write_to(b);
            b.push(b',');
            push_opt_time(b, s.stop);
            b.push(b'\n');
        }
        self.rows += r.supports.len() as u64;

        let b = &mut self.events;
        for e in &r.events {
            b.extend_from_slice(id);
            b.push(b',');
            e.time.write_to(b);
            b.push(b',');
            b.extend_from_slice(e.kind.code().as_bytes());
            b.push(b',');
            push_opt_num(b, e.value);
            b.push(b',');
            if let Some(d) = &e.detail {
                push_text(b, d);
            }
            b.push(b'\n');
        }
        self.rows += r.events.len() as u64;
    }

    /// Rows formatted so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }
}

/// Free text, quoted when it holds a delimiter, quote or line break.
pub fn push_text(b: &mut Vec<u8>, s: &str) {
    if s.bytes().any(|c| matches!(c, b',' | b'"' | b'\n' | b'\r')) {
        b.push(b'"');
        for c in s.bytes() {
            if c == b'"' {
                b.push(b'"');
            }
            b.push(c);
        }
        b.push(b'"');
    } else {
        b.extend_from_slice(s.as_bytes());
    }
}

/// A number in the shortest form that reads back to the same double.
pub fn push_num(b: &mut Vec<u8>, v: f64) {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        b.extend_from_slice((v as i64).to_string().as_bytes());
    } else {
        // Display for f64 is the shortest round-trip representation.
        use std::io::Write as _;
        let _ = write!(b, "{v}");
    }
}

fn push_opt_num(b: &mut Vec<u8>, v: Option<f64>) {
    if let Some(v) = v {
        push_num(b, v);
    }
}

fn push_opt_time(b: &mut Vec<u8>, t: Option<Timestamp>) {
    if let Some(t) = t {
        t.write_to(b);
    }
}

fn push_flag(b: &mut Vec<u8>, f: Option<bool>) {
    match f {
        Some(true) => b.extend_from_slice(b"yes"),
        Some(false) => b.extend_from_slice(b"no"),
        None => {}
    }
}
