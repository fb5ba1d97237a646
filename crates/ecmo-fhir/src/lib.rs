//! FHIR R4 for the registry: import a Bundle of Patient, Encounter, Observation,
//! MedicationAdministration and Procedure resources; export the registry as a Bundle and a
//! run's derived scores as Observations with components.
//!
//! Import turns every resource into the rows of the registry CSV format and validates them
//! with the CSV reader itself (`ecmo_store::csv_format`), so units, plausibility and
//! references are checked by one piece of code whatever the source; problems are reported
//! per Bundle entry with the FHIR element path. The codes read are in `mapping.csv`, a
//! reviewable table (docs/fhir.md). The resource types are hand-written views on
//! `serde_json::Value` of the few elements read, not a generated FHIR model; both directions
//! stream: export writes run by run, import parses entry by entry (docs/fhir.md, Memory).

pub mod export;
pub mod import;
pub mod mapping;

/// Base of the ecmo-cds code systems and extensions. `.invalid` is reserved (RFC 2606):
/// the URLs name, they do not resolve.
pub const BASE: &str = "https://example.invalid/ecmo-cds/fhir";

pub const LOINC: &str = "http://loinc.org";
pub const SNOMED: &str = "http://snomed.info/sct";
pub const RXNORM: &str = "http://www.nlm.nih.gov/research/umls/rxnorm";
pub const ATC: &str = "http://www.whocc.no/atc";
pub const UCUM: &str = "http://unitsofmeasure.org";

/// The ecmo-cds code system of one kind of code (`quantity`, `drug`, `support`, `event`, `score`).
pub fn code_system(kind: &str) -> String {
    format!("{BASE}/CodeSystem/{kind}")
}

/// The URL of an ecmo-cds extension; the name is the registry CSV column it carries.
pub fn extension_url(name: &str) -> String {
    format!("{BASE}/StructureDefinition/{name}")
}

pub use import::{
    BundleImport, FhirIssue, ImportError, ReadBundle, import_bundle, import_bundle_from, read_bundle, read_bundle_from,
};
