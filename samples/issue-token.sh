#!/bin/sh
# Issues an HS256 JWT from a local test issuer, for a target configured with
#   Auth:Jwt:Issuer = $ISSUER, Auth:Jwt:Audience = $AUDIENCE, Auth:Jwt:SigningKey = $SIGNING_KEY (base64).
# Usage: SIGNING_KEY=... samples/issue-token.sh <subject> [tenant] [lifetime-seconds]
# Only for development and tests: a production issuer is an OpenID Connect provider (Auth:Jwt:Authority).
set -eu
: "${SIGNING_KEY:?set SIGNING_KEY to the target's Auth:Jwt:SigningKey (base64)}"
ISSUER="${ISSUER:-https://issuer.local}"
AUDIENCE="${AUDIENCE:-storagebridge}"
subject="${1:?usage: issue-token.sh <subject> [tenant] [lifetime-seconds]}"
tenant="${2:-}"
lifetime="${3:-3600}"

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

now=$(date +%s)
claims=$(printf '"iss":"%s","aud":"%s","sub":"%s","iat":%d,"nbf":%d,"exp":%d' "$ISSUER" "$AUDIENCE" "$subject" "$now" "$now" "$((now + lifetime))")
if [ -n "$tenant" ]; then
  claims="$claims,\"tenant\":\"$tenant\""
fi

header=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
payload=$(printf '{%s}' "$claims" | b64url)
hexkey=$(printf '%s' "$SIGNING_KEY" | openssl base64 -d -A | od -An -v -tx1 | tr -d ' \n')
signature=$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hexkey" -binary | b64url)
printf '%s.%s.%s\n' "$header" "$payload" "$signature"
