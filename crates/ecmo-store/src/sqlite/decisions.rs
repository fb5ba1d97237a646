//! [`DecisionLog`] on SQLite (table of migration 3).

use super::SqliteStore;
use crate::StoreError;
use crate::decisions::{DecisionError, DecisionLog, DecisionRecord, StoredDecision, check_decision};
use ecmo_domain::Timestamp;
use rusqlite::{OptionalExtension, Row, params};

const COLUMNS: &str =
    "id, run_id, as_of, recorded_at, user_name, action, recommendation, reason, versions, assessment_json, shown_text";

fn from_row(r: &Row) -> rusqlite::Result<(StoredDecision, String)> {
    Ok((
        StoredDecision {
            id: r.get(0)?,
            record: DecisionRecord {
                run_id: r.get(1)?,
                as_of: Timestamp(r.get(2)?),
                recorded_at: r.get(3)?,
                user: r.get(4)?,
                action: crate::decisions::DecisionAction::Acknowledge,
                recommendation: r.get(6)?,
                reason: r.get(7)?,
                versions: r.get(8)?,
                assessment_json: r.get(9)?,
                shown_text: r.get(10)?,
            },
        },
        r.get(5)?,
    ))
}

fn finish((mut d, action): (StoredDecision, String)) -> Result<StoredDecision, StoreError> {
    d.record.action = action.parse().map_err(StoreError::Corrupt)?;
    Ok(d)
}

impl DecisionLog for SqliteStore {
    fn record_decision(&mut self, d: &DecisionRecord) -> Result<i64, DecisionError> {
        check_decision(d).map_err(DecisionError::Invalid)?;
        self.conn.execute(
            "INSERT INTO decisions (run_id, as_of, recorded_at, user_name, action, recommendation, reason, versions, assessment_json, shown_text)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                d.run_id,
                d.as_of.0,
                d.recorded_at,
                d.user,
                d.action.code(),
                d.recommendation,
                d.reason,
                d.versions,
                d.assessment_json,
                d.shown_text
            ],
        )
        .map_err(StoreError::from)?;
        Ok(self.conn.last_insert_rowid())
    }

    fn decisions_for_run(&self, run_id: &str) -> Result<Vec<StoredDecision>, StoreError> {
        let mut s =
            self.conn.prepare_cached(&format!("SELECT {COLUMNS} FROM decisions WHERE run_id = ?1 ORDER BY id"))?;
        let rows = s.query_map([run_id], from_row)?.collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(finish).collect()
    }

    fn decision(&self, id: i64) -> Result<Option<StoredDecision>, StoreError> {
        let mut s = self.conn.prepare_cached(&format!("SELECT {COLUMNS} FROM decisions WHERE id = ?1"))?;
        s.query_row([id], from_row).optional()?.map(finish).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decisions::DecisionAction;

    fn rec(action: DecisionAction, reason: Option<&str>) -> DecisionRecord {
        DecisionRecord {
            run_id: "R1".into(),
            as_of: Timestamp(28_000_000),
            recorded_at: 1_700_000_000,
            user: "dr.rossi".into(),
            action,
            recommendation: "urgent_vad".into(),
            reason: reason.map(str::to_string),
            versions: "ecmo-cds 0.1.0; rules vad-decision-tree@published-2018.1".into(),
            assessment_json: "{\"format\":\"ecmo-cds-assessment\"}".into(),
            shown_text: Some("Urgent conversion to VAD".into()),
        }
    }

    #[test]
    fn stores_and_reads_back_exactly() {
        let mut s = SqliteStore::in_memory().unwrap();
        let a = rec(DecisionAction::Acknowledge, None);
        let b = rec(DecisionAction::Override, Some("family wishes; palliative care"));
        let ia = s.record_decision(&a).unwrap();
        let ib = s.record_decision(&b).unwrap();
        assert!(ib > ia);
        let all = s.decisions_for_run("R1").unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].record, a);
        assert_eq!(all[1].record, b);
        assert_eq!(s.decision(ib).unwrap().unwrap().record, b);
        assert!(s.decision(999).unwrap().is_none());
        assert!(s.decisions_for_run("R2").unwrap().is_empty());
    }

    #[test]
    fn an_override_needs_a_reason_and_nothing_is_written() {
        let mut s = SqliteStore::in_memory().unwrap();
        for r in [None, Some("  ")] {
            let e = s.record_decision(&rec(DecisionAction::Override, r)).unwrap_err();
            assert!(e.to_string().contains("reason"), "{e}");
        }
        let mut nobody = rec(DecisionAction::Acknowledge, None);
        nobody.user = " ".into();
        assert!(s.record_decision(&nobody).is_err());
        assert!(s.decisions_for_run("R1").unwrap().is_empty());
    }
}
