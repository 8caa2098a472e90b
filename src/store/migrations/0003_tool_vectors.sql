-- Tool selection: embedding vectors of tool texts, so that each tool is embedded once per model.

-- `text_sha256` is the hex SHA-256 of the text that was embedded; `vector` is little-endian f32.
CREATE TABLE select_tool_vectors (
    model       TEXT NOT NULL,
    text_sha256 TEXT NOT NULL,
    dims        INTEGER NOT NULL,
    vector      BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (model, text_sha256)
);
