"""An independent MCP client (the Python `mcp` SDK) completing the OAuth 2.1 flow against a
secured server: discovery from the 401, dynamic registration, authorization code with PKCE,
token, then MCP calls. Usage: oauth_client.py MCP_URL. Prints one JSON line with what it saw;
exits non-zero on any failure. The authorization server must auto-approve (the script plays
the browser by following the authorization URL itself).
"""

import asyncio
import json
import sys
from urllib.parse import parse_qs, urlparse

import httpx2
from mcp import ClientSession
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)

REDIRECT = "http://127.0.0.1:45681/callback"


class MemoryStorage:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


async def main(url: str) -> dict:
    seen: dict = {}

    async def redirect_handler(authorization_url: str) -> None:
        query = parse_qs(urlparse(authorization_url).query)
        seen["pkce_method"] = query.get("code_challenge_method", [None])[0]
        seen["resource"] = query.get("resource", [None])[0]
        async with httpx2.AsyncClient(follow_redirects=False) as http:
            response = await http.get(authorization_url)
        location = urlparse(response.headers["location"])
        callback = parse_qs(location.query)
        seen["callback"] = {
            "code": callback["code"][0],
            "state": callback.get("state", [None])[0],
            "iss": callback.get("iss", [None])[0],
        }

    async def callback_handler() -> AuthorizationCodeResult:
        return AuthorizationCodeResult(**seen["callback"])

    storage = MemoryStorage()
    provider = OAuthClientProvider(
        server_url=url,
        client_metadata=OAuthClientMetadata(
            client_name="python mcp sdk",
            redirect_uris=[REDIRECT],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
            scope="data:read data:write",
        ),
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
    )
    async with httpx2.AsyncClient(auth=provider, timeout=30) as http:
        async with streamable_http_client(url, http_client=http) as streams:
            read, write = streams[0], streams[1]
            async with ClientSession(read, write) as session:
                await session.initialize()
                tools = await session.list_tools()
                # The 401 asked for the least-privilege start (data:read): write_data needs a
                # step-up, which the SDK does on the 403 (re-authorizing with data:write too).
                written = await session.call_tool("write_data", {"id": "py-1", "data": "from python"})
                tools_after = await session.list_tools()
                # alice cannot hold admin:full: the server answers 403 insufficient_scope, the
                # SDK tries a step-up, the authorization server cannot grant it, the call fails.
                try:
                    await session.call_tool("admin_operation", {"action": "stats"})
                    denied = "allowed"
                except MCPError as error:
                    denied = type(error).__name__
    return {
        "tools": sorted(t.name for t in tools.tools),
        "tools_after_step_up": sorted(t.name for t in tools_after.tools),
        "written": written.structured_content,
        "admin_call": denied,
        "registered": storage.client is not None,
        "token_type": storage.tokens.token_type if storage.tokens else None,
        "pkce_method": seen.get("pkce_method"),
        "resource": seen.get("resource"),
        "iss": seen.get("callback", {}).get("iss"),
    }


if __name__ == "__main__":
    result = asyncio.run(main(sys.argv[1]))
    print(json.dumps(result))
