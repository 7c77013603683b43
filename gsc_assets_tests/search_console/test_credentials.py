"""Contract: credentials files and tokens become `Bearer` headers, refreshed when needed.

- a service-account key signs a JWT and POSTs it to the key's token_uri; an authorized-user file
  refreshes against `token_uri` (override) or Google's; a static token is used as is;
- one refresh = one HTTP call; transient token-endpoint failures are retryable errors, refused
  credentials an AuthenticationError naming the file and the fix;
- unusable files name GOOGLE_APPLICATION_CREDENTIALS, the path and what is wrong;
- no secret ever appears in a repr or an error message.
Token endpoints here are real HTTP: the simulator, or a scripted stub for failure answers.
"""

from __future__ import annotations

import hashlib
import threading
import urllib.parse

import pytest

from gsc_assets.search_console import errors
from gsc_assets.search_console.credentials import (
    GOOGLE_TOKEN_URI,
    StaticTokenProvider,
    load_token_provider,
)
from gsc_assets_tests.builders import (
    SERVICE_ACCOUNT_EMAIL,
    Reply,
    authorized_user_info,
    service_account_key,
    stub_server,
    token_reply,
    write_key_file,
)


def form(received) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(received.body.decode()))


def test_static_token_is_sent_as_is_with_a_hashed_identity():
    provider = load_token_provider(credentials_file=None, access_token="sim-token")
    assert provider.authorization_header() == "Bearer sim-token"
    digest = hashlib.sha256(b"sim-token").hexdigest()[:12]
    assert provider.identity == f"token:{digest}"
    provider.invalidate()
    assert provider.authorization_header() == "Bearer sim-token"
    assert "sim-token" not in repr(provider)


def test_static_token_wins_over_a_credentials_file(tmp_path):
    provider = load_token_provider(
        credentials_file=str(tmp_path / "absent.json"), access_token="abc"
    )
    assert isinstance(provider, StaticTokenProvider)


