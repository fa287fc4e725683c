"""Verifies a Roster access token with PyJWT and prints its `sub` (the user id).

python verify.py JWKS_URL TOKEN [ISSUER] [AUDIENCE]; needs `pip install "PyJWT[crypto]"`.
"""
import sys

import jwt

jwks_url, token = sys.argv[1:3]
issuer = sys.argv[3] if len(sys.argv) > 3 else "http://127.0.0.1:8001"  # Roster's PUBLIC_URL
audience = sys.argv[4] if len(sys.argv) > 4 else "roster"  # Roster's JWT_AUDIENCE

# The key the token's `kid` names, from Roster's published key set (cached by the client).
key = jwt.PyJWKClient(jwks_url).get_signing_key_from_jwt(token)
# The algorithm comes from that key (EdDSA, ES256 or RS256), never from the token alone.
claims = jwt.decode(token, key.key, algorithms=[key.algorithm_name],
                    issuer=issuer, audience=audience, options={"require": ["exp", "sub"]})
print(claims["sub"])
