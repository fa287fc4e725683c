// Verifies a Roster access token with jsonwebtoken and jwks-rsa; prints its `sub`.
// node verify-jsonwebtoken.js JWKS_URL TOKEN [ISSUER] [AUDIENCE]
// jsonwebtoken has no EdDSA: set Roster's ACCESS_TOKEN_ALGORITHM to ES256 or RS256.
const jwt = require("jsonwebtoken");
const jwksRsa = require("jwks-rsa");

const [jwksUri, token, issuer = "http://127.0.0.1:8001", audience = "roster"] =
  process.argv.slice(2);
const keys = jwksRsa({ jwksUri, cache: true }); // one client per process: it caches keys

const keyFor = (header, callback) =>
  keys.getSigningKey(header.kid).then((key) => callback(null, key.getPublicKey()), callback);

jwt.verify(token, keyFor, { algorithms: ["ES256", "RS256"], issuer, audience }, (error, claims) => {
  if (error) {
    console.error(`rejected: ${error.message}`);
    process.exit(1);
  }
  console.log(claims.sub);
});
