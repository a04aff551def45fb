"""Registration (RFC 7591/7592), client_credentials, introspection and
revocation, driven by Python authlib: a client library we did not write."""

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, JsonWebToken


def register(tessera, metadata: dict) -> dict:
    initial = tessera.cli_json("registration-token", "create")["token"]
    response = requests.post(
        tessera.metadata()["registration_endpoint"],
        json=metadata,
        headers={"Authorization": f"Bearer {initial}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_registration_and_client_credentials_round_trip(tessera, auth_method):
    metadata = tessera.metadata()
    client = register(tessera, {
        "client_name": "authlib client",
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": auth_method,
        "scope": "contact.read",
    })
    assert client["token_endpoint_auth_method"] == auth_method

    session = OAuth2Session(
        client["client_id"], client["client_secret"],
        token_endpoint_auth_method=auth_method, scope="contact.read",
    )
    token = session.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")
    assert token["token_type"] == "Bearer"
    assert token["scope"] == "contact.read"
    assert token["expires_in"] == 3600

    # The access token verifies with authlib's JOSE against the served JWKS.
    jwks = JsonWebKey.import_key_set(requests.get(metadata["jwks_uri"], timeout=10).json())
    claims = JsonWebToken(["ES256"]).decode(
        token["access_token"], jwks,
        claims_options={"iss": {"essential": True, "value": metadata["issuer"]}},
    )
    claims.validate()
    assert claims["client_id"] == client["client_id"]
    assert claims["sub"] == client["client_id"]
    assert claims["scope"] == "contact.read"

    introspection = session.introspect_token(metadata["introspection_endpoint"], token=token["access_token"])
    assert introspection.status_code == 200
    assert introspection.json()["active"] is True
    assert introspection.json()["client_id"] == client["client_id"]

    revocation = session.revoke_token(metadata["revocation_endpoint"], token=token["access_token"])
    assert revocation.status_code == 200
    after = session.introspect_token(metadata["introspection_endpoint"], token=token["access_token"])
    assert after.json() == {"active": False}


def test_registration_management_and_deletion(tessera):
    client = register(tessera, {"client_name": "short-lived", "grant_types": ["client_credentials"]})
    management = {"Authorization": f"Bearer {client['registration_access_token']}"}
    uri = client["registration_client_uri"]

    read = requests.get(uri, headers=management, timeout=10)
    assert read.status_code == 200 and read.json()["client_name"] == "short-lived"

    deleted = requests.delete(uri, headers=management, timeout=10)
    assert deleted.status_code == 204

    session = OAuth2Session(client["client_id"], client["client_secret"])
    with pytest.raises(Exception) as refused:
        session.fetch_token(tessera.metadata()["token_endpoint"], grant_type="client_credentials")
    assert "invalid_client" in str(refused.value)
