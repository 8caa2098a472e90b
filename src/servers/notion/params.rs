//! The input of every Notion tool, as typed structs whose doc comments become the schema's
//! descriptions (what a small model reads when it fills the arguments).

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

/// What `search` looks for.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub enum ObjectType {
    /// only pages
    Page,
    /// only data sources (database tables)
    DataSource,
}

/// Sort order by last edit time.
#[derive(Clone, Copy, Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub enum SortDirection {
    /// oldest first
    Ascending,
    /// newest first
    Descending,
}

/// How `get_page_content` returns the content.
#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub enum ContentFormat {
    /// Markdown text (default)
    #[default]
    Markdown,
    /// Notion block objects
    Blocks,
}

/// Where appended blocks go.
#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[schemars(inline)]
pub enum Position {
    /// after the existing content (default)
    #[default]
    End,
    /// before it
    Start,
    /// after the block after_block_id
    AfterBlock,
}

/// Arguments of `search`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SearchParams {
    /// Words in page and data source titles; omit to list recent items.
    pub query: Option<String>,
    /// One kind of result.
    pub object_type: Option<ObjectType>,
    /// Order by last edit.
    pub sort_direction: Option<SortDirection>,
    /// The last next_cursor.
    pub start_cursor: Option<String>,
    /// Results per page, 1 to 100 (default 20).
    pub page_size: Option<u32>,
}

/// Arguments naming one page.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct PageIdParams {
    /// Page id from search.
    pub page_id: String,
}

/// Arguments of `get_page`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct GetPageParams {
    /// Page id from search.
    pub page_id: String,
    /// Only return these property ids.
    pub filter_properties: Option<Vec<String>>,
}

/// Arguments of `get_page_content`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct GetPageContentParams {
    /// The page (or block) id.
    pub page_id: String,
    /// How deep to read nested blocks, 1 to 10 (default 3).
    pub max_depth: Option<u32>,
    /// Output format.
    pub format: Option<ContentFormat>,
}

/// Arguments of `get_page_property`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct GetPagePropertyParams {
    /// The page id.
    pub page_id: String,
    /// The property id, from get_page's properties.<name>.id.
    pub property_id: String,
    /// The last next_cursor.
    pub start_cursor: Option<String>,
    /// Items per page, 1 to 100.
    pub page_size: Option<u32>,
}

/// Arguments naming one database.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DatabaseIdParams {
    /// The database id (a data source id is accepted too).
    pub database_id: String,
}

/// Arguments naming one data source.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DataSourceIdParams {
    /// Data source id from get_database or search.
    pub data_source_id: String,
}

/// Arguments of `query_database`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct QueryDatabaseParams {
    /// The database id (or one of its data source ids).
    pub database_id: String,
    /// A filter object, e.g. {"property":"Status","select":{"equals":"Done"}}.
    pub filter: Option<Value>,
    /// Sort objects, e.g. [{"property":"Due","direction":"ascending"}].
    pub sorts: Option<Vec<Value>>,
    /// The last next_cursor.
    pub start_cursor: Option<String>,
    /// Rows per page, 1 to 100 (default 20).
    pub page_size: Option<u32>,
    /// Only return these property ids.
    pub filter_properties: Option<Vec<String>>,
}

/// Arguments of `query_data_source`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct QueryDataSourceParams {
    /// The data source id.
    pub data_source_id: String,
    /// A filter object.
    pub filter: Option<Value>,
    /// Sort objects.
    pub sorts: Option<Vec<Value>>,
    /// The last next_cursor.
    pub start_cursor: Option<String>,
    /// Rows per page, 1 to 100 (default 20).
    pub page_size: Option<u32>,
    /// Only return these property ids.
    pub filter_properties: Option<Vec<String>>,
    /// true to list rows that are in the trash instead.
    pub in_trash: Option<bool>,
}

/// Arguments of `list_data_source_templates`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ListTemplatesParams {
    /// The data source id.
    pub data_source_id: String,
    /// Only templates whose name contains this.
    pub name: Option<String>,
    /// The last next_cursor.
    pub start_cursor: Option<String>,
    /// Templates per page, 1 to 100.
    pub page_size: Option<u32>,
}

/// Arguments naming one block.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct BlockIdParams {
    /// The block id (a page id is also a block id).
    pub block_id: String,
}

/// Arguments listing the children of a block (or the comments on it).
#[derive(Debug, Deserialize, JsonSchema)]
pub struct BlockListParams {
    /// The block or page id.
    pub block_id: String,
    /// The last next_cursor.
    pub start_cursor: Option<String>,
    /// Items per page, 1 to 100 (default 50).
    pub page_size: Option<u32>,
}

