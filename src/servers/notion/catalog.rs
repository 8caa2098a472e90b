//! The Notion tool set: each tool's name, title, description, input schema,
//! annotations and handler, declared together in one table.

use std::sync::LazyLock;

use rmcp::model::Tool;

use super::api::NotionApi;
use super::call::Call;
use super::params::*;
use crate::servers::tooling::{ToolSpec, tool_table};

/// Every Notion tool with its handler, in `tools/list` order.
static TOOLS: LazyLock<Vec<ToolSpec<NotionApi>>> = LazyLock::new(|| {
    tool_table! { Call;
        search(SearchParams), "Search Notion", Read,
            "Find Notion pages and data sources (database tables) by title. Start here to get the id of a \
             page or database the person mentions.";

        get_page(GetPageParams), "Get page properties", Read,
            "Read a page's properties (title, status, dates, ...) and metadata, not its body. Use \
             get_page_content for the text of the page.";

        get_page_content(GetPageContentParams), "Read page content", Read,
            "Read the body of a page as Markdown (headings, lists, to-dos, code, quotes, toggles with \
             their children). Use this to read, summarise or answer questions about a page.";

        get_page_property(GetPagePropertyParams), "Get one page property", Read,
            "Read one property of a page in full, for long values (relations, rollups, long text) that \
             get_page truncates.";

        get_database(DatabaseIdParams), "Get database", Read,
            "Read a database: its title and its data sources (tables) with their ids. Accepts a data \
             source id too.";

        get_data_source(DataSourceIdParams), "Get data source schema", Read,
            "Read a data source's schema: its property names, types and select options. Use before \
             filtering rows or creating a row.";

        query_database(QueryDatabaseParams), "Query database rows", Read,
            "List the rows (pages) of a database, optionally filtered and sorted.";

        query_data_source(QueryDataSourceParams), "Query data source rows", Read,
            "List the rows (pages) of one data source, optionally filtered, sorted, or from the trash.";

        list_data_source_templates(ListTemplatesParams), "List row templates", Read,
            "List the page templates of a data source, to create rows from a template.";

        get_block(BlockIdParams), "Get block", Read,
            "Read one block (paragraph, heading, to-do, ...) as a Notion block object.";

        get_block_children(BlockListParams), "List block children", Read,
            "List the child blocks of a page or block, one level, with their ids (for update_block, \
             delete_block or adding after a block).";

        list_comments(BlockListParams), "List comments", Read,
            "List the comments on a page or block, with their discussion ids for replies.";

        list_users(PageParams), "List workspace users", Read,
            "List the people and bots in the Notion workspace with their ids and emails.";

        get_user(UserIdParams), "Get user", Read,
            "Read one workspace user by id.";

        get_self(NoParams), "Who am I connected as", Read,
            "Show which Notion workspace and integration this connection uses.";

        create_page(CreatePageParams), "Create page", Write,
            "Create a page under a page, or a row in a database/data source, with a title and a body written \
             in Markdown.";

        append_block_children(AppendParams), "Add content to a page", Write,
            "Add content (Markdown) to the end or start of a page, or after a given block. Existing content \
             is kept.";

        create_comment(CreateCommentParams), "Add comment", Write,
            "Comment on a page, or reply in an existing discussion.";

        create_database(CreateDatabaseParams), "Create database", Write,
            "Create a database (table) inside a page, with its property schema.";

        create_data_source(CreateDataSourceParams), "Add data source to database", Write,
            "Add another data source (table) to an existing database.";

        restore_page(PageIdParams), "Restore page from trash", Restore,
            "Bring a page back from the trash (undoes archive_page).";

        update_page(UpdatePageParams), "Update page properties", Update,
            "Change a page's title, properties (status, dates, ...), icon or cover; not its body.";

        move_page(MovePageParams), "Move page", Update,
            "Move a page under another page or into a data source.";

        update_block(UpdateBlockParams), "Edit block", Update,
            "Change one block's content, e.g. the text of a paragraph or whether a to-do is checked. Get the \
             block id from get_block_children.";

        update_database(UpdateDatabaseParams), "Update database", Update,
            "Change a database's title, description, icon, cover or inline display.";

        update_data_source(UpdateDataSourceParams), "Update data source schema", Update,
            "Rename a data source or change its properties (add, rename, or delete a property by setting it \
             to null).";

        replace_page_content(ReplacePageContentParams), "Replace page content", Delete,
            "Erase a page's whole body and write new content from Markdown. The old content is lost; prefer \
             append_block_children to add.";

        archive_page(PageIdParams), "Move page to trash", Delete,
            "Move a page to the trash (it can be restored with restore_page).";

        archive_database(DatabaseIdParams), "Move database to trash", Delete,
            "Move a database to the trash.";

        delete_block(BlockIdParams), "Delete block", Delete,
            "Delete one block (paragraph, to-do, ...) from a page.";
    }
});

/// Every Notion tool with its handler, in `tools/list` order.
pub(crate) fn tools() -> &'static [ToolSpec<NotionApi>] {
    &TOOLS
}

/// Every Notion tool's definition, in a stable order; needs no secrets, store or network.
pub fn tool_list() -> Vec<Tool> {
    TOOLS.iter().map(|spec| spec.tool.clone()).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn tool_set_is_complete_and_well_formed() {
        crate::servers::tooling::assert_well_formed(&super::tool_list(), 30);
    }
}
