//! Turning an MCP `tools/call` result into the [`ToolOutput`] the model reads.
//!
//! Text blocks are joined with newlines. Binary blocks (images, audio, blob resources) are
//! described in one line, such as `[image: image/png, 12 KB]`, because a text model cannot use
//! their bytes. Embedded text resources are included with a header naming their URI. Structured
//! content and the error flag are kept as they came. Every string taken from the server for a
//! description (MIME types, URIs, names) is cut to a short length and stripped of control
//! characters.

use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};

use super::ToolOutput;

/// The most characters of a MIME type, URI or name used in a one-line description.
const MAX_LABEL_CHARS: usize = 200;

/// Converts a `tools/call` result into what the model will read.
///
/// When the result has no content blocks but has structured content, the text is the structured
/// content as compact JSON, so the model still sees the answer.
#[must_use]
pub fn tool_output(result: CallToolResult) -> ToolOutput {
    let mut parts: Vec<String> = Vec::with_capacity(result.content.len());
    for block in result.content {
        parts.push(describe_block(block));
    }
    let mut text = parts.join("\n");
    if text.is_empty()
        && let Some(structured) = &result.structured_content
        && !structured.is_null()
    {
        text = structured.to_string();
    }
    ToolOutput {
        text,
        structured: result.structured_content,
        is_error: result.is_error.unwrap_or(false),
    }
}

/// One content block as text: the text itself, or a one-line description.
fn describe_block(block: ContentBlock) -> String {
    match block {
        ContentBlock::Text(text) => text.text,
        ContentBlock::Image(image) => format!(
            "[image: {}, {}]",
            label(&image.mime_type),
            human_size(base64_decoded_len(&image.data))
        ),
        ContentBlock::Audio(audio) => format!(
            "[audio: {}, {}]",
            label(&audio.mime_type),
            human_size(base64_decoded_len(&audio.data))
        ),
        ContentBlock::Resource(embedded) => match embedded.resource {
            ResourceContents::TextResourceContents { uri, text, .. } => {
                format!("[resource: {}]\n{text}", label(&uri))
            }
            ResourceContents::BlobResourceContents {
                uri,
                mime_type,
                blob,
                ..
            } => format!(
                "[resource: {}, {}, {}]",
                label(&uri),
                mime_type
                    .as_deref()
                    .map_or_else(|| "binary".to_owned(), label),
                human_size(base64_decoded_len(&blob))
            ),
            _ => "[resource of a kind the gateway does not know]".to_owned(),
        },
        ContentBlock::ResourceLink(link) => {
            let mut line = format!(
                "[resource link: {} <{}>",
                label(&link.name),
                label(&link.uri)
            );
            if let Some(mime) = &link.mime_type {
                line.push_str(", ");
                line.push_str(&label(mime));
            }
            if let Some(size) = link.size {
                line.push_str(", ");
                line.push_str(&human_size(size));
            }
            line.push(']');
            line
        }
        _ => "[content of a kind the gateway does not know]".to_owned(),
    }
}

/// A short, single-line rendering of a server-supplied label.
fn label(text: &str) -> String {
    let mut out: String = text
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_LABEL_CHARS)
        .collect();
    if text.chars().count() > MAX_LABEL_CHARS {
        out.push('…');
    }
    if out.is_empty() {
        out.push_str("unknown");
    }
    out
}

/// The number of bytes that base64 `data` decodes to, without decoding it.
fn base64_decoded_len(data: &str) -> u64 {
    let significant = data
        .bytes()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'=')
        .count();
    u64::try_from(significant.saturating_mul(3) / 4).unwrap_or(u64::MAX)
}

/// A byte count as people write it: `512 B`, `12 KB`, `3.4 MB`.
fn human_size(bytes: u64) -> String {
    const KB: u64 = 1024;
    const MB: u64 = 1024 * 1024;
    if bytes < KB {
        format!("{bytes} B")
    } else if bytes < MB {
        format!("{} KB", (bytes + KB / 2) / KB)
    } else {
        let tenths = (bytes.saturating_mul(10) + MB / 2) / MB;
        format!("{}.{} MB", tenths / 10, tenths % 10)
    }
}

#[cfg(test)]
mod tests {
    use rmcp::model::{EmbeddedResource, Resource};
    use serde_json::json;

    use super::*;

    fn result(content: Vec<ContentBlock>) -> CallToolResult {
        let mut r = CallToolResult::success(content);
        r.is_error = None;
        r
    }

    #[test]
    fn text_blocks_are_joined_with_newlines() {
        let out = tool_output(result(vec![
            ContentBlock::text("one"),
            ContentBlock::text("two"),
        ]));
        assert_eq!(out.text, "one\ntwo");
        assert!(!out.is_error);
        assert_eq!(out.structured, None);
    }

    #[test]
    fn images_and_audio_are_described_with_their_decoded_size() {
        // 16 KiB of zero bytes is 21848 base64 characters (with padding).
        let data = "A".repeat(21_844) + "AA==";
        let out = tool_output(result(vec![
            ContentBlock::image(data.clone(), "image/png"),
            ContentBlock::Audio(rmcp::model::AudioContent::new("AAAA", "audio/wav")),
        ]));
        assert_eq!(
            out.text,
            "[image: image/png, 16 KB]\n[audio: audio/wav, 3 B]"
        );
    }

    #[test]
    fn embedded_text_resources_are_included_and_blobs_described() {
        let text = ContentBlock::Resource(EmbeddedResource::new(ResourceContents::text(
            "hello world",
            "demo://a",
        )));
        let blob = ContentBlock::Resource(EmbeddedResource::new(
            ResourceContents::BlobResourceContents {
                uri: "demo://b".into(),
                mime_type: Some("application/pdf".into()),
                blob: "A".repeat(4 * 1024 * 1024 / 3 * 2),
                meta: None,
            },
        ));
        let out = tool_output(result(vec![text, blob]));
        assert_eq!(
            out.text,
            "[resource: demo://a]\nhello world\n[resource: demo://b, application/pdf, 2.0 MB]"
        );
    }

    #[test]
    fn resource_links_name_their_target() {
        let mut link = Resource::new("file:///tmp/x.txt", "x.txt");
        link.mime_type = Some("text/plain".into());
        link.size = Some(2048);
        let out = tool_output(result(vec![ContentBlock::ResourceLink(link)]));
        assert_eq!(
            out.text,
            "[resource link: x.txt <file:///tmp/x.txt>, text/plain, 2 KB]"
        );
    }

    #[test]
    fn structured_content_and_error_flag_are_kept() {
        let mut r = CallToolResult::structured_error(json!({"code": 7}));
        r.content.clear();
        let out = tool_output(r);
        assert!(out.is_error);
        assert_eq!(out.structured, Some(json!({"code": 7})));
        assert_eq!(out.text, r#"{"code":7}"#);
    }

    #[test]
    fn labels_are_single_line_and_bounded() {
        let long = format!("image/\n{}", "x".repeat(500));
        let out = tool_output(result(vec![ContentBlock::image("", long)]));
        assert!(!out.text.contains('\n'));
        assert!(out.text.chars().count() < MAX_LABEL_CHARS + 40);
        assert!(out.text.ends_with("…, 0 B]"));
    }

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(12 * 1024), "12 KB");
        assert_eq!(human_size(3_565_158), "3.4 MB");
    }
}
