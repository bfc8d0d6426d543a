//! The order in which paths and methods appear in the document.
//!
//! `serde_json::Value` keeps objects in sorted maps (turning on `preserve_order` would change
//! every crate of the workspace), yet the studio lists operations in the order the document's
//! author chose. So the text is read a second time for its keys alone.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{IgnoredAny, MapAccess, Visitor};

/// Each path template with the keys of its path item, both in document order.
#[derive(Deserialize)]
pub(crate) struct DocumentOrder {
    #[serde(default)]
    paths: KeysInOrder<KeysInOrder<IgnoredAny>>,
}

impl DocumentOrder {
    /// Path templates with their item's keys; a template written twice is listed once.
    pub(crate) fn paths(&self) -> impl Iterator<Item = (&str, Vec<&str>)> {
        let mut seen: Vec<&str> = Vec::new();
        self.paths.0.iter().filter_map(move |(template, item)| {
            if seen.contains(&template.as_str()) {
                return None;
            }
            seen.push(template);
            let keys = item.0.iter().map(|(key, _)| key.as_str()).collect();
            Some((template.as_str(), keys))
        })
    }
}

/// A JSON object read as a list of entries, keeping the order of the text.
struct KeysInOrder<T>(Vec<(String, T)>);

impl<T> Default for KeysInOrder<T> {
    fn default() -> Self {
        KeysInOrder(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for KeysInOrder<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EntriesVisitor(PhantomData))
    }
}

struct EntriesVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for EntriesVisitor<T> {
    type Value = KeysInOrder<T>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
        while let Some(entry) = map.next_entry::<String, T>()? {
            entries.push(entry);
        }
        Ok(KeysInOrder(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_methods_keep_the_order_of_the_text() {
        let text = r#"{"paths": {"/z": {"post": {}, "get": {}}, "/a": {"delete": {}}}}"#;

        let order: DocumentOrder = serde_json::from_str(text).expect("valid JSON");
        let listed: Vec<(&str, Vec<&str>)> = order.paths().collect();

        assert_eq!(
            listed,
            vec![("/z", vec!["post", "get"]), ("/a", vec!["delete"])]
        );
    }
}
