//! Deploying a definition: compiled against the node's connector catalog, stored once per
//! version, and known to the registry from then on.

use std::sync::Arc;

use daftar_definitions::{Options, compile};

use super::{Engine, RuntimeError};
use crate::store::StoredDefinition;

impl Engine {
    /// Deploys from now on against `catalog`: connector names are checked, and connectors'
    /// default retry policies fill the inquiry steps that set none.
    pub fn set_catalog(&self, catalog: daftar_definitions::Catalog) {
        *self.catalog.write().expect("lock") = Some(Arc::new(catalog));
    }

    /// Validates and deploys a definition's source for its agency. Each version is deployed
    /// once; deploying the same content again is a no-op.
    pub async fn deploy(&self, name: &str, source: &str) -> Result<StoredDefinition, RuntimeError> {
        let catalog = self.catalog.read().expect("lock").clone();
        let options = Options {
            catalog: catalog.as_deref(),
            workflows: None,
        };
        let compiled = compile(name, source, options).map_err(|d| {
            let lines: Vec<String> = d.iter().map(ToString::to_string).collect();
            RuntimeError::Definition(lines.join("\n"))
        })?;
        let wf = compiled.workflow();
        let stored = StoredDefinition {
            agency: wf.agency.clone(),
            workflow: wf.id.clone(),
            version: wf.version,
            hash: compiled.hash().to_owned(),
            in_force_from: wf.in_force_from,
            source: source.to_owned(),
        };
        self.store.deploy(&stored).await?;
        self.registry
            .add(&stored)
            .map_err(RuntimeError::Definition)?;
        Ok(stored)
    }
}
