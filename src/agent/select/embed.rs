//! Optional embedding scores from the model server's embedding model (`[model].embed_name`).
//!
//! Each tool's text is embedded once per embedding model and cached in the store
//! (`select_tool_vectors`, keyed by the model and the SHA-256 of the text) and in memory; the
//! message is embedded every turn. Similarities become a bonus over the lexical score for tools
//! that stand out from the rest of the catalog. Any failure (model missing, server down, a
//! malformed answer) is logged once per run of failures and selection goes on lexically.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use rusqlite::params;
use sha2::{Digest, Sha256};

use crate::llm::ChatModel;
use crate::mcp::CatalogTool;
use crate::store::{Store, StoreError, now_unix};

/// The largest vector accepted from the server.
const MAX_DIMS: usize = 8192;
/// The most tool texts embedded in one request.
const BATCH: usize = 64;
/// The most vectors kept in memory.
const MAX_CACHED: usize = 4096;

/// Why embeddings could not be had.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The model server failed or answered something unusable.
    #[error("the embedding model failed: {0}")]
    Model(String),
    /// The cache could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Embeds tools and messages, caching tool vectors.
pub struct Embedder {
    model: Arc<dyn ChatModel>,
    name: String,
    store: Option<Store>,
    memory: Mutex<HashMap<String, Arc<Vec<f32>>>>,
    failing: AtomicBool,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("model", &self.name)
            .finish_non_exhaustive()
    }
}

/// The text of a tool that is embedded.
#[must_use]
pub fn tool_text(tool: &CatalogTool) -> String {
    let mut text = format!("{} {}", tool.server, tool.tool.replace('_', " "));
    if let Some(title) = &tool.title {
        text.push_str(": ");
        text.push_str(title);
    }
    text.push_str(". ");
    text.extend(tool.description.chars().take(1000));
    text
}

fn digest(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

impl Embedder {
    /// An embedder using `name` on `model`'s server, caching in `store` when given.
    #[must_use]
    pub fn new(model: Arc<dyn ChatModel>, name: String, store: Option<Store>) -> Self {
        Self {
            model,
            name,
            store,
            memory: Mutex::new(HashMap::new()),
            failing: AtomicBool::new(false),
        }
    }

    /// The embedding model's name.
    #[must_use]
    pub fn model_name(&self) -> &str {
        &self.name
    }

    /// Cosine similarity of `message` with every tool, in order; `None` after logging when
    /// embeddings cannot be had.
    pub async fn similarities(&self, tools: &[CatalogTool], message: &str) -> Option<Vec<f32>> {
        match self.try_similarities(tools, message).await {
            Ok(s) => {
                if self.failing.swap(false, Ordering::Relaxed) {
                    tracing::info!(model = %self.name, "embeddings work again; tool selection uses them");
                }
                Some(s)
            }
            Err(e) => {
                if !self.failing.swap(true, Ordering::Relaxed) {
                    tracing::warn!(model = %self.name, error = %e, "embeddings failed; tool selection falls back to words only");
                }
                None
            }
        }
    }

    async fn try_similarities(
        &self,
        tools: &[CatalogTool],
        message: &str,
    ) -> Result<Vec<f32>, EmbedError> {
        let texts: Vec<String> = tools.iter().map(tool_text).collect();
        let vectors = self.tool_vectors(&texts).await?;
        let query = self.embed(&[message.chars().take(2000).collect()]).await?;
        let query = query
            .into_iter()
            .next()
            .ok_or_else(|| EmbedError::Model("no vector for the message".into()))?;
        Ok(vectors.iter().map(|v| cosine(&query, v)).collect())
    }

    async fn embed(&self, inputs: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let vectors = self
            .model
            .embed(&self.name, inputs)
            .await
            .map_err(|e| EmbedError::Model(e.to_string()))?;
        if vectors.len() != inputs.len() {
            return Err(EmbedError::Model(format!(
                "asked for {} vectors, got {}",
                inputs.len(),
                vectors.len()
            )));
        }
        let dims = vectors.first().map_or(0, Vec::len);
        if dims == 0
            || dims > MAX_DIMS
            || vectors
                .iter()
                .any(|v| v.len() != dims || v.iter().any(|x| !x.is_finite()))
        {
            return Err(EmbedError::Model(
                "the vectors are empty, too long, of different lengths or not finite".into(),
            ));
        }
        Ok(vectors)
    }

    /// The vectors of `texts`, from memory, the store, or the model (then cached).
    async fn tool_vectors(&self, texts: &[String]) -> Result<Vec<Arc<Vec<f32>>>, EmbedError> {
        let keys: Vec<String> = texts.iter().map(|t| digest(t)).collect();
        let mut found: Vec<Option<Arc<Vec<f32>>>> = {
            let memory = self.memory.lock();
            keys.iter().map(|k| memory.get(k).cloned()).collect()
        };
        let missing: Vec<String> = keys
            .iter()
            .zip(&found)
            .filter(|(_, f)| f.is_none())
            .map(|(k, _)| k.clone())
            .collect();
        if !missing.is_empty()
            && let Some(store) = &self.store
        {
            let loaded = load(store, &self.name, missing).await?;
            for (key, slot) in keys.iter().zip(found.iter_mut()) {
                if slot.is_none()
                    && let Some(v) = loaded.get(key)
                {
                    *slot = Some(Arc::new(v.clone()));
                }
            }
        }
        let todo: Vec<usize> = (0..texts.len()).filter(|&i| found[i].is_none()).collect();
        let mut fresh: Vec<(String, Vec<f32>)> = Vec::new();
        for chunk in todo.chunks(BATCH) {
            let inputs: Vec<String> = chunk.iter().map(|&i| texts[i].clone()).collect();
            let vectors = self.embed(&inputs).await?;
            for (&i, v) in chunk.iter().zip(vectors) {
                fresh.push((keys[i].clone(), v.clone()));
                found[i] = Some(Arc::new(v));
            }
        }
        if !fresh.is_empty()
            && let Some(store) = &self.store
            && let Err(e) = save(store, &self.name, fresh).await
        {
            tracing::warn!(error = %e, "could not cache tool embeddings");
        }
        let vectors: Vec<Arc<Vec<f32>>> = found.into_iter().flatten().collect();
        if vectors.len() != texts.len() {
            return Err(EmbedError::Model("some tool vectors are missing".into()));
        }
        let mut memory = self.memory.lock();
        if memory.len() + vectors.len() > MAX_CACHED {
            memory.clear();
        }
        for (key, v) in keys.into_iter().zip(&vectors) {
            memory.insert(key, Arc::clone(v));
        }
        let dims = vectors.first().map_or(0, |v| v.len());
        if vectors.iter().any(|v| v.len() != dims) {
            return Err(EmbedError::Model(
                "cached vectors have different lengths".into(),
            ));
        }
        Ok(vectors)
    }
}

async fn load(
    store: &Store,
    model: &str,
    keys: Vec<String>,
) -> Result<HashMap<String, Vec<f32>>, StoreError> {
    let model = model.to_owned();
    store
        .call(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT dims, vector FROM select_tool_vectors WHERE model = ?1 AND text_sha256 = ?2",
            )?;
            let mut out = HashMap::new();
            for key in keys {
                let row: Option<(i64, Vec<u8>)> = stmt
                    .query_row(params![model, key], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map(Some)
                    .or_else(|e| match e {
                        rusqlite::Error::QueryReturnedNoRows => Ok(None),
                        other => Err(other),
                    })?;
                if let Some((dims, bytes)) = row
                    && let Some(v) = decode(dims, &bytes)
                {
                    out.insert(key, v);
                }
            }
            Ok(out)
        })
        .await
}