/// Arguments of a plain paginated listing.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct PageParams {
    /// The last next_cursor.
    pub start_cursor: Option<String>,
    /// Items per page, 1 to 100 (default 50).
    pub page_size: Option<u32>,
}

/// Arguments naming one user.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct UserIdParams {
    /// User id from list_users.
    pub user_id: String,
}

/// No arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct NoParams {}

/// Where a new or moved page goes: exactly one of the ids.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[schemars(inline)]
pub struct ParentRef {
    /// Under this page.
    pub page_id: Option<String>,
    /// A row of this data source.
    pub data_source_id: Option<String>,
    /// A row of this database (its first data source).
    pub database_id: Option<String>,
}

/// Arguments of `create_page`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreatePageParams {
    /// Where it goes: one of page_id, data_source_id or database_id.
    pub parent: ParentRef,
    /// The page title.
    pub title: Option<String>,
    /// Property values, e.g. {"Status":{"select":{"name":"Done"}}}; for database rows.
    pub properties: Option<Map<String, Value>>,
    /// The body as Markdown (headings, lists, to-dos - [ ], code, quotes).
    pub markdown: Option<String>,
    /// The body as Notion block objects (prefer markdown).
    pub children: Option<Vec<Value>>,
    /// An emoji or image URL.
    pub icon: Option<String>,
    /// An image URL.
    pub cover: Option<String>,
    /// A template object, e.g. {"type":"default"}.
    pub template: Option<Value>,
}

/// Arguments of `append_block_children`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct AppendParams {
    /// The page or block to add content to.
    pub block_id: String,
    /// The content as Markdown.
    pub markdown: Option<String>,
    /// The content as Notion block objects (prefer markdown).
    pub children: Option<Vec<Value>>,
    /// Where to add it.
    pub position: Option<Position>,
    /// With after_block: the block to insert after.
    pub after_block_id: Option<String>,
}

/// Arguments of `create_comment`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateCommentParams {
    /// Comment on this page (starts a new discussion).
    pub page_id: Option<String>,
    /// Reply in this discussion (from list_comments).
    pub discussion_id: Option<String>,
    /// The comment (Markdown links and **bold** kept).
    pub text: Option<String>,
    /// The comment as rich text objects.
    pub rich_text: Option<Vec<Value>>,
}

/// Arguments of `create_database`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateDatabaseParams {
    /// The page that will contain the database.
    pub parent_page_id: String,
    /// The database title.
    pub title: String,
    /// Property schema, e.g. {"Name":{"title":{}},"Due":{"date":{}}}.
    pub properties: Option<Map<String, Value>>,
    /// Show it inline in the page.
    pub is_inline: Option<bool>,
    /// A description.
    pub description: Option<String>,
}

/// Arguments of `create_data_source`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CreateDataSourceParams {
    /// The database that gets the new data source.
    pub database_id: String,
    /// The data source title.
    pub title: Option<String>,
    /// Property schema, e.g. {"Name":{"title":{}}}.
    pub properties: Map<String, Value>,
}

/// Arguments of `update_page`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpdatePageParams {
    /// The page id.
    pub page_id: String,
    /// A new title.
    pub title: Option<String>,
    /// Property values to set, e.g. {"Status":{"select":{"name":"Done"}}}.
    pub properties: Option<Map<String, Value>>,
    /// A new icon: emoji or image URL.
    pub icon: Option<String>,
    /// A new cover image URL.
    pub cover: Option<String>,
}

/// Arguments of `move_page`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct MovePageParams {
    /// The page to move.
    pub page_id: String,
    /// The new parent: one of page_id, data_source_id or database_id.
    pub new_parent: ParentRef,
}

/// Arguments of `update_block`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpdateBlockParams {
    /// The block id.
    pub block_id: String,
    /// New content by block type, e.g. {"to_do":{"checked":true}} or
    /// {"paragraph":{"rich_text":[{"text":{"content":"Hi"}}]}}.
    pub content: Map<String, Value>,
}

/// Arguments of `update_database`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpdateDatabaseParams {
    /// The database id.
    pub database_id: String,
    /// A new title.
    pub title: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// A new icon: emoji or image URL.
    pub icon: Option<String>,
    /// A new cover image URL.
    pub cover: Option<String>,
    /// Show it inline.
    pub is_inline: Option<bool>,
}

/// Arguments of `update_data_source`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct UpdateDataSourceParams {
    /// The data source id.
    pub data_source_id: String,
    /// A new title.
    pub title: Option<String>,
    /// Property schema changes; a property set to null is deleted.
    pub properties: Option<Map<String, Value>>,
}

/// Arguments of `replace_page_content`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ReplacePageContentParams {
    /// The page whose body is replaced.
    pub page_id: String,
    /// The new body as Markdown; the old body is erased.
    pub markdown: String,
}
