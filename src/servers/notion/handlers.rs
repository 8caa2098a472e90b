//! What each Notion tool does: builds the REST calls, walks pagination and block trees, and
//! shapes the answers.

use http::Method;
use serde_json::{Map, Value, json};

use super::api::{explain, normalize_id};
use super::call::{Call, segs};
use super::content::WriteFailure;
use super::markdown::{self, BlockTree};
use super::params::*;
use super::{request_limits, slim};
use crate::servers::tooling::{ToolFailure, ToolOutput, ToolResult, page_size, require_id};
use crate::servers::upstream_http::{UpstreamError, UpstreamRequest};

/// The most blocks `get_page_content` reads.
const MAX_CONTENT_BLOCKS: usize = 2000;

fn id(what: &str, raw: &str) -> Result<String, ToolFailure> {
    require_id(what, raw, "give the id returned by the search tool").map(normalize_id)
}

fn icon_value(icon: &str) -> Value {
    let icon = icon.trim();
    if icon.starts_with("http://") || icon.starts_with("https://") {
        json!({"type": "external", "external": {"url": icon}})
    } else {
        json!({"type": "emoji", "emoji": icon})
    }
}

fn cover_value(url: &str) -> Value {
    json!({"type": "external", "external": {"url": url.trim()}})
}

fn put(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        map.insert(key.to_owned(), v);
    }
}

fn list_body(start_cursor: Option<String>, size: Option<u32>) -> Map<String, Value> {
    let mut body = Map::new();
    put(&mut body, "start_cursor", start_cursor.map(Value::String));
    body.insert("page_size".into(), Value::from(page_size(size, 20, 100)));
    body
}

fn blocks_from(
    markdown: Option<&str>,
    children: Option<Vec<Value>>,
) -> Result<Vec<Value>, ToolFailure> {
    match (markdown, children) {
        (Some(_), Some(_)) => Err(ToolFailure::new(
            "give either markdown or children, not both (markdown is preferred)",
        )),
        (Some(md), None) => Ok(markdown::markdown_to_blocks(md)),
        (None, Some(children)) => {
            if children.iter().any(|c| !c.is_object()) {
                return Err(ToolFailure::new(
                    "every entry of children must be a Notion block object",
                ));
            }
            Ok(children)
        }
        (None, None) => Ok(Vec::new()),
    }
}

