//! docs/models.md: the example loads, and the JSON Schema's required fields are
//! exactly the fields the program always writes.

use ecmo_model::ModelFile;
use std::collections::BTreeSet;

fn json_blocks() -> Vec<String> {
    let doc = include_str!("../../../docs/models.md");
    doc.split("```json\n").skip(1).map(|b| b.split("```").next().unwrap_or_default().to_string()).collect()
}

fn keys(v: &serde_json::Value) -> BTreeSet<String> {
    v.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
}

fn required(v: &serde_json::Value) -> BTreeSet<String> {
    v["required"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect()
}

#[test]
fn example_loads_and_schema_matches() {
    let blocks = json_blocks();
    assert_eq!(blocks.len(), 2, "docs/models.md should hold the example and the schema");
    let model = ModelFile::from_json(&blocks[0], "docs/models.md example").unwrap();
    let written: serde_json::Value = serde_json::from_str(&model.to_json()).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&blocks[1]).unwrap();
    let mut always = keys(&written);
    always.remove("caveats");
    assert_eq!(required(&schema), always);
    assert_eq!(keys(&schema["properties"]), keys(&written));
    let dev_schema = &schema["properties"]["development"];
    let dev_written = keys(&written["development"]);
    assert!(required(dev_schema).is_subset(&dev_written));
    assert_eq!(keys(&dev_schema["properties"]), dev_written);
    let pred_schema = &schema["properties"]["predictors"]["items"];
    let pred_written = keys(&written["predictors"][0]);
    assert!(required(pred_schema).is_subset(&pred_written));
    assert_eq!(keys(&pred_schema["properties"]), pred_written);
}
