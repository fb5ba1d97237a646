//! `ecmo serve` (the web application), `ecmo user` (accounts) and `ecmo audit`
//! (verify and export the audit log). The work is in crate ecmo-server.

use crate::{DbArg, InvalidInput};
use anyhow::{Context, Result};
use ecmo_server::auth::{hash_password, now};
use ecmo_store::accounts::{Accounts, Role};
use ecmo_store::audit::{AuditLog, AuditRecord, verify_log};
use ecmo_store::sqlite::SqliteStore;
use std::io::{BufRead, IsTerminal};
use std::net::SocketAddr;
use std::path::Path;

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// Address and port to listen on (127.0.0.1: this machine only; 0.0.0.0: every interface,
    /// which needs TLS in front).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "HOST:PORT")]
    pub addr: SocketAddr,
    /// Directory of prediction-model files (`ecmo model fit`) whose predictions the patient
    /// page shows; default ./models when it exists.
    #[arg(long, value_name = "DIR")]
    pub models: Option<std::path::PathBuf>,
}

/// The models to assess with: every model file of `dir`; a file that fails to load stops the start.
fn load_models(dir: Option<&Path>) -> Result<Vec<ecmo_model::ModelFile>> {
    let dir = match dir {
        Some(d) => d.to_path_buf(),
        None if Path::new("models").is_dir() => Path::new("models").to_path_buf(),
        None => return Ok(Vec::new()),
    };
    let listed = ecmo_model::list_dir(&dir).map_err(|e| InvalidInput(e.to_string()))?;
    let mut models = Vec::new();
    for (path, m) in listed {
        models.push(m.map_err(|e| InvalidInput(format!("{}: {e}", path.display())))?);
    }
    eprintln!("{} prediction model(s) from {}", models.len(), dir.display());
    Ok(models)
}

/// The web application needs the accounts and audit tables, which only the SQLite
/// store has so far.
fn sqlite_path(db: &DbArg) -> Result<&Path> {
    if ecmo_store::is_postgres_url(&db.db) {
        return Err(InvalidInput(
            "the web application and its accounts and audit log run on a SQLite registry for now; give --db PATH"
                .into(),
        )
        .into());
    }
    Ok(Path::new(&db.db))
}

pub fn serve(args: ServeArgs) -> Result<()> {
    let path = sqlite_path(&args.db)?;
    if !path.exists() {
        return Err(InvalidInput(format!(
            "no registry at {}; create one with `ecmo demo` or `ecmo import DIR --db {}`",
            path.display(),
            path.display()
        ))
        .into());
    }
    let assess = ecmo_bedside::AssessConfig {
        models: load_models(args.models.as_deref())?,
        ..ecmo_bedside::AssessConfig::default()
    };
    let state =
        ecmo_server::AppState::open_with(path, assess).with_context(|| format!("opening {}", path.display()))?;
    let has_admin = {
        let store = state.pool.get()?;
        store.accounts()?.iter().any(|a| a.role == Role::Admin && !a.disabled)
    };
    if !has_admin {
        eprintln!(
            "note: no administrator yet; create one with `ecmo user add --role admin NAME --db {}`",
            path.display()
        );
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(ecmo_server::serve(state, args.addr)).with_context(|| format!("serving on {}", args.addr))?;
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct UserArgs {
    #[command(subcommand)]
    pub command: UserCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum UserCommand {
    /// Create an account. The password is read from $ECMO_PASSWORD or, if unset, from the
    /// first line of standard input (at least 10 characters).
    Add {
        #[command(flatten)]
        db: DbArg,
        /// clinician (identified patients), researcher (pseudonymised data, studies, models)
        /// or admin (accounts, settings, audit log).
        #[arg(long)]
        role: String,
        /// Account name (letters, digits, '.', '_', '-', '@').
        name: String,
    },
    /// List the accounts.
    List {
        #[command(flatten)]
        db: DbArg,
    },
}

fn cli_actor() -> String {
    format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "unknown".into()))
}

fn read_password() -> Result<String> {
    if let Ok(p) = std::env::var("ECMO_PASSWORD") {
        return Ok(p);
    }
    if std::io::stdin().is_terminal() {
        eprintln!("Password (input is shown; prefer piping it or setting ECMO_PASSWORD):");
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("reading the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

pub fn user(args: UserArgs) -> Result<()> {
    match args.command {
        UserCommand::Add { db, role, name } => {
            let role: Role = role.parse().map_err(InvalidInput)?;
            ecmo_server::api::check_name(&name).map_err(|e| InvalidInput(format!("name '{name}': {}", e.reason())))?;
            let password = read_password()?;
            let hash = hash_password(&password).map_err(InvalidInput)?;
            let path = sqlite_path(&db)?;
            let mut store = SqliteStore::open(path).with_context(|| format!("opening {}", path.display()))?;
            match store.add_account(&name, role, &hash, now()) {
                Ok(_) => {}
                Err(ecmo_store::StoreError::Duplicate(what)) => {
                    return Err(InvalidInput(format!("{what} already exists")).into());
                }
                Err(e) => return Err(e.into()),
            }
            store.append_audit(&AuditRecord {
                at: now(),
                who: cli_actor(),
                role: String::new(),
                action: "create".into(),
                what: format!("account {name} ({role})"),
                patient_id: None,
                outcome: "success".into(),
                from: "command line".into(),
            })?;
            println!("Created account '{name}' with role {role} in {}.", path.display());
            Ok(())
        }
        UserCommand::List { db } => {
            let path = sqlite_path(&db)?;
            let store = SqliteStore::open(path).with_context(|| format!("opening {}", path.display()))?;
            for a in store.accounts()? {
                println!("{:<24} {:<11} {}", a.name, a.role, if a.disabled { "disabled" } else { "active" });
            }
            Ok(())
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum AuditCommand {
    /// Check the hash chain of the audit log; exit code 3 when it is broken.
    Verify {
        #[command(flatten)]
        db: DbArg,
    },
    /// Write the audit log as a FHIR R4 Bundle of AuditEvent resources (JSON).
    Export {
        #[command(flatten)]
        db: DbArg,
        /// Output file (default: standard output).
        #[arg(long, value_name = "FILE")]
        out: Option<std::path::PathBuf>,
    },
}

pub fn audit(args: AuditArgs) -> Result<()> {
    match args.command {
        AuditCommand::Verify { db } => {
            let path = sqlite_path(&db)?;
            let store = SqliteStore::open(path).with_context(|| format!("opening {}", path.display()))?;
            match verify_log(&store)? {
                Ok(n) => {
                    println!("audit log intact: {n} entries, each chained to the previous by SHA-256");
                    Ok(())
                }
                Err(b) => Err(InvalidInput(format!("audit log broken at {b}")).into()),
            }
        }
        AuditCommand::Export { db, out } => {
            let path = sqlite_path(&db)?;
            let mut store = SqliteStore::open(path).with_context(|| format!("opening {}", path.display()))?;
            let bundle = ecmo_server::fhir::export(&store)?;
            let text = serde_json::to_string_pretty(&bundle)?;
            match &out {
                Some(f) => std::fs::write(f, text + "\n").with_context(|| format!("writing {}", f.display()))?,
                None => println!("{text}"),
            }
            store.append_audit(&AuditRecord {
                at: now(),
                who: cli_actor(),
                role: String::new(),
                action: "export".into(),
                what: "audit log (FHIR AuditEvent)".into(),
                patient_id: None,
                outcome: "success".into(),
                from: "command line".into(),
            })?;
            Ok(())
        }
    }
}
