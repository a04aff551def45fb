#!/usr/bin/env python3
"""Sign a user in once and approve the client once, so that wrk can then drive
the code flow's server side: GET /authorize (answered at once with a code,
the session and the consent being remembered) and POST /token.

Usage: codeflow_setup.py tessera|peer AUTHORIZE_URL TOKEN_URL REDIRECT_URI BASIC VERIFIER [USERNAME PASSWORD]

It walks the browser steps with a cookie jar, checks that a second
AUTHORIZE_URL now redirects straight to REDIRECT_URI with a code and that the
code buys an access token, and prints the Cookie header wrk must send.
Password hashing happens once here, not in the measured loop, as the design's
target ("password hashing aside") asks.
"""

import html
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def main():
    kind, authorize_url, token_url, redirect_uri, basic, verifier = sys.argv[1:7]
    username, password = (sys.argv[7:9] + [None, None])[:2]
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)

    def fetch(url, form=None):
        """One request, no redirects followed: (status, location, body)."""
        data = urllib.parse.urlencode(form, doseq=True).encode() if form is not None else None
        try:
            with opener.open(urllib.request.Request(url, data=data), timeout=30) as r:
                return r.status, r.headers.get("Location"), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Location"), e.read().decode()

    def absolute(location):
        return urllib.parse.urljoin(authorize_url, location)

    def hidden(body, name):
        match = re.search(rf'name="{name}" value="([^"]*)"', body)
        if not match:
            sys.exit(f"no hidden field {name!r} in the page:\n{body[:2000]}")
        return html.unescape(match.group(1))

    def code_of(location):
        if not location or not location.startswith(redirect_uri):
            return None
        return urllib.parse.parse_qs(urllib.parse.urlsplit(location).query).get("code", [None])[0]

    if kind == "tessera":
        # Login page, then the consent page, as a browser would see them.
        status, location, body = fetch(authorize_url)
        if status != 200:
            sys.exit(f"/authorize answered {status}, expected the login page")
        status, location, body = fetch(absolute("/login"), {
            "csrf": hidden(body, "csrf"), "request": hidden(body, "request"),
            "username": username, "password": password,
        })
        if status not in (302, 303):
            sys.exit(f"/login answered {status}: {body[:500]}")
        status, location, body = fetch(absolute(location))
        if status == 200:  # the consent page
            status, location, body = fetch(absolute("/consent"), {
                "csrf": hidden(body, "csrf"), "request": hidden(body, "request"),
                "grant_scope": re.findall(r'name="grant_scope" value="([^"]*)"', body),
                "decision": "allow",
            })
    else:
        # oidc-provider: its interaction route (bench/peer/server.mjs) signs
        # the bench user in and grants the scopes without a page.
        status, location, body = fetch(authorize_url)
        for _ in range(10):
            if code_of(location) or status not in (302, 303):
                break
            status, location, body = fetch(absolute(location))
    if not code_of(location):
        sys.exit(f"the setup flow did not end with a code: {status} {location} {body[:500]}")

    # The loop wrk will run: a code at once, then the token.
    status, location, body = fetch(authorize_url)
    code = code_of(location)
    if not code:
        sys.exit(f"a second /authorize did not redirect with a code: {status} {location} {body[:500]}")
    request = urllib.request.Request(token_url, data=urllib.parse.urlencode({
        "grant_type": "authorization_code", "code": code,
        "redirect_uri": redirect_uri, "code_verifier": verifier,
    }).encode(), headers={"Authorization": f"Basic {basic}"})
    with urllib.request.urlopen(request, timeout=30) as r:
        if "access_token" not in json.loads(r.read()):
            sys.exit("the code did not buy an access token")

    probe = urllib.request.Request(authorize_url)
    jar.add_cookie_header(probe)
    # No spaces, so the value passes through run.sh's word lists intact.
    print(probe.get_header("Cookie").replace("; ", ";"))


if __name__ == "__main__":
    main()
