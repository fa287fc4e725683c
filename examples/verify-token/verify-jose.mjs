// Verifies a Roster access token with jose (Node, Deno, Bun, browsers); prints its `sub`.
// node verify-jose.mjs JWKS_URL TOKEN [ISSUER] [AUDIENCE]
import { createRemoteJWKSet, jwtVerify } from "jose";

const [jwksUrl, token, issuer = "http://127.0.0.1:8001", audience = "roster"] =
  process.argv.slice(2);
// Fetched once and cached; fetched again when a token names a key it has not seen.
const keys = createRemoteJWKSet(new URL(jwksUrl));

// The key's `alg` (EdDSA, ES256 or RS256) decides the algorithm; `exp` is checked.
const { payload } = await jwtVerify(token, keys, {
  issuer,
  audience,
  algorithms: ["EdDSA", "ES256", "RS256"],
  requiredClaims: ["exp", "sub"],
});
console.log(payload.sub);
