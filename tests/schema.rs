//! The committed JSON Schema (docs/schema/workflow.schema.json) is what `daftar schema`
//! prints, so editors autocomplete exactly the language the validator accepts.
//! Regenerate with `UPDATE_GOLDEN=1 cargo test --test schema`.

use std::path::Path;

#[test]
fn committed_schema_is_current() {
    let generated =
        serde_json::to_string_pretty(daftar_definitions::schema::language_schema()).unwrap() + "\n";
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schema/workflow.schema.json");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is out of date; regenerate it with `UPDATE_GOLDEN=1 cargo test --test schema`",
        path.display()
    );
}

#[test]
fn schema_documents_every_step_kind() {
    let schema = daftar_definitions::schema::language_schema();
    let step = &schema["$defs"]["Step"]["properties"];
    for kind in daftar_definitions::model::StepKind::ALL {
        let field = &step[kind.key()];
        assert!(
            field.is_object(),
            "step kind `{}` missing from the schema",
            kind.key()
        );
        assert!(
            field["description"].as_str().is_some_and(|d| !d.is_empty()),
            "step kind `{}` has no description for editors",
            kind.key()
        );
    }
}
