"""The official MCP Python SDK as an OAuth client of one of our MCP servers, headless.

Usage: sdk_oauth_client.py MCP_URL TOOL ARGS_JSON

The SDK discovers the protected-resource and authorization-server metadata, registers a client
(dynamic client registration), and builds the PKCE authorization URL. A headless "browser" here
opens that URL, reads the consent page, approves it (CSRF token and cookie included), follows the
upstream redirect and the server's callback, and hands the final redirect's `code`, `state` and
`iss` back to the SDK, which redeems the code. The script then lists the tools, calls TOOL with
ARGS_JSON, refreshes the token once through the SDK's own refresh path, and prints one JSON
object: {"tools": [...names], "result": {...}, "refreshed": bool}.
"""

import asyncio
import json
import re
import sys
from urllib.parse import parse_qs, urljoin, urlparse

import httpx2
from mcp import ClientSession
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)

REDIRECT_URI = "http://127.0.0.1:53682/callback"


class MemoryStorage:
    def __init__(self):
        self.tokens = None
        self.client = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull):
        self.client = client_info


class HeadlessBrowser:
    """Follows the authorization URL the way a person's browser would."""

    def __init__(self):
        self.result: AuthorizationCodeResult | None = None

    async def open(self, url: str) -> None:
        async with httpx2.AsyncClient(follow_redirects=False, timeout=20) as browser:
            page = await browser.get(url)
            if page.status_code != 200:
                raise SystemExit(f"consent page: HTTP {page.status_code}: {page.text[:300]}")
            html = page.text
            fields = dict(re.findall(r'name="(request|csrf)" value="([^"]*)"', html))
            action = re.search(r'<form[^>]*action="([^"]+)"', html)
            target = urljoin(url, action.group(1) if action else "/consent")
            step = await browser.post(target, data={**fields, "decision": "approve"})
            # Consent → upstream → the server's callback → the client's redirect URI.
            for _ in range(5):
                location = step.headers.get("location")
                if not location:
                    raise SystemExit(f"the flow stopped at HTTP {step.status_code}: {step.text[:300]}")
                location = urljoin(str(step.url), location)
                if location.startswith(REDIRECT_URI):
                    query = parse_qs(urlparse(location).query)
                    if "error" in query:
                        raise SystemExit(f"authorization failed: {query}")
                    self.result = AuthorizationCodeResult(
                        code=query["code"][0],
                        state=query.get("state", [None])[0],
                        iss=query.get("iss", [None])[0],
                    )
                    return
                step = await browser.get(location)
            raise SystemExit("too many redirects")

    async def callback(self) -> AuthorizationCodeResult:
        if self.result is None:
            raise SystemExit("the browser never reached the redirect URI")
        return self.result


async def main() -> None:
    url, tool, args = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    storage = MemoryStorage()
    browser = HeadlessBrowser()
    auth = OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata(
            client_name="Python SDK test client",
            redirect_uris=[REDIRECT_URI],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
        ),
        storage=storage,
        redirect_handler=browser.open,
        callback_handler=browser.callback,
    )
    out = {}
    async with httpx2.AsyncClient(auth=auth, timeout=30) as http:
        async with streamable_http_client(url, http_client=http) as streams:
            read, write = streams[0], streams[1]
            async with ClientSession(read, write) as session:
                await session.initialize()
                listed = await session.list_tools()
                out["tools"] = [t.name for t in listed.tools]
                result = await session.call_tool(tool, args)
                out["result"] = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    first = storage.tokens
    # Force the SDK's refresh path: mark the access token expired and call again.
    auth.context.token_expiry_time = 1.0
    async with httpx2.AsyncClient(auth=auth, timeout=30) as http:
        async with streamable_http_client(url, http_client=http) as streams:
            read, write = streams[0], streams[1]
            async with ClientSession(read, write) as session:
                await session.initialize()
                await session.list_tools()
    out["refreshed"] = (
        storage.tokens is not None
        and first is not None
        and storage.tokens.access_token != first.access_token
        and storage.tokens.refresh_token != first.refresh_token
    )
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(main())
