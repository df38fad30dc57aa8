// The TypeScript SDK 1.x client over stdio reading every denial code a tool call can end in.
// The client lists the tools first (as real clients do: the SDK then validates each result
// against the tool's output schema), then calls.
//
// Usage: node denials.mjs SERVER_BINARY. Prints one JSON line: for each case, the error
// object read from the result's text and whether structuredContent was present.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

const server = process.argv[2];

async function session(scopes, calls) {
  const env = { LOG_LEVEL: "error", MCP_STDIO_SCOPES: scopes, MCP_RATE_LIMIT: "1000" };
  const transport = new StdioClientTransport({ command: server, env, stderr: "ignore" });
  const client = new Client({ name: "typescript-sdk-denials", version: "1.0.0" });
  await client.connect(transport);
  await client.listTools();
  const seen = {};
  for (const [label, name, args, repeat] of calls) {
    for (let i = 0; i < (repeat ?? 1); i++) {
      const result = await client.callTool({ name, arguments: args });
      if (result.isError) {
        const text = result.content.find((c) => c.type === "text")?.text ?? "{}";
        seen[label] = { structured: "structuredContent" in result, ...JSON.parse(text).error };
        break;
      }
    }
  }
  await client.close();
  return seen;
}

const limited = await session("data:read data:write", [
  ["NOT_FOUND", "read_data", { id: "missing" }],
  ["INVALID_INPUT", "process_input", { data: "1' OR '1'='1" }],
  ["INPUT_TOO_LARGE", "process_input", { data: "x".repeat(200000) }],
  ["INSUFFICIENT_SCOPE", "admin_operation", { action: "stats" }],
  ["RATE_LIMITED", "write_data", { id: "k", data: "x" }, 10],
]);
const admin = await session("admin:full data:read data:write", [
  ["INTERNAL", "admin_operation", { action: "backup" }],
]);
console.log(JSON.stringify({ ...limited, ...admin }));
