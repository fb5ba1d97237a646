//! `ecmo user` and `ecmo audit` end to end: exit codes, messages, the FHIR export.

use std::process::{Command, Output};

fn ecmo(args: &[&str], password: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ecmo"));
    c.args(args).env_remove("ECMO_DB").env_remove("ECMO_PASSWORD");
    if let Some(p) = password {
        c.env("ECMO_PASSWORD", p);
    }
    c.output().unwrap()
}

#[test]
fn first_admin_from_the_command_line_and_the_audit_log() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("w.db");
    let db = db.to_str().unwrap();
    let pw = Some("a long enough password");
    let o = ecmo(&["user", "add", "--role", "admin", "boss", "--db", db], pw);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let again = ecmo(&["user", "add", "--role", "clinician", "boss", "--db", db], pw);
    assert_eq!(again.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let short = ecmo(&["user", "add", "--role", "clinician", "anna", "--db", db], Some("short"));
    assert_eq!(short.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 10 characters"));
    let role = ecmo(&["user", "add", "--role", "nurse", "anna", "--db", db], pw);
    assert_eq!(role.status.code(), Some(3));
    let list = String::from_utf8(ecmo(&["user", "list", "--db", db], None).stdout).unwrap();
    assert!(list.contains("boss") && list.contains("admin"), "{list}");

    let v = ecmo(&["audit", "verify", "--db", db], None);
    assert!(v.status.success());
    assert!(String::from_utf8_lossy(&v.stdout).contains("intact: 1 entries"));
    let out = d.path().join("audit.json");
    assert!(ecmo(&["audit", "export", "--db", db, "--out", out.to_str().unwrap()], None).status.success());
    let bundle: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(bundle["resourceType"], "Bundle");
    let ev = &bundle["entry"][0]["resource"];
    assert_eq!(ev["resourceType"], "AuditEvent");
    assert_eq!(ev["action"], "C");
    assert_eq!(ev["entity"][0]["what"]["display"], "account boss (admin)");
    // The export itself is logged.
    assert!(
        String::from_utf8_lossy(&ecmo(&["audit", "verify", "--db", db], None).stdout).contains("intact: 2 entries")
    );
}
