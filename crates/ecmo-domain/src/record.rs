//! A run with everything recorded for it, and the as-of view every derivation
//! reads through.
//!
//! The bedside and the research path both evaluate a run "as of" an instant:
//! [`RunRecord::as_of`] hides every record made after it, so a model validated
//! on the registry sees exactly what it will see live.

use crate::concepts::Quantity;
use crate::drugs::Drug;
use crate::model::{Event, EventKind, InfusionChange, Observation, Patient, Run, SupportKind, SupportPeriod};
use crate::time::Timestamp;
use serde::Serialize;

/// One run with its patient and every record, each list sorted by time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRecord {
    pub patient: Patient,
    pub run: Run,
    pub observations: Vec<Observation>,
    pub infusions: Vec<InfusionChange>,
    pub supports: Vec<SupportPeriod>,
    pub events: Vec<Event>,
    /// Flow starts of the same patient's other runs (re-cannulation).
    pub other_run_starts: Vec<Timestamp>,
}

impl RunRecord {
    pub fn new(patient: Patient, run: Run) -> Self {
        RunRecord {
            patient,
            run,
            observations: Vec::new(),
            infusions: Vec::new(),
            supports: Vec::new(),
            events: Vec::new(),
            other_run_starts: Vec::new(),
        }
    }

    /// Put every list in time order (stable, so same-time records keep their
    /// charting order). Call after building a record by hand.
    pub fn sort(&mut self) {
        self.observations.sort_by_key(|o| o.time);
        self.infusions.sort_by_key(|i| i.time);
        self.supports.sort_by_key(|s| s.start);
        self.events.sort_by_key(|e| e.time);
        self.other_run_starts.sort();
    }

    /// The run as it was known at instant `t`.
    pub fn as_of(&self, t: Timestamp) -> RunView<'_> {
        let obs_end = self.observations.partition_point(|o| o.time <= t);
        let inf_end = self.infusions.partition_point(|i| i.time <= t);
        let ev_end = self.events.partition_point(|e| e.time <= t);
        let sup_end = self.supports.partition_point(|s| s.start <= t);
        RunView {
            record: self,
            at: t,
            observations: &self.observations[..obs_end],
            infusions: &self.infusions[..inf_end],
            events: &self.events[..ev_end],
            supports: &self.supports[..sup_end],
        }
    }

    /// Everything recorded, whenever (for outcomes assessed after the run).
    pub fn complete(&self) -> RunView<'_> {
        self.as_of(Timestamp(i64::MAX))
    }
}

/// A read-only view of a run limited to what was recorded up to `at`.
#[derive(Debug, Clone, Copy)]
pub struct RunView<'a> {
    record: &'a RunRecord,
    at: Timestamp,
    observations: &'a [Observation],
    infusions: &'a [InfusionChange],
    events: &'a [Event],
    supports: &'a [SupportPeriod],
}

impl<'a> RunView<'a> {
    pub fn at(&self) -> Timestamp {
        self.at
    }

    pub fn patient(&self) -> &'a Patient {
        &self.record.patient
    }

    pub fn run(&self) -> &'a Run {
        &self.record.run
    }

    /// ECMO flow start, the origin of "hours on ECMO".
    pub fn flow_start(&self) -> Timestamp {
        self.record.run.flow_start
    }

    /// Decannulation, if it had happened by `at`.
    pub fn decannulation(&self) -> Option<Timestamp> {
        self.record.run.decannulation.filter(|d| *d <= self.at)
    }

    /// All observations up to `at`, in time order.
    pub fn observations(&self) -> &'a [Observation] {
        self.observations
    }

    /// Observations of one quantity up to `at`, in time order.
    pub fn series(&self, q: Quantity) -> impl Iterator<Item = &'a Observation> + 'a {
        self.observations.iter().filter(move |o| o.quantity == q)
    }

    /// Infusion rate changes up to `at`, in time order.
    pub fn infusions(&self) -> &'a [InfusionChange] {
        self.infusions
    }

    /// The rate change of `drug` in force at instant `t` (≤ `at`), if any.
    pub fn infusion_in_force(&self, drug: Drug, t: Timestamp) -> Option<&'a InfusionChange> {
        let t = t.min(self.at);
        self.infusions.iter().rev().filter(|i| i.time <= t).find(|i| i.drug == drug)
    }

    pub fn events(&self) -> &'a [Event] {
        self.events
    }

    pub fn events_of(&self, kind: EventKind) -> impl Iterator<Item = &'a Event> + 'a {
        self.events.iter().filter(move |e| e.kind == kind)
    }

    /// Support periods started by `at`; a stop after `at` is not yet known,
    /// so such a period is reported as still running.
    pub fn supports(&self) -> impl Iterator<Item = SupportPeriod> + 'a {
        let at = self.at;
        self.supports.iter().map(move |s| SupportPeriod { stop: s.stop.filter(|x| *x <= at), ..s.clone() })
    }

    pub fn supports_of(&self, kind: SupportKind) -> impl Iterator<Item = SupportPeriod> + 'a {
        self.supports().filter(move |s| s.kind == kind)
    }

    /// Other runs of the same patient that had started by `at`.
    pub fn other_run_starts(&self) -> impl Iterator<Item = Timestamp> + 'a {
        let at = self.at;
        self.record.other_run_starts.iter().copied().filter(move |t| *t <= at)
    }
}
