use std::fmt;

use crate::model::PathSegment;

/// Escapes one key for use in a JSON pointer (RFC 6901).
pub fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// A JSON pointer built segment by segment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pointer(String);

impl Pointer {
    /// The document's root.
    pub fn root() -> Self {
        Pointer(String::new())
    }

    /// This pointer with a key appended.
    pub fn key(&self, key: &str) -> Self {
        Pointer(format!("{}/{}", self.0, escape(key)))
    }

    /// This pointer with an index appended.
    pub fn index(&self, i: usize) -> Self {
        Pointer(format!("{}/{i}", self.0))
    }

    /// This pointer with path segments appended.
    pub fn join(&self, segments: &[PathSegment]) -> Self {
        segments.iter().fold(self.clone(), |p, s| match s {
            PathSegment::Key(k) => p.key(k),
            PathSegment::Index(i) => p.index(*i),
        })
    }

    /// The pointer text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Pointer {
    fn from(s: &str) -> Self {
        Pointer(s.to_owned())
    }
}
