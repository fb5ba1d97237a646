//! [`Accounts`] and [`AuditLog`] on SQLite (tables of migration 2).

use super::SqliteStore;
use crate::StoreError;
use crate::accounts::{Account, Accounts, Role};
use crate::audit::{AuditEntry, AuditLog, AuditRecord, GENESIS, chain_hash};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

const ACCOUNT_COLUMNS: &str = "id, name, role, password_hash, disabled, created_at";

fn account_from_row(r: &Row) -> rusqlite::Result<(Account, String)> {
    Ok((
        Account {
            id: r.get(0)?,
            name: r.get(1)?,
            role: Role::Clinician,
            password_hash: r.get(3)?,
            disabled: r.get::<_, i64>(4)? != 0,
            created_at: r.get(5)?,
        },
        r.get(2)?,
    ))
}

fn finish_account((mut a, role): (Account, String)) -> Result<Account, StoreError> {
    a.role = role.parse().map_err(StoreError::Corrupt)?;
    Ok(a)
}

fn insert_account(
    conn: &Connection,
    name: &str,
    role: Role,
    password_hash: &str,
    now: i64,
) -> Result<Account, StoreError> {
    let inserted = conn.execute(
        "INSERT INTO accounts (name, role, password_hash, disabled, created_at) VALUES (?1, ?2, ?3, 0, ?4)
         ON CONFLICT (name) DO NOTHING",
        params![name, role.code(), password_hash, now],
    )?;
    if inserted == 0 {
        return Err(StoreError::Duplicate(format!("an account named '{name}'")));
    }
    find_account(conn, name)?.ok_or_else(|| StoreError::Corrupt(format!("account '{name}' vanished")))
}

fn find_account(conn: &Connection, name: &str) -> Result<Option<Account>, StoreError> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE name = ?1");
    conn.prepare_cached(&sql)?.query_row([name], account_from_row).optional()?.map(finish_account).transpose()
}

/// Enable or disable, ending the account's sessions; call inside a transaction.
fn set_disabled(conn: &Connection, name: &str, disabled: bool) -> Result<bool, StoreError> {
    let n = conn.execute("UPDATE accounts SET disabled = ?2 WHERE name = ?1", params![name, disabled as i64])?;
    if disabled {
        conn.execute("DELETE FROM sessions WHERE account_id IN (SELECT id FROM accounts WHERE name = ?1)", [name])?;
    }
    Ok(n > 0)
}

impl Accounts for SqliteStore {
    fn add_account(&mut self, name: &str, role: Role, password_hash: &str, now: i64) -> Result<Account, StoreError> {
        insert_account(&self.conn, name, role, password_hash, now)
    }

    fn add_account_audited(
        &mut self,
        name: &str,
        role: Role,
        password_hash: &str,
        now: i64,
        audit: &AuditRecord,
    ) -> Result<(Account, AuditEntry), StoreError> {
        // IMMEDIATE: the audit append needs the write lock before it reads the last hash.
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let account = insert_account(&tx, name, role, password_hash, now)?;
        let entry = append_within(&tx, audit)?;
        tx.commit()?;
        Ok((account, entry))
    }

    fn account_by_name(&self, name: &str) -> Result<Option<Account>, StoreError> {
        find_account(&self.conn, name)
    }

    fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY name");
        let mut s = self.conn.prepare(&sql)?;
        let rows = s.query_map([], account_from_row)?;
        rows.map(|r| finish_account(r?)).collect()
    }

    fn set_account_disabled(&mut self, name: &str, disabled: bool) -> Result<bool, StoreError> {
        let tx = self.conn.transaction()?;
        let found = set_disabled(&tx, name, disabled)?;
        tx.commit()?;
        Ok(found)
    }

    fn set_account_disabled_audited(
        &mut self,
        name: &str,
        disabled: bool,
        audit: &AuditRecord,
    ) -> Result<Option<AuditEntry>, StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if !set_disabled(&tx, name, disabled)? {
            return Ok(None); // nothing changed; the dropped transaction rolls back
        }
        let entry = append_within(&tx, audit)?;
        tx.commit()?;
        Ok(Some(entry))
    }

    fn set_password_hash(&mut self, name: &str, password_hash: &str) -> Result<bool, StoreError> {
        Ok(self.conn.execute("UPDATE accounts SET password_hash = ?2 WHERE name = ?1", params![name, password_hash])?
            > 0)
    }

    fn create_session(&mut self, token_hash: &str, account_id: i64, now: i64, expires: i64) -> Result<(), StoreError> {
        // Expired sessions are removed here so the table cannot grow without bound.
        self.conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])?;
        self.conn.execute(
            "INSERT INTO sessions (token_hash, account_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![token_hash, account_id, now, expires],
        )?;
        Ok(())
    }

    fn session_account(&self, token_hash: &str, now: i64) -> Result<Option<Account>, StoreError> {
        let sql = "SELECT a.id, a.name, a.role, a.password_hash, a.disabled, a.created_at
                   FROM sessions s JOIN accounts a ON a.id = s.account_id
                   WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND a.disabled = 0";
        self.conn
            .prepare_cached(sql)?
            .query_row(params![token_hash, now], account_from_row)
            .optional()?
            .map(finish_account)
            .transpose()
    }

    fn delete_session(&mut self, token_hash: &str) -> Result<(), StoreError> {
        self.conn.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
        Ok(())
    }

    fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?)
    }

    fn set_setting(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }
}

