//! Deploying a definition: compiled against the node's connector catalog, stored once per
//! version, and known to the registry from then on.

use std::sync::Arc;

use daftar_definitions::{Options, compile};

use super::{Deployment, Engine, RuntimeError};
use crate::store::{StoreError, StoredDefinition};

impl Engine {
    /// Deploys from now on against `catalog`: connector names are checked, and connectors'
    /// default retry policies fill the inquiry steps that set none.
    pub fn set_catalog(&self, catalog: daftar_definitions::Catalog) {
        *self.catalog.write().expect("lock") = Some(Arc::new(catalog));
    }

    /// Validates and deploys a definition's source for its agency. Each version is deployed
    /// once; deploying the same content again is a no-op.
    pub async fn deploy(&self, name: &str, source: &str) -> Result<StoredDefinition, RuntimeError> {
        Ok(self.deploy_version(name, source).await?.definition)
    }

    /// Validates and deploys a definition's source for its agency, saying whether this very
    /// content was deployed before. A deployed version never changes: the same content again
    /// changes nothing (`already_deployed`), other content under a deployed version is refused
    /// with [`StoreError::VersionTaken`].
    pub async fn deploy_version(
        &self,
        name: &str,
        source: &str,
    ) -> Result<Deployment, RuntimeError> {
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
        let mut stored = StoredDefinition {
            agency: wf.agency.clone(),
            workflow: wf.id.clone(),
            version: wf.version,
            hash: compiled.hash().to_owned(),
            in_force_from: wf.in_force_from,
            source: source.to_owned(),
        };
        let deployed = self
            .store
            .definitions(Some(&stored.agency))
            .await?
            .into_iter()
            .find(|d| d.workflow == stored.workflow && d.version == stored.version);
        let already_deployed = match deployed {
            Some(existing) if existing.hash != stored.hash => {
                return Err(StoreError::VersionTaken {
                    workflow: stored.workflow,
                    version: stored.version,
                }
                .into());
            }
            Some(existing) => {
                stored = existing;
                true
            }
            None => {
                self.store.deploy(&stored).await?;
                false
            }
        };
        self.registry
            .add(&stored)
            .map_err(RuntimeError::Definition)?;
        Ok(Deployment {
            definition: stored,
            already_deployed,
        })
    }
}
