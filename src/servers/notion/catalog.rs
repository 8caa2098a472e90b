//! The Notion tool set: names, titles, descriptions, input schemas and annotations.

use rmcp::model::Tool;

use super::params::*;
use crate::servers::tooling::{Kind, tool};

/// Every Notion tool, in a stable order; needs no secrets, store or network.
pub fn tool_list() -> Vec<Tool> {
    vec![
        tool::<SearchParams>(
            "search",
            "Search Notion",
            Kind::Read,
            "Find Notion pages and data sources (database tables) by title. Start here to get the id of a \
             page or database the person mentions. Returns ids, titles, URLs and a next_cursor when more exist.",
        ),
        tool::<GetPageParams>(
            "get_page",
            "Get page properties",
            Kind::Read,
            "Read a page's properties (title, status, dates, ...) and metadata, not its body. Use \
             get_page_content for the text of the page.",
        ),
        tool::<GetPageContentParams>(
            "get_page_content",
            "Read page content",
            Kind::Read,
            "Read the body of a page as Markdown (headings, lists, to-dos, code, quotes, toggles with \
             their children). Use this to read, summarise or answer questions about a page.",
        ),
        tool::<GetPagePropertyParams>(
            "get_page_property",
            "Get one page property",
            Kind::Read,
            "Read one property of a page in full, for long values (relations, rollups, long text) that \
             get_page truncates.",
        ),
        tool::<DatabaseIdParams>(
            "get_database",
            "Get database",
            Kind::Read,
            "Read a database: its title and its data sources (tables) with their ids. Accepts a data \
             source id too.",
        ),
        tool::<DataSourceIdParams>(
            "get_data_source",
            "Get data source schema",
            Kind::Read,
            "Read a data source's schema: its property names, types and select options. Use before \
             filtering rows or creating a row.",
        ),
        tool::<QueryDatabaseParams>(
            "query_database",
            "Query database rows",
            Kind::Read,
            "List the rows (pages) of a database, optionally filtered and sorted. Accepts a database id or \
             a data source id.",
        ),
        tool::<QueryDataSourceParams>(
            "query_data_source",
            "Query data source rows",
            Kind::Read,
            "List the rows (pages) of one data source, optionally filtered, sorted, or from the trash.",
        ),
        tool::<ListTemplatesParams>(
            "list_data_source_templates",
            "List row templates",
            Kind::Read,
            "List the page templates of a data source, to create rows from a template.",
        ),
        tool::<BlockIdParams>(
            "get_block",
            "Get block",
            Kind::Read,
            "Read one block (paragraph, heading, to-do, ...) as a Notion block object.",
        ),
        tool::<BlockListParams>(
            "get_block_children",
            "List block children",
            Kind::Read,
            "List the child blocks of a page or block as Notion block objects, one level, with ids (needed \
             for update_block, delete_block or inserting after a block).",
        ),
        tool::<BlockListParams>(
            "list_comments",
            "List comments",
            Kind::Read,
            "List the comments on a page or block, with their discussion ids for replies.",
        ),
        tool::<PageParams>(
            "list_users",
            "List workspace users",
            Kind::Read,
            "List the people and bots in the Notion workspace with their ids and emails.",
        ),
        tool::<UserIdParams>(
            "get_user",
            "Get user",
            Kind::Read,
            "Read one workspace user by id.",
        ),
        tool::<NoParams>(
            "get_self",
            "Who am I connected as",
            Kind::Read,
            "Show which Notion workspace and integration this connection uses.",
        ),
        tool::<CreatePageParams>(
            "create_page",
            "Create page",
            Kind::Write,
            "Create a page under a page, or a row in a database/data source, with a title and a body written \
             in Markdown. Returns the new page's id and URL.",
        ),
        tool::<AppendParams>(
            "append_block_children",
            "Add content to a page",
            Kind::Write,
            "Add content (Markdown) to the end or start of a page, or after a given block. Existing content \
             is kept.",
        ),
        tool::<CreateCommentParams>(
            "create_comment",
            "Add comment",
            Kind::Write,
            "Comment on a page, or reply in an existing discussion.",
        ),
        tool::<CreateDatabaseParams>(
            "create_database",
            "Create database",
            Kind::Write,
            "Create a database (table) inside a page, with its property schema.",
        ),
        tool::<CreateDataSourceParams>(
            "create_data_source",
            "Add data source to database",
            Kind::Write,
            "Add another data source (table) to an existing database.",
        ),
        tool::<PageIdParams>(
            "restore_page",
            "Restore page from trash",
            Kind::Restore,
            "Bring a page back from the trash (undoes archive_page).",
        ),
        tool::<UpdatePageParams>(
            "update_page",
            "Update page properties",
            Kind::Update,
            "Change a page's title, properties (status, dates, ...), icon or cover. Does not change the \
             body; use append_block_children or update_block for that.",
        ),
        tool::<MovePageParams>(
            "move_page",
            "Move page",
            Kind::Update,
            "Move a page under another page or into a data source.",
        ),
        tool::<UpdateBlockParams>(
            "update_block",
            "Edit block",
            Kind::Update,
            "Change one block's content, e.g. the text of a paragraph or whether a to-do is checked. Get the \
             block id from get_block_children.",
        ),
        tool::<UpdateDatabaseParams>(
            "update_database",
            "Update database",
            Kind::Update,
            "Change a database's title, description, icon, cover or inline display.",
        ),
        tool::<UpdateDataSourceParams>(
            "update_data_source",
            "Update data source schema",
            Kind::Update,
            "Rename a data source or change its properties (add, rename, or delete a property by setting it \
             to null).",
        ),
        tool::<ReplacePageContentParams>(
            "replace_page_content",
            "Replace page content",
            Kind::Delete,
            "Erase a page's whole body and write new content from Markdown. The old content is lost; prefer \
             append_block_children to add.",
        ),
        tool::<PageIdParams>(
            "archive_page",
            "Move page to trash",
            Kind::Delete,
            "Move a page to the trash (it can be restored with restore_page).",
        ),
        tool::<DatabaseIdParams>(
            "archive_database",
            "Move database to trash",
            Kind::Delete,
            "Move a database to the trash.",
        ),
        tool::<BlockIdParams>(
            "delete_block",
            "Delete block",
            Kind::Delete,
            "Delete one block (paragraph, to-do, ...) from a page.",
        ),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn tool_set_is_complete_and_well_formed() {
        crate::servers::tooling::assert_well_formed(&super::tool_list(), 30);
    }
}
