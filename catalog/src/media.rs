//! Picking the schema of a request or response body among its media types: JSON first.

use serde_json::Value;

/// The schema of `object`'s `content`: `application/json`, else any JSON type, else the first.
pub(crate) fn first_media_schema(object: &Value) -> Option<&Value> {
    let content = object.get("content")?.as_object()?;
    let media = content
        .get("application/json")
        .or_else(|| {
            content
                .iter()
                .find(|(media_type, _)| media_type.contains("json"))
                .map(|(_, media)| media)
        })
        .or_else(|| content.values().next())?;
    media.get("schema")
}
