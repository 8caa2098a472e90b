//! Ollama's native `/api/chat` client.

use async_trait::async_trait;

use super::{ChatModel, ChatOutcome, ChatRequest, DeltaSink, ModelError};
use crate::config::ModelConfig;

/// The client (not yet implemented).
#[derive(Debug)]
pub struct OllamaClient {
    name: String,
    num_ctx: u32,
}

impl OllamaClient {
    /// Builds the client.
    ///
    /// # Errors
    /// Never yet.
    pub fn new(config: &ModelConfig) -> Result<Self, ModelError> {
        Ok(Self {
            name: config.name.clone(),
            num_ctx: config.num_ctx,
        })
    }
}

#[async_trait]
impl ChatModel for OllamaClient {
    async fn chat(&self, _: &ChatRequest<'_>, _: DeltaSink<'_>) -> Result<ChatOutcome, ModelError> {
        Err(ModelError::Client("not implemented".into()))
    }
    async fn embed(&self, _: &str, _: &[String]) -> Result<Vec<Vec<f32>>, ModelError> {
        Err(ModelError::Client("not implemented".into()))
    }
    async fn list_models(&self) -> Result<Vec<String>, ModelError> {
        Err(ModelError::Client("not implemented".into()))
    }
    fn model_name(&self) -> &str {
        &self.name
    }
    fn context_tokens(&self) -> u32 {
        self.num_ctx
    }
}
