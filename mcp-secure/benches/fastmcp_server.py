"""FastMCP with JWT authentication serving the same echo tool as the http_load bench's servers.

Used by `cargo bench -p mcp-secure --bench http_load` when HTTP_LOAD_EXTRA names it:

    HTTP_LOAD_EXTRA="fastmcp=/path/to/python mcp-secure/benches/fastmcp_server.py {port} {jwks} {audience}"

Stateless Streamable HTTP with JSON responses at /mcp; RS256 tokens checked against the bench's
key (the JWKS file converted to PEM), its issuer and this server's audience. Written against
FastMCP 4.2 (`pip install fastmcp`); it is not run in CI.
"""

import base64
import json
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicNumbers
from fastmcp import FastMCP
from fastmcp.server.auth.providers.jwt import JWTVerifier


def b64int(value: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")


def main() -> None:
    port, jwks_path, audience = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    with open(jwks_path) as f:
        jwk = json.load(f)["keys"][0]
    pem = (
        RSAPublicNumbers(b64int(jwk["e"]), b64int(jwk["n"]))
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    verifier = JWTVerifier(
        public_key=pem,
        issuer="https://as.example.com",
        audience=audience,
        algorithm="RS256",
    )
    mcp = FastMCP("bench", auth=verifier)

    @mcp.tool
    def echo(text: str) -> str:
        """Echoes the text."""
        return text

    mcp.run(
        transport="http",
        host="127.0.0.1",
        port=port,
        path="/mcp",
        json_response=True,
        stateless_http=True,
        show_banner=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
