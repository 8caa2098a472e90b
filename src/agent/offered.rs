//! The tools offered in one turn, each measured once.
//!
//! Every request of a turn is fitted to the model's context with the size of the tools it
//! offers, and the history budget and the `offered_schema_bytes` metric need that size too. A
//! tool's size is the length of its wire JSON, which takes serialising its schema to know; the
//! set only grows within a turn (`find_tools`, a call of a tool not offered), so each tool is
//! measured when it joins and the sums are read from there.

use super::budget;
use crate::llm::ToolSpec;

/// The tools offered in a turn, with the length of each one's wire JSON.
#[derive(Debug, Default)]
pub(super) struct Offered {
    /// The tools, in the order they are offered.
    specs: Vec<ToolSpec>,
    /// The length in bytes of each tool's wire JSON, in the same order.
    wire_lens: Vec<usize>,
}

impl Offered {
    /// The set of `specs`, each measured now.
    pub(super) fn new(specs: Vec<ToolSpec>) -> Self {
        let wire_lens = specs.iter().map(ToolSpec::wire_len).collect();
        Self { specs, wire_lens }
    }

    /// The tools, in the order they are offered.
    pub(super) fn specs(&self) -> &[ToolSpec] {
        &self.specs
    }

    /// Whether a tool named `name` is offered.
    pub(super) fn contains(&self, name: &str) -> bool {
        self.specs.iter().any(|t| t.name == name)
    }

    /// Offers `spec` too, measuring it.
    pub(super) fn push(&mut self, spec: ToolSpec) {
        self.wire_lens.push(spec.wire_len());
        self.specs.push(spec);
    }

    /// The bytes of the offered tools' wire JSON, as [`super::select::schema_bytes`] counts
    /// them.
    pub(super) fn schema_bytes(&self) -> usize {
        self.wire_lens.iter().sum()
    }

    /// The estimated tokens of the offered tools, as [`budget::estimate_wire_lens`] counts them.
    pub(super) fn tokens(&self) -> u32 {
        budget::estimate_wire_lens(&self.wire_lens)
    }
}

impl Extend<ToolSpec> for Offered {
    fn extend<I: IntoIterator<Item = ToolSpec>>(&mut self, specs: I) {
        for spec in specs {
            self.push(spec);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::agent::select;

    fn spec(name: &str, properties: usize) -> ToolSpec {
        let properties: serde_json::Map<String, serde_json::Value> = (0..properties)
            .map(|i| {
                (
                    format!("p{i}"),
                    json!({"type": "string", "description": "a value"}),
                )
            })
            .collect();
        ToolSpec {
            name: name.to_owned(),
            description: format!("The tool {name}."),
            parameters: json!({"type": "object", "properties": properties}).into(),
        }
    }

    /// The measured sums equal those computed from the tools themselves, as the set grows.
    #[test]
    fn sums_match_the_tools_as_the_set_grows() {
        let mut offered = Offered::new(Vec::new());
        assert_eq!(offered.tokens(), 0);
        assert_eq!(offered.schema_bytes(), 0);
        offered = Offered::new(vec![spec("a_one", 1), spec("a_two", 5)]);
        offered.push(spec("b_three", 12));
        offered.extend([spec("c_connect", 0), spec("d_four", 3)]);
        let specs = offered.specs().to_vec();
        assert_eq!(specs.len(), 5);
        let measured: Vec<usize> = specs.iter().map(ToolSpec::wire_len).collect();
        assert_eq!(offered.tokens(), budget::estimate_wire_lens(&measured));
        assert!(offered.tokens() > 0);
        assert_eq!(offered.schema_bytes(), select::schema_bytes(&specs));
        assert!(offered.contains("b_three"));
        assert!(!offered.contains("b_thre"));
    }
}
