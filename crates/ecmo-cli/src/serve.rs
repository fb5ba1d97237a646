//! `ecmo serve` (the web application), `ecmo user` (accounts) and `ecmo audit`
//! (verify and export the audit log). The work is in crate ecmo-server.

use crate::{DbArg, InvalidInput};
use anyhow::{Context, Result};
use ecmo_server::auth::{hash_password, now};
use ecmo_server::state::WebStore;
use ecmo_store::accounts::Role;
use ecmo_store::audit::{AuditLog, AuditRecord, verify_log};
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

/// The registry with its accounts and audit log (SQLite file or PostgreSQL URL).
fn open(db: &DbArg) -> Result<Box<dyn WebStore>> {
    ecmo_server::state::open_web_store(&db.db).with_context(|| format!("opening {}", db.label()))
}

pub fn serve(args: ServeArgs) -> Result<()> {
    if !args.db.exists() {
        return Err(InvalidInput(format!(
            "no registry at {}; create one with `ecmo demo` or `ecmo import DIR --db {}`",
            args.db.label(),
            args.db.label()
        ))
        .into());
    }
    let assess = ecmo_bedside::AssessConfig {
        models: load_models(args.models.as_deref())?,
        ..ecmo_bedside::AssessConfig::default()
    };
    let state = ecmo_server::AppState::open_with(&args.db.db, assess)
        .with_context(|| format!("opening {}", args.db.label()))?;
    let has_admin = {
        let store = state.pool.get()?;
        store.accounts()?.iter().any(|a| a.role == Role::Admin && !a.disabled)
    };
    if !has_admin {
        eprintln!(
            "note: no administrator yet; create one with `ecmo user add --role admin NAME --db {}`",
            args.db.label()
        );
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let served = rt.block_on(ecmo_server::serve(state.clone(), args.addr));
    // The last handle on the connection pool is dropped here, outside the async runtime
    // (the synchronous PostgreSQL client must not be dropped inside it).
    drop(rt);
    drop(state);
    served.with_context(|| format!("serving on {}", args.addr))?;
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
            let mut store = open(&db)?;
            let audit = AuditRecord {
                at: now(),
                who: cli_actor(),
                role: String::new(),
                action: "create".into(),
                what: format!("account {name} ({role})"),
                patient_id: None,
                outcome: "success".into(),
                from: "command line".into(),
            };
            // The account and its audit entry are written in one transaction.
            match store.add_account_audited(&name, role, &hash, now(), &audit) {
                Ok(_) => {}
                Err(ecmo_store::StoreError::Duplicate(what)) => {
                    return Err(InvalidInput(format!("{what} already exists")).into());
                }
                Err(e) => return Err(e.into()),
            }
            println!("Created account '{name}' with role {role} in {}.", db.label());
            Ok(())
        }
        UserCommand::List { db } => {
            let store = open(&db)?;
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
            let store = open(&db)?;
            let log: &dyn AuditLog = &*store;
            match verify_log(log)? {
                Ok(n) => {
                    println!("audit log intact: {n} entries, each chained to the previous by SHA-256");
                    Ok(())
                }
                Err(b) => Err(InvalidInput(format!("audit log broken at {b}")).into()),
            }
        }
        AuditCommand::Export { db, out } => {
            let mut store = open(&db)?;
            let log: &dyn AuditLog = &*store;
            let bundle = ecmo_server::fhir::export(log)?;
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
