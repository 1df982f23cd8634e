//! Deployed definitions, by content hash and by version in force.
//!
//! A new request is decided by the version of its workflow in force on its filing date (the
//! highest version whose `in_force_from`, in the workflow's time zone, is not after that
//! date); a running request keeps the version it started with, found by the hash its events
//! record, however many versions are deployed after it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use daftar_definitions::{Options, compile};

use crate::definition::Definition;
use crate::store::StoredDefinition;

/// Every deployed definition this node knows.
#[derive(Debug, Default)]
pub struct Registry {
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    by_hash: HashMap<String, Arc<Definition>>,
    /// (agency, workflow) → version → hash.
    versions: BTreeMap<(String, String), BTreeMap<u32, String>>,
}

impl Registry {
    /// Adds a deployed definition, compiling its source.
    pub fn add(&self, stored: &StoredDefinition) -> Result<Arc<Definition>, String> {
        let name = format!("{}/{}@{}", stored.agency, stored.workflow, stored.version);
        let compiled = compile(&name, &stored.source, Options::default()).map_err(|d| {
            let lines: Vec<String> = d.iter().map(ToString::to_string).collect();
            format!("{name} does not compile:\n{}", lines.join("\n"))
        })?;
        if compiled.hash() != stored.hash {
            return Err(format!(
                "{name}: its source hashes to {}, not {}",
                compiled.hash(),
                stored.hash
            ));
        }
        let def = Arc::new(Definition::new(compiled)?);
        let mut inner = self.inner.write().expect("lock");
        inner.by_hash.insert(stored.hash.clone(), def.clone());
        inner
            .versions
            .entry((stored.agency.clone(), stored.workflow.clone()))
            .or_default()
            .insert(stored.version, stored.hash.clone());
        Ok(def)
    }

    /// The definition with a content hash.
    pub fn by_hash(&self, hash: &str) -> Option<Arc<Definition>> {
        self.inner.read().expect("lock").by_hash.get(hash).cloned()
    }

    /// The version of a workflow in force for a request filed at `filed_at`.
    pub fn in_force(
        &self,
        agency: &str,
        workflow: &str,
        filed_at: DateTime<Utc>,
    ) -> Option<Arc<Definition>> {
        let inner = self.inner.read().expect("lock");
        let versions = inner
            .versions
            .get(&(agency.to_owned(), workflow.to_owned()))?;
        versions.values().rev().find_map(|hash| {
            let def = inner.by_hash.get(hash)?;
            let wf = def.compiled().workflow();
            let tz: chrono_tz::Tz = wf.timezone.parse().unwrap_or(chrono_tz::Asia::Tehran);
            let filed_on = filed_at.with_timezone(&tz).date_naive();
            (wf.in_force_from <= filed_on).then(|| def.clone())
        })
    }

    /// Every (agency, workflow) with at least one version.
    pub fn workflows(&self) -> Vec<(String, String)> {
        self.inner
            .read()
            .expect("lock")
            .versions
            .keys()
            .cloned()
            .collect()
    }
}
