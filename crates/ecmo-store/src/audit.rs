//! The append-only audit log of access to patient data, chained by SHA-256.
//!
//! Entry `n` stores `hash_n = SHA-256(n | hash_{n-1} | JSON(record_n))` (hex; the
//! first entry chains to 64 zeros). Changing, inserting or deleting any entry
//! changes every later hash, so [`verify_chain`] finds the first entry that does
//! not follow from its predecessor. The chain is computed by the store inside
//! the appending transaction so that two writers cannot fork it.

use crate::StoreError;
use ecmo_domain::Timestamp;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The hash the first entry chains to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened (who, what, when, from where). Field order is part of the hash.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    /// Seconds since 1970-01-01 UTC.
    pub at: i64,
    /// Account name (or the name tried, for a failed login).
    pub who: String,
    /// Role of the account at the time (empty when unknown).
    pub role: String,
    /// `read`, `create`, `update`, `delete`, `login`, `logout`, `export`, `execute`.
    pub action: String,
    /// The resource, e.g. `run R17` or `patient list`.
    pub what: String,
    /// The patient whose data were touched, when one was.
    pub patient_id: Option<String>,
    /// `success` or the reason it was refused.
    pub outcome: String,
    /// Client address.
    pub from: String,
}

/// A stored entry with its place in the chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    #[serde(flatten)]
    pub record: AuditRecord,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of entry `seq` after `prev`.
pub fn chain_hash(seq: i64, prev: &str, record: &AuditRecord) -> String {
    let json = serde_json::to_string(record).unwrap_or_default();
    let digest = Sha256::digest(format!("{seq}|{prev}|{json}").as_bytes());
    hex(&digest)
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// ISO 8601 UTC for an audit time (`2026-01-31T08:15:02Z`).
pub fn utc(at: i64) -> String {
    let (y, mo, d, h, mi) = Timestamp(at.div_euclid(60)).civil();
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{:02}Z", at.rem_euclid(60))
}

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChainBreak {
    #[error("entry {seq}: expected sequence number {expected} (an entry is missing or out of order)")]
    Gap { seq: i64, expected: i64 },
    #[error("entry {seq}: it says the previous hash is {found}, but entry {} hashes to {expected}", seq - 1)]
    Link { seq: i64, expected: String, found: String },
    #[error("entry {seq}: its content hashes to {computed}, not the stored {stored} (the entry was altered)")]
    Content { seq: i64, stored: String, computed: String },
}

/// Check entries in order, continuing from `prev` (the hash before the first
/// entry given, [`GENESIS`] at the start). Returns the last hash.
pub fn verify_chain<'a>(
    entries: impl IntoIterator<Item = &'a AuditEntry>,
    mut expected_seq: i64,
    mut prev: String,
) -> Result<String, ChainBreak> {
    for e in entries {
        if e.seq != expected_seq {
            return Err(ChainBreak::Gap { seq: e.seq, expected: expected_seq });
        }
        if e.prev_hash != prev {
            return Err(ChainBreak::Link { seq: e.seq, expected: prev, found: e.prev_hash.clone() });
        }
        let computed = chain_hash(e.seq, &e.prev_hash, &e.record);
        if computed != e.hash {
            return Err(ChainBreak::Content { seq: e.seq, stored: e.hash.clone(), computed });
        }
        prev = computed;
        expected_seq += 1;
    }
    Ok(prev)
}

/// The audit log. Sequence numbers run 1, 2, 3, ... without gaps.
pub trait AuditLog {
    /// Append one entry, chained to the last, atomically.
    fn append_audit(&mut self, record: &AuditRecord) -> Result<AuditEntry, StoreError>;
    /// Entries with `first <= seq <= last`, in order.
    fn audit_range(&self, first: i64, last: i64) -> Result<Vec<AuditEntry>, StoreError>;
    /// Number of entries (= the last sequence number).
    fn audit_len(&self) -> Result<i64, StoreError>;
}

/// Verify the whole stored chain, reading it in blocks; returns the number of entries.
pub fn verify_log(log: &dyn AuditLog) -> Result<Result<i64, ChainBreak>, StoreError> {
    const BLOCK: i64 = 10_000;
    let n = log.audit_len()?;
    let mut prev = GENESIS.to_string();
    let mut first = 1;
    while first <= n {
        let block = log.audit_range(first, (first + BLOCK - 1).min(n))?;
        match verify_chain(&block, first, prev) {
            Ok(h) => prev = h,
            Err(b) => return Ok(Err(b)),
        }
        if block.is_empty() {
            return Ok(Err(ChainBreak::Gap { seq: n, expected: first }));
        }
        first += block.len() as i64;
    }
    Ok(Ok(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(i: i64) -> AuditRecord {
        AuditRecord {
            at: 1_700_000_000 + i,
            who: "anna".into(),
            role: "clinician".into(),
            action: "read".into(),
            what: format!("run R{i}"),
            patient_id: Some(format!("P{i}")),
            outcome: "success".into(),
            from: "127.0.0.1".into(),
        }
    }

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let record = rec(seq);
                let hash = chain_hash(seq, &prev, &record);
                let e = AuditEntry { seq, record, prev_hash: prev.clone(), hash: hash.clone() };
                prev = hash;
                e
            })
            .collect()
    }

    #[test]
    fn intact_chain_verifies_and_any_edit_is_found() {
        let good = chain(5);
        assert!(verify_chain(&good, 1, GENESIS.into()).is_ok());

        let mut altered = good.clone();
        altered[2].record.who = "mallory".into();
        assert!(matches!(verify_chain(&altered, 1, GENESIS.into()), Err(ChainBreak::Content { seq: 3, .. })));

        // Re-hashing the altered entry does not help: the next link breaks.
        altered[2].hash = chain_hash(3, &altered[2].prev_hash, &altered[2].record);
        assert!(matches!(verify_chain(&altered, 1, GENESIS.into()), Err(ChainBreak::Link { seq: 4, .. })));

        let mut removed = good.clone();
        removed.remove(1);
        assert!(matches!(verify_chain(&removed, 1, GENESIS.into()), Err(ChainBreak::Gap { seq: 3, expected: 2 })));
    }

    #[test]
    fn utc_formats_seconds() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_700_000_005), "2023-11-14T22:13:25Z");
    }

    #[test]
    fn hash_is_known_sha256_layout() {
        // SHA-256 of "1|<64 zeros>|{json}" computed independently with sha256sum.
        let r = AuditRecord {
            at: 0,
            who: "a".into(),
            role: "admin".into(),
            action: "login".into(),
            what: "session".into(),
            patient_id: None,
            outcome: "success".into(),
            from: "::1".into(),
        };
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(
            json,
            r#"{"at":0,"who":"a","role":"admin","action":"login","what":"session","patient_id":null,"outcome":"success","from":"::1"}"#
        );
        assert_eq!(chain_hash(1, GENESIS, &r), EXPECTED_FIRST);
    }

    const EXPECTED_FIRST: &str = "535d21dde4854f3a87edbd11b8d5956123d59847ac5ee9f2887833aa83f15f9a";
}
