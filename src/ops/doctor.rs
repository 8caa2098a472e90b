//! `doctor`: one line per check of what the gateway depends on, each saying what to do when it
//! fails.

use std::process::ExitCode;
use std::time::Duration;

use crate::config::{Config, ModelConfig, Provider, ServerAuth};
use crate::llm;
use crate::llm::ollama::OllamaClient;
use crate::mcp::pool::McpPool;
use crate::store::Store;

/// How long each network check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Whether it passed.
    pub ok: bool,
    /// What was checked and what was found.
    pub line: String,
}

impl Check {
    fn pass(line: String) -> Self {
        Self { ok: true, line }
    }
    fn fail(line: String) -> Self {
        Self { ok: false, line }
    }
}

/// Whether `wanted` is among the server's models (`name` matches `name:latest`).
#[must_use]
pub fn model_present(models: &[String], wanted: &str) -> bool {
    models
        .iter()
        .any(|m| m == wanted || (!wanted.contains(':') && m == &format!("{wanted}:latest")))
}

/// Runs every check and returns them in order.
pub async fn checks(config: &Config) -> Vec<Check> {
    let mut out = Vec::new();
    let base = config
        .model
        .base_url
        .as_str()
        .trim_end_matches('/')
        .to_owned();
    match llm::from_config(&config.model) {
        Err(e) => out.push(Check::fail(format!("model client: {e}"))),
        Ok(model) => match tokio::time::timeout(CHECK_TIMEOUT, model.list_models()).await {
            Err(_) => out.push(Check::fail(format!(
                "model server {base}: no answer within {} s; is Ollama running?",
                CHECK_TIMEOUT.as_secs()
            ))),
            Ok(Err(llm::ModelError::Unreachable { reason, .. })) => out.push(Check::fail(format!(
                "model server {base} is not reachable: {reason}"
            ))),
            Ok(Err(e)) => out.push(Check::fail(format!("model server {base}: {e}"))),
            Ok(Ok(models)) => {
                out.push(Check::pass(format!(
                    "model server {base} answers ({} models)",
                    models.len()
                )));
                let name = &config.model.name;
                if model_present(&models, name) {
                    out.push(Check::pass(format!("model {name} is pulled")));
                    if config.model.provider == Provider::Ollama {
                        out.extend(capabilities(&config.model).await);
                    }
                } else {
                    out.push(Check::fail(format!(
                        "model {name} is not pulled: run `ollama pull {name}`"
                    )));
                }
                if let Some(embed) = &config.model.embed_name {
                    if model_present(&models, embed) {
                        out.push(Check::pass(format!("embedding model {embed} is pulled")));
                    } else {
                        out.push(Check::fail(format!(
                            "embedding model {embed} is not pulled: run `ollama pull {embed}`"
                        )));
                    }
                }
            }
        },
    }
    match McpPool::from_config(config) {
        Err(e) => out.push(Check::fail(format!("MCP client: {e}"))),
        Ok(pool) => {
            for server in &config.servers {
                out.push(check_server(&pool, server).await);
            }
        }
    }
    out.extend(
        super::redirect_uris::checks(config)
            .into_iter()
            .map(|line| line.map_or_else(Check::fail, Check::pass)),
    );
    match Store::open(&config.store.path) {
        Ok(store) => out.push(Check::pass(format!(
            "database {} opens (schema {})",
            store.path().display(),
            crate::store::latest_version()
        ))),
        Err(e) => out.push(Check::fail(format!("database: {e}"))),
    }
    let refused =
        crate::store::seal::key_exposure(&config.store.seal_key_file).is_some_and(|exposure| {
            !exposure.accepted_by(crate::store::seal::KeyReaders::of(&config.store))
        });
    out.push(if config.store.seal_key_file.is_file() {
        match crate::ops::check_config::seal_key_warning(config) {
            None => Check::pass(format!(
                "seal key {} exists",
                config.store.seal_key_file.display()
            )),
            Some(warning) if refused => Check::fail(warning),
            Some(warning) => Check::pass(format!("seal key exists; warning: {warning}")),
        }
    } else {
        Check::fail(format!(
            "seal key {} is missing; `chat` and `up` create it, or write 64 hex characters there",
            config.store.seal_key_file.display()
        ))
    });
    out
}

