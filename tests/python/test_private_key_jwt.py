"""private_key_jwt client authentication (OpenID Connect Core §9, RFC 7523)
with authlib's PrivateKeyJWT: a client created with `tessera client create
--jwks`, whose assertions authlib signs."""

import json
import time

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc.jwk import ECKey, RSAKey


def keyed_client(tessera, tmp_path, key) -> str:
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [key.as_dict(is_private=False, kid="k1")]}))
    client = tessera.cli_json("client", "create", "--name", "Keyed", "--scope", "contact.read",
                              "--jwks", str(jwks))
    assert client["token_endpoint_auth_method"] == "private_key_jwt"
    assert client["client_secret"] is None
    return client["client_id"]


def session(client_id, key, token_endpoint, alg, claims=None):
    return OAuth2Session(
        # authlib reads a secret that is not a key object as RSA: hand it the key itself.
        client_id, (ECKey if key.kty == "EC" else RSAKey).import_key(key.as_dict(is_private=True)),
        token_endpoint_auth_method=PrivateKeyJWT(token_endpoint, claims=claims, headers={"kid": "k1"}, alg=alg),
        scope="contact.read",
    )


@pytest.mark.parametrize("kty,crv_or_size,alg", [("EC", "P-256", "ES256"), ("RSA", 2048, "RS256"),
                                                 ("RSA", 2048, "PS256")])
def test_client_credentials_with_authlib_private_key_jwt(tessera, tmp_path, kty, crv_or_size, alg):
    metadata = tessera.metadata()
    assert "private_key_jwt" in metadata["token_endpoint_auth_methods_supported"]
    assert alg in metadata["token_endpoint_auth_signing_alg_values_supported"]
    key = JsonWebKey.generate_key(kty, crv_or_size, is_private=True)
    client_id = keyed_client(tessera, tmp_path, key)
    token_endpoint = metadata["token_endpoint"]

    # Tessera refuses assertions living longer than 5 minutes; authlib's default is an hour.
    short = {"exp": int(time.time()) + 60}
    token = session(client_id, key, token_endpoint, alg, short).fetch_token(
        token_endpoint, grant_type="client_credentials")
    assert token["token_type"] == "Bearer"
    assert token["scope"] == "contact.read"

    # No credentials at all.
    response = requests.post(token_endpoint, data={"grant_type": "client_credentials"}, timeout=10)
    assert response.status_code == 401

    long_lived = session(client_id, key, token_endpoint, alg)
    with pytest.raises(Exception) as refused:
        long_lived.fetch_token(token_endpoint, grant_type="client_credentials")
    assert "invalid_client" in str(refused.value)
