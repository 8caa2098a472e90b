# Settings of the example overlay k8s-generated/examples/more-servers: two more MCP servers for the
# gateway. `github` is GitHub's remote MCP server on the internet, with a token (the `gateway`
# Secret needs the key `server-github-token`) and a short list of its tools; `wiki` runs in the
# cluster, in the namespace `tools`, and is reached there.
{
  servers = {
    github = {
      url = "https://api.githubcopilot.com/mcp/";
      auth = "bearer";
      allowTools = [ "search_repositories" "get_file_contents" "list_issues" "get_issue" "create_issue" ];
      denyTools = [ "delete_file" ];
      coreTools = [ "search_repositories" "list_issues" ];
      keywords = [ "repo" "issue" "pull request" ];
    };
    wiki = {
      url = "http://wiki-mcp.tools.svc.cluster.local:8080/mcp";
      egress = {
        namespace = "tools";
        podLabels."app.kubernetes.io/name" = "wiki-mcp";
      };
    };
  };
}
