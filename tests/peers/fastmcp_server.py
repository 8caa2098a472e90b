"""A FastMCP server (streamable HTTP at /mcp) that the integration tests use as a real MCP peer.

Usage:
    fastmcp_server.py --port N [--token TOKEN] [--page-size N] [--extra-tools N] [--odd-tools]

Options:
    --port N         Port to listen on (127.0.0.1).
    --token TOKEN    Require `Authorization: Bearer TOKEN` on every request (a static token
                     verifier); requests without it, or with another token, get HTTP 401.
    --page-size N    Split `tools/list` into pages of N tools (exercises pagination).
    --extra-tools N  Add N generated tools `extra_0` .. `extra_{N-1}` (exercises the tool cap).
    --odd-tools      Add tools the gateway must skip: one whose name has a dot, one whose name is
                     longer than 64 characters once prefixed, and one with a very large schema.

Tools:
    add(a, b)            Adds two integers. readOnlyHint, idempotentHint.
    delete_note(note_id) Deletes a note. destructiveHint.
    whoami()             Reports the client id bound to the bearer token the request carried.
    slow(seconds)        Sleeps, then answers "done".
    fail(message)        Always fails with `message` (a result with isError).
    structured(city)     Returns structured content {"city", "temperature_c"}.
    big(size)            Returns a text of `size` characters. readOnlyHint.
    unlock_bonus()       Enables the hidden `bonus` tool for this session and sends
                         notifications/tools/list_changed.
    bonus()              Hidden until unlock_bonus is called.
"""

import argparse
import asyncio

from fastmcp import Context, FastMCP
from fastmcp.exceptions import ToolError
from fastmcp.server.auth.providers.jwt import StaticTokenVerifier
from fastmcp.server.dependencies import get_access_token
from mcp.types import ToolAnnotations


def build(args: argparse.Namespace) -> FastMCP:
    auth = None
    if args.token:
        auth = StaticTokenVerifier(
            tokens={args.token: {"client_id": "gateway-test-client", "scopes": []}}
        )
    mcp = FastMCP(
        "fastmcp-test-peer",
        auth=auth,
        list_page_size=args.page_size,
    )

    @mcp.tool(annotations=ToolAnnotations(readOnlyHint=True, idempotentHint=True))
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @mcp.tool(
        annotations=ToolAnnotations(
            title="Delete a note", readOnlyHint=False, destructiveHint=True
        )
    )
    def delete_note(note_id: str) -> str:
        """Delete a note permanently."""
        return f"deleted {note_id}"

    @mcp.tool
    def whoami() -> str:
        """Report which client the bearer token belongs to."""
        token = get_access_token()
        if token is None:
            return "anonymous"
        return token.client_id

    @mcp.tool
    async def slow(seconds: float) -> str:
        """Sleep for the given number of seconds."""
        await asyncio.sleep(seconds)
        return "done"

    @mcp.tool
    def fail(message: str) -> str:
        """Always fail with the given message."""
        raise ToolError(message)

    @mcp.tool
    def structured(city: str) -> dict:
        """Report the weather of a city as structured content."""
        return {"city": city, "temperature_c": 21}

    @mcp.tool(annotations=ToolAnnotations(readOnlyHint=True))
    def big(size: int) -> str:
        """Return a text of `size` characters (at most 32 MiB)."""
        return "x" * max(0, min(size, 32 * 1024 * 1024))

    @mcp.tool
    async def unlock_bonus(ctx: Context) -> str:
        """Reveal the bonus tool for this session."""
        await ctx.enable_components(names={"bonus"})
        return "unlocked"

    @mcp.tool
    def bonus() -> str:
        """A tool that appears only after unlock_bonus."""
        return "bonus!"

    mcp.disable(names={"bonus"})

    for i in range(args.extra_tools):
        def make(i: int):
            def extra() -> str:
                return f"extra {i}"

            return extra

        mcp.tool(make(i), name=f"extra_{i}", description=f"Generated tool number {i}.")

    if args.odd_tools:
        mcp.tool(lambda: "dotted", name="dotted.name", description="A name with a dot.")
        mcp.tool(lambda: "long", name="x" * 70, description="A name that is too long.")

        from fastmcp.tools import Tool

        props = {
            f"field_{i}": {"type": "string", "description": "d" * 200} for i in range(600)
        }
        mcp.add_tool(
            Tool(
                name="huge_schema",
                description="A tool whose input schema is very large.",
                parameters={"type": "object", "properties": props},
            )
        )

    return mcp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", default=None)
    parser.add_argument("--page-size", type=int, default=None)
    parser.add_argument("--extra-tools", type=int, default=0)
    parser.add_argument("--odd-tools", action="store_true")
    args = parser.parse_args()
    mcp = build(args)
    mcp.run(
        transport="http",
        host="127.0.0.1",
        port=args.port,
        path="/mcp",
        show_banner=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
