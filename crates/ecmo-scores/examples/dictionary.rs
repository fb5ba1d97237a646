//! Print the feature data dictionary as a Markdown table (docs/features.md).

fn main() {
    println!("| # | column | unit | window | definition |");
    println!("|---|---|---|---|---|");
    println!("| - | `run_id` | - | - | run identifier |");
    println!("| - | `patient_id` | - | - | patient identifier |");
    println!("| - | `etiology` | code | - | indication for ECMO (ecmo-domain `Etiology` code) |");
    for (i, c) in ecmo_scores::features::COLUMNS.iter().enumerate() {
        println!("| {} | `{}` | {} | {} | {} |", i + 1, c.name, c.unit, c.window, c.definition);
    }
}