async fn save(store: &Store, model: &str, rows: Vec<(String, Vec<f32>)>) -> Result<(), StoreError> {
    let model = model.to_owned();
    store
        .call(move |conn| {
            let tx = conn.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT OR REPLACE INTO select_tool_vectors (model, text_sha256, dims, vector, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for (key, v) in &rows {
                    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                    stmt.execute(params![
                        model,
                        key,
                        i64::try_from(v.len()).unwrap_or(i64::MAX),
                        bytes,
                        now_unix()
                    ])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
}

/// A stored vector, or `None` when the row does not hold `dims` finite floats.
fn decode(dims: i64, bytes: &[u8]) -> Option<Vec<f32>> {
    let dims = usize::try_from(dims)
        .ok()
        .filter(|&d| d > 0 && d <= MAX_DIMS)?;
    if bytes.len() != dims * 4 {
        return None;
    }
    let v: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    v.iter().all(|x| x.is_finite()).then_some(v)
}

/// The cosine similarity of two vectors (0 when either is zero or their lengths differ).
#[must_use]
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0.0_f32, 0.0_f32, 0.0_f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na <= 0.0 || nb <= 0.0 {
        0.0
    } else {
        dot / (na.sqrt() * nb.sqrt())
    }
}

/// Turns similarities into bonuses: a tool gets `weight` per standard deviation that it stands
/// above the catalog's mean, beyond the first. Flat similarities give nothing.
#[must_use]
pub fn bonuses(similarities: &[f32], weight: f32) -> Vec<f32> {
    let n = similarities.len() as f32;
    if similarities.len() < 2 {
        return vec![0.0; similarities.len()];
    }
    let mean = similarities.iter().sum::<f32>() / n;
    let var = similarities.iter().map(|s| (s - mean).powi(2)).sum::<f32>() / n;
    let sd = var.sqrt();
    if sd < 1e-4 {
        return vec![0.0; similarities.len()];
    }
    similarities
        .iter()
        .map(|s| (((s - mean) / sd) - 1.0).max(0.0) * weight)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_round_trip_and_bad_rows_are_refused() {
        let v = vec![0.5_f32, -1.25, 3.0];
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(decode(3, &bytes), Some(v));
        assert_eq!(decode(4, &bytes), None);
        assert_eq!(decode(-1, &bytes), None);
        assert_eq!(decode(1, &f32::NAN.to_le_bytes()), None);
    }

    #[test]
    fn bonuses_reward_outliers_only() {
        let b = bonuses(&[0.1, 0.1, 0.1, 0.1, 0.9], 1.0);
        assert!(b[4] > 0.0);
        assert!(b[..4].iter().all(|x| *x == 0.0));
        assert_eq!(bonuses(&[0.3, 0.3], 1.0), [0.0, 0.0]);
        assert!((cosine(&[1.0, 0.0], &[1.0, 0.0]) - 1.0).abs() < 1e-6);
        assert_eq!(cosine(&[1.0], &[1.0, 2.0]), 0.0);
    }
}