fn entry_from_row(r: &Row) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        seq: r.get(0)?,
        record: AuditRecord {
            at: r.get(1)?,
            who: r.get(2)?,
            role: r.get(3)?,
            action: r.get(4)?,
            what: r.get(5)?,
            patient_id: r.get(6)?,
            outcome: r.get(7)?,
            from: r.get(8)?,
        },
        prev_hash: r.get(9)?,
        hash: r.get(10)?,
    })
}

/// Append `record` to the chain inside the caller's open transaction, which must already
/// hold the write lock (`BEGIN IMMEDIATE`) so that the last hash cannot change under it.
pub(super) fn append_within(conn: &Connection, record: &AuditRecord) -> Result<AuditEntry, StoreError> {
    let last: Option<(i64, String)> = conn
        .query_row("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (seq, prev_hash) = match last {
        Some((s, h)) => (s + 1, h),
        None => (1, GENESIS.to_string()),
    };
    let hash = chain_hash(seq, &prev_hash, record);
    conn.execute(
        "INSERT INTO audit_log (seq, at, who, role, action, what, patient_id, outcome, from_addr, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            seq,
            record.at,
            record.who,
            record.role,
            record.action,
            record.what,
            record.patient_id,
            record.outcome,
            record.from,
            prev_hash,
            hash
        ],
    )?;
    Ok(AuditEntry { seq, record: record.clone(), prev_hash, hash })
}

impl AuditLog for SqliteStore {
    fn append_audit(&mut self, record: &AuditRecord) -> Result<AuditEntry, StoreError> {
        // IMMEDIATE takes the write lock before reading the last hash, so two
        // connections appending at once cannot both chain to the same entry.
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let entry = append_within(&tx, record)?;
        tx.commit()?;
        Ok(entry)
    }

    fn audit_range(&self, first: i64, last: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let mut s = self.conn.prepare_cached(
            "SELECT seq, at, who, role, action, what, patient_id, outcome, from_addr, prev_hash, hash
             FROM audit_log WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq",
        )?;
        let rows = s.query_map([first, last], entry_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn audit_len(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM audit_log", [], |r| r.get(0))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{ChainBreak, verify_log};

    fn rec(who: &str) -> AuditRecord {
        AuditRecord {
            at: 1_700_000_000,
            who: who.into(),
            role: "clinician".into(),
            action: "read".into(),
            what: "run R1".into(),
            patient_id: Some("P1".into()),
            outcome: "success".into(),
            from: "127.0.0.1".into(),
        }
    }

    #[test]
    fn accounts_sessions_and_settings() {
        let mut s = SqliteStore::in_memory().unwrap();
        let a = s.add_account("anna", Role::Clinician, "$argon2id$x", 10).unwrap();
        assert_eq!(a.role, Role::Clinician);
        assert!(matches!(s.add_account("anna", Role::Admin, "h", 11), Err(StoreError::Duplicate(_))));
        s.create_session("t1", a.id, 10, 100).unwrap();
        assert_eq!(s.session_account("t1", 50).unwrap().map(|a| a.name), Some("anna".into()));
        assert!(s.session_account("t1", 100).unwrap().is_none(), "expired");
        assert!(s.set_account_disabled("anna", true).unwrap());
        s.create_session("t2", a.id, 10, 100).unwrap();
        assert!(s.session_account("t2", 50).unwrap().is_none(), "disabled account");
        assert_eq!(s.setting("k").unwrap(), None);
        s.set_setting("k", "v1").unwrap();
        s.set_setting("k", "v2").unwrap();
        assert_eq!(s.setting("k").unwrap().as_deref(), Some("v2"));
    }

    #[test]
    fn audit_appends_chain_and_tampering_is_detected() {
        let mut s = SqliteStore::in_memory().unwrap();
        for who in ["a", "b", "c"] {
            s.append_audit(&rec(who)).unwrap();
        }
        assert_eq!(verify_log(&s).unwrap(), Ok(3));
        s.conn.execute("UPDATE audit_log SET who = 'z' WHERE seq = 2", []).unwrap();
        assert!(matches!(verify_log(&s).unwrap(), Err(ChainBreak::Content { seq: 2, .. })));
    }
}
