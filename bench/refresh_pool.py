#!/usr/bin/env python3
"""Obtain fresh refresh tokens through real code flows, for one wrk run of the
refresh scenario (bench/wrk/refresh.lua).

Usage: refresh_pool.py AUTHORIZE_URL TOKEN_URL REDIRECT_URI BASIC VERIFIER COOKIE COUNT OUT_FILE

COOKIE is the signed-in session with remembered consent that
bench/codeflow_setup.py printed for this client, so each GET AUTHORIZE_URL is
answered at once with a code; the code (with the PKCE verifier, Basic auth)
buys an access token and a refresh token. COUNT refresh tokens are written
one per line to OUT_FILE.

A new pool is needed for every run: refresh tokens rotate, so the tokens of
the last run were spent, and the ones in flight when wrk stopped may have
been rotated without their successor ever being read.
"""

import http.client
import json
import sys
import urllib.parse


def main():
    authorize_url, token_url, redirect_uri, basic, verifier, cookie, count, out_file = sys.argv[1:9]
    count = int(count)
    authorize = urllib.parse.urlsplit(authorize_url)
    token = urllib.parse.urlsplit(token_url)
    if (authorize.hostname, authorize.port) != (token.hostname, token.port):
        sys.exit("the authorization and token endpoints must be on the same server")
    # One keep-alive connection for every flow: the pool is ready in a moment.
    conn = http.client.HTTPConnection(authorize.hostname, authorize.port, timeout=30)
    authorize_path = authorize.path + "?" + authorize.query
    tokens = []
    for _ in range(count):
        conn.request("GET", authorize_path, headers={"Cookie": cookie})
        response = conn.getresponse()
        response.read()
        location = response.getheader("Location") or ""
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query).get("code", [None])[0]
        if response.status not in (302, 303) or not location.startswith(redirect_uri) or not code:
            sys.exit(f"/authorize answered {response.status} {location!r}, expected a redirect with a code")
        form = urllib.parse.urlencode({
            "grant_type": "authorization_code", "code": code,
            "redirect_uri": redirect_uri, "code_verifier": verifier,
        })
        conn.request("POST", token.path, body=form, headers={
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/x-www-form-urlencoded",
        })
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            sys.exit(f"the token endpoint answered {response.status}: {body[:500]!r}")
        refresh_token = json.loads(body).get("refresh_token")
        if not refresh_token:
            sys.exit(f"the code bought no refresh token: {body[:500]!r}")
        tokens.append(refresh_token)
    conn.close()
    if len(set(tokens)) != len(tokens):
        sys.exit("the server issued the same refresh token twice")
    with open(out_file, "w", encoding="ascii") as f:
        f.write("\n".join(tokens) + "\n")


if __name__ == "__main__":
    main()