/// What the model can do, from Ollama's `/api/show`: tools always (every turn offers them), and
/// thinking when `[model].think` asks for it; and, when it is loaded, whether with the context
/// the gateway asks for (`/api/ps`).
async fn capabilities(config: &ModelConfig) -> Vec<Check> {
    let name = &config.name;
    let client = match OllamaClient::new(config) {
        Err(e) => return vec![Check::fail(format!("model client: {e}"))],
        Ok(client) => client,
    };
    let details = tokio::time::timeout(CHECK_TIMEOUT, client.show(name)).await;
    let details = match details {
        Err(_) => {
            return vec![Check::fail(format!(
                "model {name}: `/api/show` gave no answer within {} s",
                CHECK_TIMEOUT.as_secs()
            ))];
        }
        Ok(Err(e)) => return vec![Check::fail(format!("model {name}: {e}"))],
        Ok(Ok(details)) => details,
    };
    let listed = if details.capabilities.is_empty() {
        "none listed".to_owned()
    } else {
        details.capabilities.join(", ")
    };
    let mut out = Vec::new();
    if details.supports_tools() {
        out.push(Check::pass(format!(
            "model {name} can use tools (capabilities: {listed})"
        )));
    } else {
        out.push(Check::fail(format!(
            "model {name} cannot use tools (capabilities: {listed}), so Ollama refuses every message that offers them; set [model].name to a model whose `ollama show` lists tools, such as qwen2.5:7b or qwen3:8b"
        )));
    }
    if config.think && !details.supports_thinking() {
        out.push(Check::fail(format!(
            "[model].think = true, but model {name} cannot think, so Ollama refuses every message; remove the key or pick a thinking model such as qwen3:8b"
        )));
    }
    if let Ok(Ok(Some(loaded))) =
        tokio::time::timeout(CHECK_TIMEOUT, client.loaded_context(name)).await
    {
        let wanted = u64::from(config.num_ctx);
        out.push(if loaded == wanted {
            Check::pass(format!(
                "model {name} is loaded with the context the gateway asks for ({loaded} tokens)"
            ))
        } else {
            Check::fail(format!(
                "model {name} is loaded with a {loaded}-token context but [model].num_ctx is {wanted}, so Ollama reloads it whenever the other asks; start Ollama with OLLAMA_CONTEXT_LENGTH={wanted} so every client asks for the same"
            ))
        });
    }
    out
}

async fn check_server(pool: &McpPool, server: &crate::config::ServerConfig) -> Check {
    let name = &server.name;
    let url = server.url.as_str();
    if server.auth == ServerAuth::OAuth {
        // Tools are listed per person after they connect; check that the server answers and
        // asks for OAuth as the MCP authorization spec says.
        let client = reqwest::Client::builder().timeout(CHECK_TIMEOUT).build();
        let answer = match client {
            Ok(c) => {
                c.post(url)
                    .header("content-type", "application/json")
                    .body("{}")
                    .send()
                    .await
            }
            Err(e) => return Check::fail(format!("server {name} ({url}): {e}")),
        };
        return match answer {
            Ok(r)
                if r.status() == reqwest::StatusCode::UNAUTHORIZED
                    && r.headers().contains_key("www-authenticate") =>
            {
                Check::pass(format!(
                    "server {name} ({url}) answers and requires OAuth; people connect with /connect {name}"
                ))
            }
            Ok(r) => Check::fail(format!(
                "server {name} ({url}) answered HTTP {} instead of asking for OAuth; check [[servers]].auth",
                r.status()
            )),
            Err(e) => Check::fail(format!(
                "server {name} ({url}) is not reachable: {}",
                e.without_url()
            )),
        };
    }
    match pool.probe(name).await {
        Ok(n) => Check::pass(format!("server {name} ({url}) answers with {n} tools")),
        Err(e) => Check::fail(format!("server {name} ({url}): {e}")),
    }
}

/// Prints every check, one per line, and fails when any did.
pub async fn run(config: &Config) -> ExitCode {
    let results = checks(config).await;
    for check in &results {
        println!("{} {}", if check.ok { "ok  " } else { "FAIL" }, check.line);
    }
    if results.iter().all(|c| c.ok) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_match_with_implicit_latest() {
        let models = vec!["qwen2.5:7b".to_owned(), "llama3:latest".to_owned()];
        assert!(model_present(&models, "qwen2.5:7b"));
        assert!(model_present(&models, "llama3"));
        assert!(!model_present(&models, "qwen2.5:14b"));
    }
}
