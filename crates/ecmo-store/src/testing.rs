//! Registries for tests, on every backend the machine offers.
//!
//! SQLite always; PostgreSQL as well when `ECMO_TEST_PG_URL` names a server
//! (`scripts/pg-test-server.sh start` prints one). Each PostgreSQL registry lives in a
//! fresh schema of its own, so tests run in parallel on one server. With
//! `ECMO_REQUIRE_PG=1` (CI) a missing or unreachable server fails the test instead of
//! leaving PostgreSQL untested.

use crate::Store;
use std::sync::atomic::{AtomicU64, Ordering};

/// The server the tests may use, if any. Panics when PostgreSQL is required but not given.
pub fn pg_server_url() -> Option<String> {
    let url = std::env::var("ECMO_TEST_PG_URL").ok().filter(|u| !u.trim().is_empty());
    let required = std::env::var("ECMO_REQUIRE_PG").is_ok_and(|v| v == "1");
    if url.is_none() && required {
        panic!(
            "ECMO_REQUIRE_PG=1 but ECMO_TEST_PG_URL is not set: start a server with \
             `scripts/pg-test-server.sh start` and export the URL it prints as ECMO_TEST_PG_URL"
        );
    }
    url
}

/// A URL for a registry in a new, empty schema (`name` helps find it in the server).
pub fn fresh_pg_spec(server: &str, name: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let clean: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).take(32).collect();
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let schema = format!("t_{clean}_{}_{}_{nanos}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
    let sep = if server.contains('?') { '&' } else { '?' };
    format!("{server}{sep}schema={schema}")
}

/// `--db` specs of fresh, empty registries: a SQLite file in `dir`, and a PostgreSQL
/// schema when a server is available.
pub fn fresh_specs(dir: &std::path::Path, name: &str) -> Vec<String> {
    let mut out = vec![dir.join(format!("{name}.db")).display().to_string()];
    if let Some(server) = pg_server_url() {
        out.push(fresh_pg_spec(&server, name));
    }
    out
}

/// Fresh, empty registries: SQLite in memory, and PostgreSQL when a server is available.
pub fn fresh_stores(name: &str) -> Vec<Box<dyn Store + Send>> {
    let mut out: Vec<Box<dyn Store + Send>> =
        vec![Box::new(crate::sqlite::SqliteStore::in_memory().expect("an in-memory SQLite store"))];
    if let Some(server) = pg_server_url() {
        out.push(Box::new(open_pg(&fresh_pg_spec(&server, name))));
    }
    out
}

/// Open a PostgreSQL registry for a test, failing loudly (never skipping) when it cannot.
pub fn open_pg(spec: &str) -> crate::postgres::PgStore {
    match crate::postgres::PgStore::open(spec) {
        Ok(s) => s,
        Err(e) => panic!("PostgreSQL test server at {} is not usable: {e}", crate::postgres::redact(spec)),
    }
}

/// Run a test body on a fresh registry of every available backend.
pub fn for_each_store(name: &str, f: &mut dyn FnMut(&mut dyn Store)) {
    for mut s in fresh_stores(name) {
        eprintln!("{name}: backend {}", s.backend());
        f(&mut *s);
    }
}
