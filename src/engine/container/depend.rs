//! Dependencies between containers (`--requires`): a container's
//! requirements start before it, and a container others require is removed
//! only after them (`rm --depend`), as podman does.

use std::collections::BTreeSet;

use crate::engine::container::ContainerError;
use crate::engine::Engine;
use crate::state::container::ContainerRecord;

impl Engine {
    /// The ids of the containers named by `--requires`.
    pub fn resolve_requirements(&self, named: &[String]) -> Result<Vec<String>, ContainerError> {
        let store = self.containers()?;
        let mut ids: Vec<String> = Vec::new();
        for n in named {
            let rec = store
                .lookup(n)
                .map_err(|e| ContainerError::Invalid(format!("--requires {n}: {e}")))?;
            if !ids.contains(&rec.id) {
                ids.push(rec.id);
            }
        }
        Ok(ids)
    }

    /// The containers that require `id` directly.
    pub fn dependents_of(&self, id: &str) -> Result<Vec<ContainerRecord>, ContainerError> {
        Ok(self
            .containers()?
            .list()?
            .into_iter()
            .filter(|r| r.config.requires.iter().any(|x| x == id))
            .collect())
    }

    /// Start what `rec` requires that is not running yet.
    pub(crate) fn start_requirements(&self, rec: &ContainerRecord) -> Result<(), ContainerError> {
        for id in &rec.config.requires {
            let dep = self.find_container(id).map_err(|e| {
                ContainerError::Invalid(format!(
                    "container {} requires container {id}, which cannot be found: {e}",
                    rec.name
                ))
            })?;
            if !dep.state.status.is_live() {
                self.start_container(&dep.id)?;
            }
        }
        Ok(())
    }
}

/// `ids` reordered so that every container comes before the containers it
/// requires (removal order); requirements outside `ids` do not matter.
pub fn removal_order(records: &[ContainerRecord]) -> Vec<String> {
    let mut out = Vec::new();
    // Repeatedly take the containers no remaining container requires.
    let mut left: Vec<&ContainerRecord> = records.iter().collect();
    while !left.is_empty() {
        let required: BTreeSet<&str> = left
            .iter()
            .flat_map(|r| r.config.requires.iter().map(String::as_str))
            .collect();
        let (ready, rest): (Vec<_>, Vec<_>) = left
            .into_iter()
            .partition(|r| !required.contains(r.id.as_str()));
        if ready.is_empty() {
            // Not possible for records made by create (requirements exist
            // first); keep going rather than loop.
            out.extend(rest.iter().map(|r| r.id.clone()));
            break;
        }
        out.extend(ready.iter().map(|r| r.id.clone()));
        left = rest;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::container::{ContainerConfig, ContainerState, ImageRef};

    fn rec(id: &str, requires: &[&str]) -> ContainerRecord {
        ContainerRecord {
            id: id.to_string(),
            name: id.to_string(),
            image: ImageRef {
                id: crate::image::digest::Digest::of(b"x"),
                name: "x".into(),
                top_layer: None,
            },
            created: chrono::Utc::now(),
            config: ContainerConfig {
                requires: requires.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            },
            args: vec![],
            runtime: "runc".into(),
            state: ContainerState::default(),
        }
    }

    #[test]
    fn dependents_are_removed_before_what_they_require() {
        let recs = [
            rec("db", &[]),
            rec("app", &["db"]),
            rec("web", &["app", "db"]),
            rec("x", &[]),
        ];
        let order = removal_order(&recs);
        let pos = |id: &str| order.iter().position(|x| x == id).expect("present");
        assert_eq!(order.len(), 4);
        assert!(pos("web") < pos("app"));
        assert!(pos("app") < pos("db"));
    }
}
