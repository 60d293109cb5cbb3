//! `rename`: move a container to a new name. The new name is claimed
//! atomically first (so it can never be held twice), then the record is
//! rewritten under the container's lock, then the old name is released.

use crate::engine::container::ContainerError;
use crate::engine::Engine;
use crate::state::container::ContainerRecord;
use crate::state::names;

impl Engine {
    /// Rename `input` to `new_name`; returns the renamed record.
    pub fn rename_container(
        &self,
        input: &str,
        new_name: &str,
    ) -> Result<ContainerRecord, ContainerError> {
        names::validate(new_name).map_err(crate::state::StateError::from)?;
        let rec = self.find_container(input)?;
        let store = self.containers()?;
        let _lock = store.lock(&rec.id)?;
        let Some(mut current) = store.get(&rec.id)? else {
            return Err(crate::state::StateError::NoSuchContainer(input.to_string()).into());
        };
        if current.name == new_name {
            return Ok(current);
        }
        let old_name = current.name.clone();
        store
            .names()
            .claim(new_name, &current.id)
            .map_err(crate::state::StateError::from)?;
        current.name = new_name.to_string();
        if let Err(e) = store.put(&current) {
            // Give the new name back: the record still says the old one.
            let _ = store.names().release(new_name, &current.id);
            return Err(e.into());
        }
        if let Err(e) = store.names().release(&old_name, &current.id) {
            tracing::warn!("releasing the old name {old_name:?}: {e}");
        }
        Ok(current)
    }
}
