"""The Python `mcp` SDK client over stdio reading every denial code a tool call can end in.
The client lists the tools first (as real clients do: the SDK then validates each result
against the tool's output schema), then calls.

Usage: denials.py SERVER_BINARY. Prints one JSON line: for each case, the error object read
from the result's text and whether structured content was present.
"""

import asyncio
import json
import sys

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


async def session(server: str, scopes: str, calls: list) -> dict:
    params = StdioServerParameters(
        command=server,
        env={"LOG_LEVEL": "error", "MCP_STDIO_SCOPES": scopes, "MCP_RATE_LIMIT": "1000"},
    )
    seen: dict = {}
    with open("/dev/null", "w") as devnull:
        async with stdio_client(params, errlog=devnull) as (read, write):
            async with ClientSession(read, write) as client:
                await client.initialize()
                await client.list_tools()
                for label, name, args, repeat in calls:
                    for _ in range(repeat):
                        result = await client.call_tool(name, args)
                        if result.is_error:
                            text = next(c.text for c in result.content if c.type == "text")
                            seen[label] = {
                                "structured": result.structured_content is not None,
                                **json.loads(text)["error"],
                            }
                            break
    return seen


async def main(server: str) -> dict:
    limited = await session(
        server,
        "data:read data:write",
        [
            ("NOT_FOUND", "read_data", {"id": "missing"}, 1),
            ("INVALID_INPUT", "process_input", {"data": "1' OR '1'='1"}, 1),
            ("INPUT_TOO_LARGE", "process_input", {"data": "x" * 200000}, 1),
            ("INSUFFICIENT_SCOPE", "admin_operation", {"action": "stats"}, 1),
            ("RATE_LIMITED", "write_data", {"id": "k", "data": "x"}, 10),
        ],
    )
    admin = await session(
        server,
        "admin:full data:read data:write",
        [("INTERNAL", "admin_operation", {"action": "backup"}, 1)],
    )
    return {**limited, **admin}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1]))))