impl Call<'_> {
    pub(super) async fn search(&self, p: SearchParams) -> ToolResult {
        let mut body = list_body(p.start_cursor, p.page_size);
        put(&mut body, "query", p.query.map(Value::String));
        if let Some(kind) = p.object_type {
            let value = match kind {
                ObjectType::Page => "page",
                ObjectType::DataSource => "data_source",
            };
            body.insert(
                "filter".into(),
                json!({"property": "object", "value": value}),
            );
        }
        if let Some(dir) = p.sort_direction {
            let direction = match dir {
                SortDirection::Ascending => "ascending",
                SortDirection::Descending => "descending",
            };
            body.insert(
                "sort".into(),
                json!({"direction": direction, "timestamp": "last_edited_time"}),
            );
        }
        let v = self
            .send(
                UpstreamRequest::new(Method::POST, segs(&["search"])).json(Value::Object(body)),
                "result",
            )
            .await?;
        Ok(ToolOutput::json(slim::list(&v, |o| {
            let mut s = slim::any(o);
            if let Some(obj) = s.as_object_mut() {
                obj.remove("properties");
            }
            s
        })))
    }

    pub(super) async fn get_page(&self, p: GetPageParams) -> ToolResult {
        let page_id = id("page_id", &p.page_id)?;
        let mut request = UpstreamRequest::get(segs(&["pages", &page_id]));
        for f in p.filter_properties.unwrap_or_default() {
            request = request.query("filter_properties", f);
        }
        let v = self.send(request, "page").await?;
        Ok(ToolOutput::json(slim::page(&v)))
    }

    pub(super) async fn get_page_content(&self, p: GetPageContentParams) -> ToolResult {
        let page_id = id("page_id", &p.page_id)?;
        let depth = p.max_depth.unwrap_or(3).clamp(1, 10);
        let reading = self
            .read_tree(&page_id, depth, MAX_CONTENT_BLOCKS, "page")
            .await?;
        let complete = reading.missing.is_empty();
        let truncated = reading.cut || !complete;
        let note = reading.missing_note();
        if p.format.unwrap_or_default() == ContentFormat::Blocks {
            fn to_json(trees: &[BlockTree]) -> Value {
                Value::Array(
                    trees
                        .iter()
                        .map(|t| {
                            let mut b = slim::block(&t.block);
                            if !t.children.is_empty()
                                && let Some(obj) = b.as_object_mut()
                            {
                                obj.insert("children".into(), to_json(&t.children));
                            }
                            b
                        })
                        .collect(),
                )
            }
            let mut out = json!({"page_id": page_id, "blocks": to_json(&reading.trees), "truncated": truncated});
            if let (Some(note), Some(obj)) = (note, out.as_object_mut()) {
                obj.insert("missing".into(), reading.missing_json());
                obj.insert("note".into(), Value::from(note));
            }
            return Ok(ToolOutput::json(out));
        }
        let mut text = if reading.trees.is_empty() {
            "(the page has no content)\n".to_owned()
        } else {
            markdown::render(&reading.trees)
        };
        if reading.cut {
            text.push_str(&format!(
                "\n[content cut after {MAX_CONTENT_BLOCKS} blocks; read further parts with get_block_children]\n"
            ));
        }
        if let Some(note) = &note {
            text.push_str(&format!("\n{note}\n"));
        }
        let mut structured = json!({"page_id": page_id, "markdown": text, "truncated": truncated});
        if let (false, Some(obj)) = (complete, structured.as_object_mut()) {
            obj.insert("missing".into(), reading.missing_json());
        }
        Ok(ToolOutput::text_with(text, structured))
    }

    pub(super) async fn get_page_property(&self, p: GetPagePropertyParams) -> ToolResult {
        let page_id = id("page_id", &p.page_id)?;
        let property = require_id(
            "property_id",
            &p.property_id,
            "take it from get_page's properties",
        )?;
        let request = UpstreamRequest::get(segs(&["pages", &page_id, "properties", property]))
            .query_opt("start_cursor", p.start_cursor)
            .query_opt("page_size", p.page_size.map(|s| s.clamp(1, 100)));
        let v = self.send(request, "page or property").await?;
        Ok(ToolOutput::json(slim::without_request_id(&v)))
    }

    /// The database at `id`, or `None` when the id is not a database (it may be a data source).
    async fn database_or_none(&self, database_id: &str) -> Result<Option<Value>, ToolFailure> {
        match self
            .api
            .call(
                self.grant,
                &UpstreamRequest::get(segs(&["databases", database_id])),
                self.deadline,
            )
            .await
        {
            Ok(v) => Ok(Some(v)),
            Err(UpstreamError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(explain(e, "database")),
        }
    }

    /// The data source to use for a database id (its first data source), or the id itself when
    /// it is not a database.
    async fn resolve_data_source(&self, database_id: &str) -> Result<String, ToolFailure> {
        match self.database_or_none(database_id).await? {
            Some(db) => db
                .pointer("/data_sources/0/id")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| {
                    ToolFailure::new(
                        "this database has no data source; create one with create_data_source",
                    )
                }),
            None => Ok(database_id.to_owned()),
        }
    }

    pub(super) async fn get_database(&self, p: DatabaseIdParams) -> ToolResult {
        let database_id = id("database_id", &p.database_id)?;
        if let Some(db) = self.database_or_none(&database_id).await? {
            return Ok(ToolOutput::json(slim::database(&db)));
        }
        let ds = self
            .get(&["data_sources", &database_id], "database")
            .await?;
        Ok(ToolOutput::json(slim::data_source(&ds)))
    }

    pub(super) async fn get_data_source(&self, p: DataSourceIdParams) -> ToolResult {
        let ds = id("data_source_id", &p.data_source_id)?;
        let v = self.get(&["data_sources", &ds], "data source").await?;
        Ok(ToolOutput::json(slim::data_source(&v)))
    }

    async fn query(
        &self,
        ds: &str,
        mut body: Map<String, Value>,
        filter_properties: Option<Vec<String>>,
    ) -> ToolResult {
        let mut request = UpstreamRequest::new(Method::POST, segs(&["data_sources", ds, "query"]));
        for f in filter_properties.unwrap_or_default() {
            request = request.query("filter_properties", f);
        }
        body.retain(|_, v| !v.is_null());
        let v = self
            .send(request.json(Value::Object(body)), "data source")
            .await?;
        Ok(ToolOutput::json(slim::list(&v, slim::page)))
    }

    pub(super) async fn query_database(&self, p: QueryDatabaseParams) -> ToolResult {
        let database_id = id("database_id", &p.database_id)?;
        let ds = self.resolve_data_source(&database_id).await?;
        let mut body = list_body(p.start_cursor, p.page_size);
        put(&mut body, "filter", p.filter);
        put(&mut body, "sorts", p.sorts.map(Value::Array));
        self.query(&ds, body, p.filter_properties).await
    }

    pub(super) async fn query_data_source(&self, p: QueryDataSourceParams) -> ToolResult {
        let ds = id("data_source_id", &p.data_source_id)?;
        let mut body = list_body(p.start_cursor, p.page_size);
        put(&mut body, "filter", p.filter);
        put(&mut body, "sorts", p.sorts.map(Value::Array));
        put(&mut body, "in_trash", p.in_trash.map(Value::Bool));
        self.query(&ds, body, p.filter_properties).await
    }

    pub(super) async fn list_data_source_templates(&self, p: ListTemplatesParams) -> ToolResult {
        let ds = id("data_source_id", &p.data_source_id)?;
        let request = UpstreamRequest::get(segs(&["data_sources", &ds, "templates"]))
            .query_opt("name", p.name)
            .query_opt("start_cursor", p.start_cursor)
            .query_opt("page_size", p.page_size.map(|s| s.clamp(1, 100)));
        let v = self.send(request, "data source").await?;
        Ok(ToolOutput::json(slim::without_request_id(&v)))
    }

    pub(super) async fn get_block(&self, p: BlockIdParams) -> ToolResult {
        let block_id = id("block_id", &p.block_id)?;
        let v = self.get(&["blocks", &block_id], "block").await?;
        Ok(ToolOutput::json(slim::block(&v)))
    }

    pub(super) async fn get_block_children(&self, p: BlockListParams) -> ToolResult {
        let block_id = id("block_id", &p.block_id)?;
        let request = UpstreamRequest::get(segs(&["blocks", &block_id, "children"]))
            .query("page_size", page_size(p.page_size, 50, 100))
            .query_opt("start_cursor", p.start_cursor);
        let v = self.send(request, "block").await?;
        Ok(ToolOutput::json(slim::list(&v, slim::block)))
    }

    pub(super) async fn list_comments(&self, p: BlockListParams) -> ToolResult {
        let block_id = id("block_id", &p.block_id)?;
        let request = UpstreamRequest::get(segs(&["comments"]))
            .query("block_id", &block_id)
            .query("page_size", page_size(p.page_size, 50, 100))
            .query_opt("start_cursor", p.start_cursor);
        let v = self.send(request, "page or block").await?;
        Ok(ToolOutput::json(slim::list(&v, slim::comment)))
    }

    pub(super) async fn list_users(&self, p: PageParams) -> ToolResult {
        let request = UpstreamRequest::get(segs(&["users"]))
            .query("page_size", page_size(p.page_size, 50, 100))
            .query_opt("start_cursor", p.start_cursor);
        let v = self.send(request, "user list").await?;
        Ok(ToolOutput::json(slim::list(&v, slim::user)))
    }

    pub(super) async fn get_user(&self, p: UserIdParams) -> ToolResult {
        let user_id = id("user_id", &p.user_id)?;
        let v = self.get(&["users", &user_id], "user").await?;
        Ok(ToolOutput::json(slim::user(&v)))
    }

    pub(super) async fn get_self(&self, _p: NoParams) -> ToolResult {
        let v = self.get(&["users", "me"], "bot user").await?;
        Ok(ToolOutput::json(slim::user(&v)))
    }

    pub(super) async fn create_page(&self, p: CreatePageParams) -> ToolResult {
        let blocks = blocks_from(p.markdown.as_deref(), p.children)?;
        let given = [
            &p.parent.page_id,
            &p.parent.data_source_id,
            &p.parent.database_id,
        ]
        .iter()
        .filter(|x| x.is_some())
        .count();
        if given != 1 {
            return Err(ToolFailure::new(
                "parent needs exactly one of page_id, data_source_id or database_id (find ids with search)",
            ));
        }
        let mut properties = p.properties.unwrap_or_default();
        let parent = if let Some(page_id) = &p.parent.page_id {
            let page_id = id("parent.page_id", page_id)?;
            if let Some(title) = &p.title {
                properties.insert(
                    "title".into(),
                    json!({"title": markdown::plain_rich_text(title)}),
                );
            }
            json!({"type": "page_id", "page_id": page_id})
        } else {
            let ds = match (&p.parent.data_source_id, &p.parent.database_id) {
                (Some(ds), _) => id("parent.data_source_id", ds)?,
                (_, Some(db)) => {
                    self.resolve_data_source(&id("parent.database_id", db)?)
                        .await?
                }
                _ => return Err(ToolFailure::new("parent is missing")),
            };
            if let Some(title) = &p.title {
                let has_title = properties.values().any(|v| v.get("title").is_some());
                if !has_title {
                    let schema = self.get(&["data_sources", &ds], "data source").await?;
                    let name =
                        slim::title_property_name(schema.get("properties").unwrap_or(&Value::Null))
                            .unwrap_or_else(|| "Name".to_owned());
                    properties.insert(name, json!({"title": markdown::plain_rich_text(title)}));
                }
            }
            json!({"type": "data_source_id", "data_source_id": ds})
        };
        let mut body = Map::new();
        body.insert("parent".into(), parent);
        body.insert("properties".into(), Value::Object(properties));
        put(&mut body, "icon", p.icon.as_deref().map(icon_value));
        put(&mut body, "cover", p.cover.as_deref().map(cover_value));
        put(&mut body, "template", p.template);
        // The leading blocks that fit the first request whole go with the page itself; the
        // rest is appended once the page exists.
        let mut blocks = request_limits::fit_blocks(blocks);
        let whole = request_limits::batches(blocks.clone())
            .into_iter()
            .next()
            .map_or(0, |first| {
                first
                    .later
                    .first()
                    .map_or(first.blocks.len(), |(index, _)| *index)
            });
        let rest = blocks.split_off(whole);
        let mut added: usize = blocks.iter().map(request_limits::count).sum();
        if !blocks.is_empty() {
            body.insert("children".into(), Value::Array(blocks));
        }
        let page = self
            .send(
                UpstreamRequest::new(Method::POST, segs(&["pages"])).json(Value::Object(body)),
                "parent",
            )
            .await?;
        if !rest.is_empty() {
            let page_id = page
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let written = self
                .write_blocks(&page_id, rest, Position::End, None)
                .await
                .map_err(|WriteFailure { written, failure }| {
                    ToolFailure::new(format!(
                        "the page was created (id {page_id}) with {} blocks, but adding the rest of its content \
                         failed after {} more: {failure}",
                        added, written.blocks
                    ))
                })?;
            added += written.blocks;
        }
        let mut out = slim::page(&page);
        if let Some(obj) = out.as_object_mut() {
            obj.insert("blocks_added".into(), Value::from(added));
        }
        Ok(ToolOutput::json(out))
    }

    pub(super) async fn append_block_children(&self, p: AppendParams) -> ToolResult {
        let block_id = id("block_id", &p.block_id)?;
        let blocks = blocks_from(p.markdown.as_deref(), p.children)?;
        if blocks.is_empty() {
            return Err(ToolFailure::new(
                "nothing to add: give markdown (or children)",
            ));
        }
        let position = p.position.unwrap_or_default();
        let after = match (position, p.after_block_id) {
            (Position::AfterBlock, Some(a)) => Some(id("after_block_id", &a)?),
            (Position::AfterBlock, None) => {
                return Err(ToolFailure::new(
                    "position after_block needs after_block_id (get block ids with get_block_children)",
                ));
            }
            _ => None,
        };
        let written = self
            .write_blocks(&block_id, blocks, position, after)
            .await
            .map_err(|WriteFailure { written, failure }| {
                if written.blocks == 0 {
                    failure
                } else {
                    ToolFailure::new(format!(
                        "{failure} ({} blocks were added before the failure; do not add them again)",
                        written.blocks
                    ))
                }
            })?;
        Ok(ToolOutput::json(json!({
            "block_id": block_id, "blocks_added": written.blocks, "requests": written.requests,
            "new_block_ids": written.ids,
        })))
    }

    pub(super) async fn create_comment(&self, p: CreateCommentParams) -> ToolResult {
        let rich_text = match (p.text, p.rich_text) {
            (Some(t), None) if !t.trim().is_empty() => Value::Array(markdown::inline_rich_text(&t)),
            (None, Some(rt)) if !rt.is_empty() => Value::Array(rt),
            _ => {
                return Err(ToolFailure::new(
                    "give the comment as text (or rich_text), exactly one of them",
                ));
            }
        };
        let body = match (p.page_id, p.discussion_id) {
            (Some(page), None) => {
                json!({"parent": {"page_id": id("page_id", &page)?}, "rich_text": rich_text})
            }
            (None, Some(d)) => {
                json!({"discussion_id": require_id("discussion_id", &d, "take it from list_comments")?, "rich_text": rich_text})
            }
            _ => {
                return Err(ToolFailure::new(
                    "give page_id (new comment) or discussion_id (reply), exactly one",
                ));
            }
        };
        let v = self
            .send(
                UpstreamRequest::new(Method::POST, segs(&["comments"])).json(body),
                "page or discussion",
            )
            .await?;
        Ok(ToolOutput::json(slim::comment(&v)))
    }

    pub(super) async fn create_database(&self, p: CreateDatabaseParams) -> ToolResult {
        let parent = id("parent_page_id", &p.parent_page_id)?;
        let mut properties = p.properties.unwrap_or_default();
        if !properties.values().any(|v| v.get("title").is_some()) {
            properties.insert("Name".into(), json!({"title": {}}));
        }
        let mut body = Map::new();
        body.insert(
            "parent".into(),
            json!({"type": "page_id", "page_id": parent}),
        );
        body.insert(
            "title".into(),
            Value::Array(markdown::plain_rich_text(&p.title)),
        );
        body.insert(
            "initial_data_source".into(),
            json!({"properties": properties}),
        );
        put(&mut body, "is_inline", p.is_inline.map(Value::Bool));
        put(
            &mut body,
            "description",
            p.description
                .map(|d| Value::Array(markdown::plain_rich_text(&d))),
        );
        let v = self
            .send(
                UpstreamRequest::new(Method::POST, segs(&["databases"])).json(Value::Object(body)),
                "parent page",
            )
            .await?;
        Ok(ToolOutput::json(slim::database(&v)))
    }

    pub(super) async fn create_data_source(&self, p: CreateDataSourceParams) -> ToolResult {
        let db = id("database_id", &p.database_id)?;
        let mut body = Map::new();
        body.insert(
            "parent".into(),
            json!({"type": "database_id", "database_id": db}),
        );
        body.insert("properties".into(), Value::Object(p.properties));
        put(
            &mut body,
            "title",
            p.title.map(|t| Value::Array(markdown::plain_rich_text(&t))),
        );
        let v = self
            .send(
                UpstreamRequest::new(Method::POST, segs(&["data_sources"]))
                    .json(Value::Object(body)),
                "database",
            )
            .await?;
        Ok(ToolOutput::json(slim::data_source(&v)))
    }

    async fn patch_page(&self, page_id: &str, body: Value) -> ToolResult {
        let v = self
            .send(
                UpstreamRequest::new(Method::PATCH, segs(&["pages", page_id])).json(body),
                "page",
            )
            .await?;
        Ok(ToolOutput::json(slim::page(&v)))
    }

    pub(super) async fn restore_page(&self, p: PageIdParams) -> ToolResult {
        let page_id = id("page_id", &p.page_id)?;
        self.patch_page(&page_id, json!({"in_trash": false})).await
    }

    pub(super) async fn archive_page(&self, p: PageIdParams) -> ToolResult {
        let page_id = id("page_id", &p.page_id)?;
        self.patch_page(&page_id, json!({"in_trash": true})).await
    }

    pub(super) async fn update_page(&self, p: UpdatePageParams) -> ToolResult {
        let page_id = id("page_id", &p.page_id)?;
        let mut properties = p.properties.unwrap_or_default();
        if let Some(title) = &p.title {
            let current = self.get(&["pages", &page_id], "page").await?;
            let name = slim::title_property_name(current.get("properties").unwrap_or(&Value::Null))
                .unwrap_or_else(|| "title".to_owned());
            properties.insert(name, json!({"title": markdown::plain_rich_text(title)}));
        }
        let mut body = Map::new();
        if !properties.is_empty() {
            body.insert("properties".into(), Value::Object(properties));
        }
        put(&mut body, "icon", p.icon.as_deref().map(icon_value));
        put(&mut body, "cover", p.cover.as_deref().map(cover_value));
        if body.is_empty() {
            return Err(ToolFailure::new(
                "nothing to change: give title, properties, icon or cover",
            ));
        }
        self.patch_page(&page_id, Value::Object(body)).await
    }

    pub(super) async fn move_page(&self, p: MovePageParams) -> ToolResult {
        let page_id = id("page_id", &p.page_id)?;
        let parent = match (
            &p.new_parent.page_id,
            &p.new_parent.data_source_id,
            &p.new_parent.database_id,
        ) {
            (Some(pid), None, None) => {
                json!({"type": "page_id", "page_id": id("new_parent.page_id", pid)?})
            }
            (None, Some(ds), None) => {
                json!({"type": "data_source_id", "data_source_id": id("new_parent.data_source_id", ds)?})
            }
            (None, None, Some(db)) => {
                let ds = self
                    .resolve_data_source(&id("new_parent.database_id", db)?)
                    .await?;
                json!({"type": "data_source_id", "data_source_id": ds})
            }
            _ => {
                return Err(ToolFailure::new(
                    "new_parent needs exactly one of page_id, data_source_id or database_id",
                ));
            }
        };
        let v = self
            .send(
                UpstreamRequest::new(Method::POST, segs(&["pages", &page_id, "move"]))
                    .json(json!({"parent": parent})),
                "page or new parent",
            )
            .await?;
        Ok(ToolOutput::json(slim::page(&v)))
    }

    pub(super) async fn update_block(&self, p: UpdateBlockParams) -> ToolResult {
        let block_id = id("block_id", &p.block_id)?;
        if p.content.is_empty() {
            return Err(ToolFailure::new(
                "content is empty: give the block type as key, e.g. {\"to_do\":{\"checked\":true}}",
            ));
        }
        let v = self
            .send(
                UpstreamRequest::new(Method::PATCH, segs(&["blocks", &block_id]))
                    .json(Value::Object(p.content)),
                "block",
            )
            .await?;
        Ok(ToolOutput::json(slim::block(&v)))
    }

    async fn patch_database(&self, database_id: &str, body: Map<String, Value>) -> ToolResult {
        let v = self
            .send(
                UpstreamRequest::new(Method::PATCH, segs(&["databases", database_id]))
                    .json(Value::Object(body)),
                "database",
            )
            .await?;
        Ok(ToolOutput::json(slim::database(&v)))
    }

    pub(super) async fn update_database(&self, p: UpdateDatabaseParams) -> ToolResult {
        let db = id("database_id", &p.database_id)?;
        let mut body = Map::new();
        put(
            &mut body,
            "title",
            p.title.map(|t| Value::Array(markdown::plain_rich_text(&t))),
        );
        put(
            &mut body,
            "description",
            p.description
                .map(|d| Value::Array(markdown::plain_rich_text(&d))),
        );
        put(&mut body, "icon", p.icon.as_deref().map(icon_value));
        put(&mut body, "cover", p.cover.as_deref().map(cover_value));
        put(&mut body, "is_inline", p.is_inline.map(Value::Bool));
        if body.is_empty() {
            return Err(ToolFailure::new(
                "nothing to change: give title, description, icon, cover or is_inline",
            ));
        }
        self.patch_database(&db, body).await
    }

    pub(super) async fn archive_database(&self, p: DatabaseIdParams) -> ToolResult {
        let db = id("database_id", &p.database_id)?;
        let mut body = Map::new();
        body.insert("in_trash".into(), Value::Bool(true));
        self.patch_database(&db, body).await
    }

    pub(super) async fn update_data_source(&self, p: UpdateDataSourceParams) -> ToolResult {
        let ds = id("data_source_id", &p.data_source_id)?;
        let mut body = Map::new();
        put(
            &mut body,
            "title",
            p.title.map(|t| Value::Array(markdown::plain_rich_text(&t))),
        );
        put(&mut body, "properties", p.properties.map(Value::Object));
        if body.is_empty() {
            return Err(ToolFailure::new(
                "nothing to change: give title or properties",
            ));
        }
        let v = self
            .send(
                UpstreamRequest::new(Method::PATCH, segs(&["data_sources", &ds]))
                    .json(Value::Object(body)),
                "data source",
            )
            .await?;
        Ok(ToolOutput::json(slim::data_source(&v)))
    }

    pub(super) async fn replace_page_content(&self, p: ReplacePageContentParams) -> ToolResult {
        let page_id = id("page_id", &p.page_id)?;
        if p.markdown.trim().is_empty() {
            return Err(ToolFailure::new(
                "markdown is empty; give the new content (to remove the page use archive_page)",
            ));
        }
        let blocks = markdown::markdown_to_blocks(&p.markdown);
        let out = self.replace_content(&page_id, blocks).await?;
        Ok(ToolOutput::json(out))
    }

    pub(super) async fn delete_block(&self, p: BlockIdParams) -> ToolResult {
        let block_id = id("block_id", &p.block_id)?;
        let v = self
            .send(
                UpstreamRequest::new(Method::DELETE, segs(&["blocks", &block_id])),
                "block",
            )
            .await?;
        Ok(ToolOutput::json(slim::block(&v)))
    }
}