def test_service_account_key_posts_a_jwt_grant_to_the_keys_token_uri(tmp_path):
    with stub_server(token_reply("sa-token-1")) as stub:
        key = write_key_file(tmp_path, service_account_key(stub.base_url + "/token"))
        provider = load_token_provider(credentials_file=str(key), access_token=None)
        assert provider.identity == SERVICE_ACCOUNT_EMAIL
        assert provider.authorization_header() == "Bearer sa-token-1"
        assert provider.authorization_header() == "Bearer sa-token-1"
    assert len(stub.received) == 1, "a valid token is reused, not refreshed"
    grant = form(stub.received[0])
    assert grant["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert grant["assertion"].count(".") == 2
    assert stub.received[0].path == "/token"


def test_service_account_token_is_refreshed_after_invalidate(tmp_path):
    tokens = iter(["first", "second"])
    with stub_server(lambda _r: token_reply(next(tokens))) as stub:
        key = write_key_file(tmp_path, service_account_key(stub.base_url + "/token"))
        provider = load_token_provider(credentials_file=str(key), access_token=None)
        assert provider.authorization_header() == "Bearer first"
        provider.invalidate()
        assert provider.authorization_header() == "Bearer second"
    assert len(stub.received) == 2


def test_expired_token_is_refreshed_before_use(tmp_path):
    # google-auth treats a token expiring within minutes as expired already.
    with stub_server(token_reply("short-lived", expires_in=1)) as stub:
        key = write_key_file(tmp_path, service_account_key(stub.base_url + "/token"))
        provider = load_token_provider(credentials_file=str(key), access_token=None)
        provider.authorization_header()
        provider.authorization_header()
    assert len(stub.received) == 2


def test_concurrent_callers_share_one_refresh(tmp_path):
    with stub_server(
        Reply(200, {"access_token": "t", "expires_in": 3600}, delay_seconds=0.2)
    ) as stub:
        key = write_key_file(tmp_path, service_account_key(stub.base_url + "/token"))
        provider = load_token_provider(credentials_file=str(key), access_token=None)
        headers: list[str] = []
        threads = [
            threading.Thread(target=lambda: headers.append(provider.authorization_header()))
            for _ in range(16)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert headers == ["Bearer t"] * 16
    assert len(stub.received) == 1


def test_token_uri_argument_overrides_the_keys_token_uri(tmp_path):
    with stub_server(token_reply("override")) as stub:
        key = write_key_file(tmp_path, service_account_key("http://127.0.0.1:9/never"))
        provider = load_token_provider(
            credentials_file=str(key), access_token=None, token_uri=stub.base_url + "/alt-token"
        )
        assert provider.authorization_header() == "Bearer override"
    assert stub.received[0].path == "/alt-token"


def test_authorized_user_refreshes_against_the_token_uri_override(tmp_path):
    info = authorized_user_info()
    with stub_server(token_reply("user-token")) as stub:
        path = write_key_file(tmp_path, info)
        provider = load_token_provider(
            credentials_file=str(path), access_token=None, token_uri=stub.base_url + "/token"
        )
        assert provider.identity == info["client_id"]
        assert provider.authorization_header() == "Bearer user-token"
    grant = form(stub.received[0])
    assert grant["grant_type"] == "refresh_token"
    assert grant["refresh_token"] == info["refresh_token"]
    assert grant["client_id"] == info["client_id"]


def test_authorized_user_defaults_to_googles_token_endpoint(tmp_path):
    path = write_key_file(tmp_path, authorized_user_info())
    provider = load_token_provider(credentials_file=str(path), access_token=None)
    assert provider._credentials.token_uri == GOOGLE_TOKEN_URI


def test_invalid_grant_is_an_authentication_error_naming_the_file_not_the_secret(tmp_path):
    info = authorized_user_info()
    answer = Reply(
        400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
    )
    with stub_server(answer) as stub:
        path = write_key_file(tmp_path, info)
        provider = load_token_provider(
            credentials_file=str(path), access_token=None, token_uri=stub.base_url + "/token"
        )
        with pytest.raises(errors.AuthenticationError) as caught:
            provider.authorization_header()
    message = str(caught.value)
    assert "invalid_grant: Token has been expired or revoked." in message
    assert str(path) in message
    assert "GOOGLE_APPLICATION_CREDENTIALS" in message
    assert info["refresh_token"] not in message
    assert info["client_secret"] not in message
    assert len(stub.received) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_transient_token_endpoint_answers_are_retryable_after_one_call(tmp_path, status):
    with stub_server(Reply(status, "<html>oops</html>")) as stub:
        key = write_key_file(tmp_path, service_account_key(stub.base_url + "/token"))
        provider = load_token_provider(credentials_file=str(key), access_token=None)
        with pytest.raises(errors.ServerError) as caught:
            provider.authorization_header()
    assert caught.value.status == status
    assert len(stub.received) == 1, "google-auth's own sleeping retries are bypassed"


def test_unreachable_token_endpoint_is_a_transport_error(tmp_path):
    with stub_server(Reply()) as stub:
        dead_uri = stub.base_url + "/token"
    key = write_key_file(tmp_path, service_account_key(dead_uri))
    provider = load_token_provider(credentials_file=str(key), access_token=None)
    with pytest.raises(errors.TransportError, match="could not reach the token endpoint"):
        provider.authorization_header()


def test_service_account_flow_against_the_simulator(simulator, tmp_path):
    key = write_key_file(tmp_path, service_account_key(simulator.token_uri))
    provider = load_token_provider(credentials_file=str(key), access_token=None)
    header = provider.authorization_header()
    assert header.startswith("Bearer ") and len(header) > len("Bearer ")


def test_authorized_user_flow_against_the_simulator(simulator, tmp_path):
    path = write_key_file(tmp_path, authorized_user_info())
    provider = load_token_provider(
        credentials_file=str(path), access_token=None, token_uri=simulator.token_uri
    )
    assert provider.authorization_header().startswith("Bearer ")


BAD_FILES = [
    ("missing", None, "does not exist"),
    ("directory", "DIR", "is a directory"),
    ("not json", "{not json", "is not valid JSON"),
    ("json list", "[1, 2]", "holds a JSON list"),
    ("unknown type", '{"type": "external_account"}', "'external_account'"),
    ("no type", '{"client_email": "x"}', "None"),
    (
        "sa missing key",
        '{"type": "service_account", "client_email": "a@b", "token_uri": "u"}',
        "missing private_key",
    ),
    (
        "user missing refresh",
        '{"type": "authorized_user", "client_id": "c", "client_secret": "s"}',
        "missing refresh_token",
    ),
]


@pytest.mark.parametrize(("case", "content", "problem"), BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_unusable_credentials_file_names_variable_path_and_problem(
    tmp_path, case, content, problem
):
    path = tmp_path / "creds.json"
    if content == "DIR":
        path.mkdir()
    elif content is not None:
        path.write_text(content)
    with pytest.raises(errors.AuthenticationError) as caught:
        load_token_provider(credentials_file=str(path), access_token=None)
    message = str(caught.value)
    assert "GOOGLE_APPLICATION_CREDENTIALS" in message
    assert str(path) in message
    assert problem in message


def test_malformed_private_key_is_reported_without_quoting_it(tmp_path):
    info = service_account_key("http://127.0.0.1:9/token")
    info["private_key"] = (
        "-----BEGIN PRIVATE KEY-----\nSECRETSECRETSECRET\n-----END PRIVATE KEY-----\n"
    )
    path = write_key_file(tmp_path, info)
    with pytest.raises(errors.AuthenticationError) as caught:
        load_token_provider(credentials_file=str(path), access_token=None)
    assert "not a valid PEM RSA key" in str(caught.value)
    assert "SECRETSECRET" not in str(caught.value)


def test_no_credentials_at_all_says_how_to_configure_them():
    with pytest.raises(errors.AuthenticationError, match="GOOGLE_APPLICATION_CREDENTIALS"):
        load_token_provider(credentials_file=None, access_token=None)


def test_reprs_never_show_secrets(tmp_path):
    sa_info = service_account_key("http://127.0.0.1:9/token")
    user_info = authorized_user_info()
    sa = load_token_provider(
        credentials_file=str(write_key_file(tmp_path, sa_info, "sa.json")), access_token=None
    )
    user = load_token_provider(
        credentials_file=str(write_key_file(tmp_path, user_info, "user.json")), access_token=None
    )
    text = repr(sa) + str(sa) + repr(user) + str(user)
    assert "PRIVATE KEY" not in text
    assert user_info["refresh_token"] not in text
    assert user_info["client_secret"] not in text
    assert SERVICE_ACCOUNT_EMAIL in repr(sa)
