//! From text to a JSON value that remembers where each of its parts was written.
//!
//! The YAML is read event by event with `saphyr-parser` (the maintained successor of
//! yaml-rust; `serde_yaml` is archived), and scalars are resolved by the YAML 1.2 core schema
//! with `saphyr`. Reading events rather than deserializing straight into types is what lets
//! validation report *every* problem with its line and column, find duplicate keys (which
//! YAML forbids and most loaders silently accept), and refuse hostile input early: the size,
//! the nesting depth and the number of nodes that aliases expand to are all bounded, so an
//! alias bomb is refused after a bounded amount of work rather than expanded.

mod loader;
mod pointer;

pub use loader::{Limits, load};
pub use pointer::{Pointer, escape};

use std::collections::HashMap;

use crate::diagnostic::{Code, Location};

/// Where a value and its key were written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Spot {
    /// The key's place, for values of a mapping.
    pub key: Option<Location>,
    /// The value's place.
    pub value: Location,
}

/// JSON pointer → place in the source.
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    spots: HashMap<String, Spot>,
}

impl SourceMap {
    pub(crate) fn insert(&mut self, pointer: String, spot: Spot) {
        self.spots.insert(pointer, spot);
    }

    /// Where the key of exactly this value was written, if it has one.
    pub(crate) fn key_at(&self, pointer: &str) -> Option<crate::diagnostic::Location> {
        self.spots.get(pointer).and_then(|s| s.key)
    }

    /// The place of a value, or of its nearest ancestor that has one (values that come from
    /// an alias are placed at the alias).
    pub fn spot(&self, pointer: &str) -> Spot {
        let mut p = pointer;
        loop {
            if let Some(s) = self.spots.get(p) {
                return *s;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return Spot::default(),
            }
        }
    }

    /// The place to show for a finding about the value at `pointer`.
    pub fn locate(&self, pointer: &str, at_key: bool) -> Location {
        let spot = self.spot(pointer);
        let loc = if at_key {
            spot.key.unwrap_or(spot.value)
        } else {
            spot.value
        };
        if loc.line == 0 {
            Location { line: 1, column: 1 }
        } else {
            loc
        }
    }
}

/// A loaded document.
#[derive(Clone, Debug)]
pub struct Document {
    /// The document as JSON.
    pub value: serde_json::Value,
    /// Where each part of it was written.
    pub map: SourceMap,
}

/// A problem found while reading the text, before any meaning is given to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadProblem {
    /// The code.
    pub code: Code,
    /// What is wrong.
    pub message: String,
    /// Where.
    pub location: Location,
    /// The JSON pointer of the value, when known.
    pub pointer: String,
}
