"""An independent OAuth client's view of the server's metadata: Python's Authlib (Debian's
python3-authlib) fetches both discovery documents from the issuer, as a strict client does,
and validates them (RFC 8414 for both; OpenID Connect Discovery 1.0 for the OpenID one).

Usage: authlib_metadata.py ISSUER CONNECT_TO
ISSUER is PUBLIC_URL (https). The server is reached at CONNECT_TO (http://127.0.0.1:port) with
the issuer's Host and X-Forwarded-Proto, as a TLS-terminating proxy would forward it.
Prints one line per document; exits non-zero on the first complaint.
"""
import json
import sys
import urllib.request
from urllib.parse import urlsplit

from authlib.oauth2.rfc8414 import AuthorizationServerMetadata, get_well_known_url
from authlib.oidc.discovery import OpenIDProviderMetadata
from authlib.oidc.discovery import get_well_known_url as get_openid_well_known_url


def fetch(url, connect_to):
    parts = urlsplit(url)
    request = urllib.request.Request(
        connect_to + parts.path,
        headers={"Host": parts.netloc, "X-Forwarded-Proto": parts.scheme, "Accept": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def main(issuer, connect_to):
    documents = [
        (get_well_known_url(issuer, external=True), [AuthorizationServerMetadata]),
        (get_openid_well_known_url(issuer, external=True), [AuthorizationServerMetadata, OpenIDProviderMetadata]),
    ]
    for url, models in documents:
        metadata = fetch(url, connect_to)
        # RFC 8414 section 3.3: the issuer named is the one the URL was derived from.
        if metadata.get("issuer") != issuer:
            raise SystemExit(f"{url}: issuer {metadata.get('issuer')!r}, expected {issuer!r}")
        for model in models:
            model(metadata).validate()
        print(f"{url}: valid as {', '.join(model.__name__ for model in models)}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
