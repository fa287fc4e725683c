"""Verifies a Roster access token with python-jose and prints its `sub` (the user id).

python verify_python_jose.py JWKS_URL TOKEN [ISSUER] [AUDIENCE]; needs
`pip install "python-jose[cryptography]"` and ACCESS_TOKEN_ALGORITHM ES256 or RS256
(python-jose has no EdDSA).
"""
import json
import sys
import urllib.request

from jose import jwt

jwks_url, token = sys.argv[1:3]
issuer = sys.argv[3] if len(sys.argv) > 3 else "http://127.0.0.1:8001"  # Roster's PUBLIC_URL
audience = sys.argv[4] if len(sys.argv) > 4 else "roster"  # Roster's JWT_AUDIENCE

with urllib.request.urlopen(jwks_url, timeout=10) as response:  # cache this in a service
    keys = json.load(response)["keys"]
kid = jwt.get_unverified_header(token)["kid"]
key = next(k for k in keys if k["kid"] == kid)
claims = jwt.decode(token, key, algorithms=[key["alg"]], issuer=issuer, audience=audience)
print(claims["sub"])
