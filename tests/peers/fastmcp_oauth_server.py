"""A FastMCP server protected by FastMCP's own OAuth authorization server, for the gateway's
OAuth client tests: a real MCP server and authorization server that the project did not write.

Usage:
    fastmcp_oauth_server.py --port N

It serves MCP (streamable HTTP) at /mcp, protected-resource and authorization-server metadata,
dynamic client registration at /register, /authorize (approves at once and redirects back with a
code), /token (authorization code with PKCE, refresh token) and /revoke, all from FastMCP's
InMemoryOAuthProvider.

Tools:
    search_notes(query)  Answers with a note titled "Quarterly plan" and the client id bound to
                         the bearer token the request carried.
"""

import argparse

from fastmcp import FastMCP
from fastmcp.server.auth.providers.in_memory import InMemoryOAuthProvider
from fastmcp.server.dependencies import get_access_token
from mcp.server.auth.settings import ClientRegistrationOptions, RevocationOptions


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    base = f"http://127.0.0.1:{args.port}"
    auth = InMemoryOAuthProvider(
        base_url=base,
        client_registration_options=ClientRegistrationOptions(enabled=True),
        revocation_options=RevocationOptions(enabled=True),
    )
    mcp = FastMCP("fastmcp-oauth-peer", auth=auth)

    @mcp.tool
    def search_notes(query: str) -> str:
        """Search the notes by title."""
        token = get_access_token()
        client = token.client_id if token else "nobody"
        return f"Found 1 note for {query!r}: Quarterly plan (client {client})"

    mcp.run(transport="http", host="127.0.0.1", port=args.port, show_banner=False)


if __name__ == "__main__":
    main()
