//! Checks a model's tool arguments against the tool's JSON Schema before the call goes out.
//!
//! Only the parts of JSON Schema that tool schemas use in practice are checked: the value is an
//! object, required properties are present, declared properties have the declared type (and enum
//! value), and no unknown property is sent when `additionalProperties` is false. A failure becomes
//! a message the model can act on.

use serde_json::{Map, Value};

/// Validates `args` against `schema`, returning the arguments as an object or a message for the
/// model that says what to fix.
///
/// # Errors
/// Returns the correction message when the arguments do not fit the schema.
pub fn validate(tool: &str, schema: &Value, args: &Value) -> Result<Map<String, Value>, String> {
    let args = match args {
        Value::Object(map) => map.clone(),
        Value::Null => Map::new(),
        Value::String(s) if s.trim().is_empty() => Map::new(),
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(map)) => map,
            _ => {
                return Err(format!(
                    "Arguments for {tool} must be a JSON object; got a string. {}",
                    expected(schema)
                ));
            }
        },
        other => {
            return Err(format!(
                "Arguments for {tool} must be a JSON object; got {}. {}",
                kind(other),
                expected(schema)
            ));
        }
    };
    let mut problems = Vec::new();
    let properties = schema.get("properties").and_then(Value::as_object);
    if let Some(required) = schema.get("required").and_then(Value::as_array) {
        for name in required.iter().filter_map(Value::as_str) {
            if args.get(name).is_none_or(Value::is_null) {
                problems.push(format!("missing required argument `{name}`"));
            }
        }
    }
    for (name, value) in &args {
        match properties.and_then(|p| p.get(name)) {
            Some(prop) => check_value(name, prop, value, &mut problems),
            None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                problems.push(format!("unknown argument `{name}`"));
            }
            None => {}
        }
    }
    if problems.is_empty() {
        Ok(args)
    } else {
        Err(format!(
            "Invalid arguments for {tool}: {}. {} Call the tool again with corrected arguments.",
            problems.join("; "),
            expected(schema)
        ))
    }
}

fn check_value(name: &str, prop: &Value, value: &Value, problems: &mut Vec<String>) {
    if value.is_null() {
        return;
    }
    let types: Vec<&str> = match prop.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() && !types.iter().any(|t| type_matches(t, value)) {
        problems.push(format!(
            "`{name}` must be {} (got {})",
            types.join(" or "),
            kind(value)
        ));
        return;
    }
    if let Some(options) = prop.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        let list: Vec<String> = options.iter().map(Value::to_string).collect();
        problems.push(format!("`{name}` must be one of {}", list.join(", ")));
    }
}

fn type_matches(t: &str, value: &Value) -> bool {
    match t {
        "string" => value.is_string(),
        "integer" => {
            value.as_i64().is_some()
                || value.as_u64().is_some()
                || value.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "null" => value.is_null(),
        _ => true,
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A one-line summary of the expected arguments, for the correction message.
fn expected(schema: &Value) -> String {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return String::new();
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let parts: Vec<String> = props
        .iter()
        .take(20)
        .map(|(name, p)| {
            let t = p.get("type").map_or_else(
                || "any".to_owned(),
                |t| t.as_str().map_or_else(|| t.to_string(), str::to_owned),
            );
            let req = if required.contains(&name.as_str()) {
                ", required"
            } else {
                ""
            };
            format!("{name} ({t}{req})")
        })
        .collect();
    format!("Expected arguments: {}.", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> Value {
        json!({"type": "object", "properties": {"message": {"type": "string"}, "n": {"type": "integer"}, "mode": {"type": "string", "enum": ["a", "b"]}}, "required": ["message"], "additionalProperties": false})
    }

    #[test]
    fn valid_arguments_pass() {
        let args = validate("t", &schema(), &json!({"message": "hi", "n": 2})).unwrap();
        assert_eq!(args["message"], "hi");
        assert!(validate("t", &schema(), &json!("{\"message\": \"x\"}")).is_ok());
        assert!(validate("t", &json!({"type": "object"}), &Value::Null).is_ok());
    }

    #[test]
    fn problems_are_explained() {
        let err = validate(
            "t",
            &schema(),
            &json!({"n": "two", "mode": "c", "extra": 1}),
        )
        .unwrap_err();
        assert!(err.contains("missing required argument `message`"), "{err}");
        assert!(err.contains("`n` must be integer (got a string)"), "{err}");
        assert!(err.contains("`mode` must be one of \"a\", \"b\""), "{err}");
        assert!(err.contains("unknown argument `extra`"), "{err}");
        assert!(err.contains("Expected arguments: "), "{err}");
        assert!(
            validate("t", &schema(), &json!([1]))
                .unwrap_err()
                .contains("must be a JSON object")
        );
    }
}
