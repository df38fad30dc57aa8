// The TypeScript SDK 1.x client (the one behind the MCP Inspector and many desktop clients)
// against a secured server with the development authorization server: discovery from the
// 401, dynamic registration, PKCE, a call, a 403 and the SDK's own step-up, then a
// RATE_LIMITED and an INVALID_INPUT result read with their fields.
//
// Usage: node oauth_client.mjs MCP_URL. Prints one JSON line with what it saw; exits
// non-zero on any failure. The authorization server must auto-approve: the script plays the
// browser by following the authorization URL itself.

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";

const REDIRECT = "http://127.0.0.1:45682/callback";
const url = new URL(process.argv[2]);

class MemoryProvider {
  constructor() {
    this.client = undefined;
    this.saved = undefined;
    this.verifier = undefined;
    this.code = undefined;
    this.authorizations = [];
  }
  get redirectUrl() {
    return REDIRECT;
  }
  get clientMetadata() {
    // No refresh_token grant: a step-up must re-authorize (the SDK tries a refresh first).
    return {
      client_name: "typescript sdk",
      redirect_uris: [REDIRECT],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  clientInformation() {
    return this.client;
  }
  saveClientInformation(info) {
    this.client = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens) {
    this.saved = tokens;
  }
  saveCodeVerifier(verifier) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier;
  }
  async redirectToAuthorization(authorizationUrl) {
    this.authorizations.push({
      scope: authorizationUrl.searchParams.get("scope"),
      method: authorizationUrl.searchParams.get("code_challenge_method"),
      resource: authorizationUrl.searchParams.get("resource"),
    });
    const response = await fetch(authorizationUrl, { redirect: "manual" });
    const location = new URL(response.headers.get("location"));
    this.code = location.searchParams.get("code");
    if (!this.code) {
      throw new Error(`no code: ${location}`);
    }
  }
}

const provider = new MemoryProvider();

/// Runs `f`; when the SDK needs the user to authorize (it already followed the URL), finishes
/// the authorization on `transport` and runs `f` again.
async function authorized(transport, f) {
  try {
    return await f();
  } catch (error) {
    if (!(error instanceof UnauthorizedError)) throw error;
    await transport.finishAuth(provider.code);
    return await f();
  }
}

function errorOf(result) {
  if (!result.isError) return null;
  const text = result.content.find((c) => c.type === "text")?.text ?? "{}";
  return { structured: result.structuredContent ?? null, ...JSON.parse(text).error };
}

let transport = new StreamableHTTPClientTransport(url, { authProvider: provider });
let client = new Client({ name: "typescript-sdk-test", version: "1.0.0" });
try {
  await client.connect(transport);
} catch (error) {
  if (!(error instanceof UnauthorizedError)) throw error;
  await transport.finishAuth(provider.code);
  transport = new StreamableHTTPClientTransport(url, { authProvider: provider });
  client = new Client({ name: "typescript-sdk-test", version: "1.0.0" });
  await client.connect(transport);
}
const firstScope = provider.saved?.scope;
const tools = (await client.listTools()).tools.map((t) => t.name).sort();
// 403 insufficient_scope: the SDK steps up (re-authorizes for the tool's scope) and retries.
const written = await authorized(transport, () =>
  client.callTool({ name: "write_data", arguments: { id: "ts-1", data: "from typescript" } }),
);
// A burst past write_data's rate (burst 5): RATE_LIMITED, read with its retry_after.
let limited = null;
for (let i = 0; i < 10 && !limited; i++) {
  const r = await client.callTool({ name: "write_data", arguments: { id: `k${i}`, data: "x" } });
  const e = errorOf(r);
  if (e && e.code === "RATE_LIMITED") limited = e;
}
// INVALID_INPUT, read with the field and rule that failed.
const invalid = errorOf(
  await client.callTool({ name: "process_input", arguments: { data: "1' OR '1'='1" } }),
);
await client.close();

console.log(
  JSON.stringify({
    registered: provider.client !== undefined,
    authorizations: provider.authorizations,
    first_scope: firstScope,
    refresh_token: provider.saved?.refresh_token ?? null,
    tools,
    written: written.structuredContent ?? null,
    written_is_error: written.isError ?? false,
    limited,
    invalid,
  }),
);
