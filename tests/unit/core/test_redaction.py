"""gitops.core.redaction: what is secret, in which forms it is masked, and what cannot be masked.

Expected values come from the specifications the forms follow: base64 test vectors of RFC 4648
section 10, JSON string escaping of RFC 8259 section 7, URL userinfo of RFC 3986 section 3.2.1,
the kubeconfig fields of https://kubernetes.io/docs/reference/config-api/kubeconfig.v1/ and
GitHub's token formats (docs.github.com, "About authentication to GitHub").
"""

from __future__ import annotations

import base64
import json

import pytest
import yaml

from gitops.core.redaction import (
    MASK,
    Redactor,
    Unmaskable,
    forms,
    kubeconfig_credentials,
    kubeconfig_text_pieces,
    redact_shapes,
    secret_object_values,
    token_files,
    unmaskable,
    url_credentials,
)

TOKEN = "k3s-token-0123456789abcdefSECRET"


# -- what cannot be masked ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "why"),
    [
        pytest.param("", Unmaskable.TOO_SHORT, id="empty"),
        pytest.param("abc", Unmaskable.TOO_SHORT, id="three-characters"),
        pytest.param("  ab  ", Unmaskable.TOO_SHORT, id="short-once-stripped"),
        pytest.param("true", Unmaskable.KEYWORD, id="true"),
        pytest.param("FALSE", Unmaskable.KEYWORD, id="FALSE"),
        pytest.param("null", Unmaskable.KEYWORD, id="null"),
        pytest.param("None", Unmaskable.KEYWORD, id="None"),
        pytest.param("abcd", None, id="four-characters"),
        pytest.param("trueish", None, id="longer-than-a-keyword"),
    ],
)
def test_too_short_or_too_common_values_are_not_masked(value: str, why: Unmaskable | None) -> None:
    assert unmaskable(value) is why
    registration = Redactor().add(value)
    assert registration.refused is why
    assert (registration.added == ()) is (why is not None)


def test_the_warning_names_the_origin_never_the_value() -> None:
    text = Unmaskable.KEYWORD.explain("$DB_PASSWORD")
    assert text.startswith("$DB_PASSWORD is a word of YAML/JSON")
    assert "not masked" in text
    assert "shorter than 4 characters" in Unmaskable.TOO_SHORT.explain("$X")


def test_masking_true_would_corrupt_json_so_it_is_left_alone() -> None:
    redactor = Redactor()
    redactor.add("true")
    text = json.dumps({"allowed": True, "reason": "true"})
    assert json.loads(redactor.redact(text)) == {"allowed": True, "reason": "true"}


# -- forms --------------------------------------------------------------------------------------


def test_forms_of_a_value_cover_base64_json_percent_and_lines() -> None:
    value = 'first "line"\nsecond line'
    found = forms(value)
    assert value in found
    assert base64.b64encode(value.encode()).decode() in found
    assert 'first \\"line\\"\\nsecond line' in found  # RFC 8259: quotation mark and line feed escaped
    assert "first%20%22line%22%0Asecond%20line" in found
    assert {'first "line"', "second line"} <= set(found)
    assert found == sorted(found, key=lambda f: (-len(f), f))  # longest first


def test_base64_form_follows_rfc4648() -> None:
    assert "Zm9vYmFy" in forms("foobar")  # RFC 4648 section 10 test vector


def test_short_lines_of_a_long_secret_are_skipped_but_the_secret_is_not() -> None:
    key_file = '{\n  "type": "service_account",\n  "private_key_id": "0123456789abcdef"\n}'
    found = forms(key_file)
    assert key_file in found
    assert "{" not in found and "}" not in found  # masking them would blank every brace of a log
    assert '"private_key_id": "0123456789abcdef"' in found


# -- redacting text and data --------------------------------------------------------------------


def test_redact_replaces_every_form_longest_first() -> None:
    redactor = Redactor()
    redactor.add("abcd")
    redactor.add("abcdefgh")
    encoded = base64.b64encode(b"abcdefgh").decode()
    assert redactor.redact(f"xx abcdefgh yy abcd zz {encoded}") == f"xx {MASK} yy {MASK} zz {MASK}"


def test_a_value_is_registered_once() -> None:
    redactor = Redactor()
    assert redactor.add("s3cr3t-value").added
    assert redactor.add("s3cr3t-value").added == ()
    assert "s3cr3t-value" in redactor


def test_redact_data_keeps_json_valid_whatever_the_secret() -> None:
    redactor = Redactor()
    redactor.add('pw"with\\quotes')
    data = {"message": 'denied: pw"with\\quotes', "count": 3, "ok": False, 'pw"with\\quotes': [1]}
    redacted = redactor.redact_data(data)
    assert redacted == {"message": f"denied: {MASK}", "count": 3, "ok": False, MASK: [1]}
    assert data["message"] == 'denied: pw"with\\quotes'  # a copy: the caller's data is untouched


def test_redact_json_falls_back_to_the_data_when_text_redaction_would_break_it() -> None:
    redactor = Redactor()
    redactor.add('1234","b')  # spans a string's end in the text, not in any value
    text = '{"a":"pw-1234","b":"5678"}'
    assert json.loads(redactor.redact_json(text)) == {"a": "pw-1234", "b": "5678"}
    redactor.add("pw-1234")
    assert json.loads(redactor.redact_json(text)) == {"a": MASK, "b": "5678"}
    assert redactor.redact_json("plain text pw-1234") == f"plain text {MASK}"


# -- shapes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "https://admin:Pa55@h.example:6443/api", f"https://{MASK}@h.example:6443/api", id="user-pass"
        ),
        pytest.param(  # the form actions/checkout and many CIs use for a token
            "git fetch https://x-access-token:ghs_abc@github.com/o/r",
            f"git fetch https://{MASK}@github.com/o/r",
            id="token-in-git-url",
        ),
        pytest.param("https://TOKEN123@github.com/o/r", f"https://{MASK}@github.com/o/r", id="token-as-user"),
        pytest.param("ssh://git@github.com/o/r", "ssh://git@github.com/o/r", id="ssh-user-is-no-secret"),
        pytest.param('{"host": "https://u:p@h"}', f'{{"host": "https://{MASK}@h"}}', id="inside-json"),
        pytest.param("mail me: a@b.example", "mail me: a@b.example", id="no-url"),
        pytest.param("postgres://app:pw@db:5432/x", f"postgres://{MASK}@db:5432/x", id="database-url"),
    ],
)
def test_url_userinfo_is_masked_wherever_it_appears(text: str, expected: str) -> None:
    assert redact_shapes(text) == expected


def test_url_credentials_are_the_user_the_password_and_both_decoded() -> None:
    found = url_credentials("https://ad%40min:p%3Ass@host:6443")
    assert {"ad%40min:p%3Ass", "p%3Ass", "p:ss", "ad@min", "ad%40min"} <= set(found)
    assert url_credentials("https://host:6443") == []
    assert url_credentials("not a url") == []


PEM = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIKey0123456789\nabcdefABCDEF==\n-----END EC PRIVATE KEY-----"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(f"key:\n{PEM}\nafter", id="pem"),
        pytest.param(json.dumps({"key": PEM, "after": 1}), id="pem-json-escaped"),
        pytest.param("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=\n(truncated", id="no-end"),
    ],
)
def test_private_keys_are_masked_even_when_never_registered(text: str) -> None:
    redacted = redact_shapes(text)
    assert "PRIVATE KEY-----" not in redacted
    assert "MHcCAQEEIKey" not in redacted and "b3BlbnNzaC1rZXk" not in redacted


def test_certificates_are_public_and_stay() -> None:
    cert = "-----BEGIN CERTIFICATE-----\nMIIBdzCCAR2gAwIBAgIBADAKBg==\n-----END CERTIFICATE-----"
    assert redact_shapes(cert) == cert


@pytest.mark.parametrize(
    ("token", "masked"),
    [
        pytest.param("ghp_" + "a1B2c3D4e5" * 3 + "f6G7h8", True, id="classic-pat"),
        pytest.param("ghs_" + "Z" * 36, True, id="installation-token"),
        pytest.param("github_pat_11ABCDEFG0" + "x" * 72, True, id="fine-grained-pat"),
        pytest.param("ghp_short", False, id="too-short-to-be-one"),
        pytest.param("ghx_" + "a" * 36, False, id="no-such-prefix"),
    ],
)
def test_github_token_formats_are_masked(token: str, masked: bool) -> None:
    assert (redact_shapes(f"token {token} used") == f"token {MASK} used") is masked


# -- Kubernetes Secrets -------------------------------------------------------------------------


def test_secret_object_values_are_string_data_and_data_raw_and_decoded() -> None:
    objects = [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "stringData": {"a": "plain-value", "empty": " "},
            "data": {
                "b": base64.b64encode(b"decoded-value").decode(),
                "bin": base64.b64encode(b"\xff").decode(),
            },
        },
        {"apiVersion": "v1", "kind": "ConfigMap", "data": {"c": "not-a-secret"}},
        {"apiVersion": "example.com/v1", "kind": "Secret", "stringData": {"d": "other-group"}},
    ]
    assert secret_object_values(objects) == [
        "plain-value",
        base64.b64encode(b"decoded-value").decode(),
        "decoded-value",
        base64.b64encode(b"\xff").decode(),  # not UTF-8: only as written
    ]


# -- kubeconfig credentials ---------------------------------------------------------------------

KEY_PEM = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIKey\n-----END EC PRIVATE KEY-----\n"
KUBECONFIG: dict[str, object] = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [
        {
            "name": "c",
            "cluster": {
                "server": "https://kube-admin:url-Pa55@203.0.113.10:6443",
                "proxy-url": "http://proxy-user:proxy-Pa55@proxy:3128",
                "certificate-authority-data": "Q0EtaXMtcHVibGlj",
            },
        }
    ],
    "users": [
        {
            "name": "admin",
            "user": {
                "token": TOKEN,
                "client-key-data": base64.b64encode(KEY_PEM.encode()).decode(),
                "username": "basic-user",
                "password": "basic-Pa55",
                "tokenFile": "/var/run/token",
                "auth-provider": {
                    "name": "oidc",
                    "config": {"id-token": "oidc-id-token", "client-secret": "oidc-sec"},
                },
                "exec": {"command": "aws", "env": [{"name": "AWS_SECRET", "value": "exec-env-secret"}]},
            },
        }
    ],
}


def test_every_credential_of_a_kubeconfig_and_nothing_public() -> None:
    found = set(kubeconfig_credentials(KUBECONFIG))
    expected = {
        TOKEN,
        KEY_PEM,  # client-key-data, decoded
        "basic-user",
        "basic-Pa55",
        "oidc-id-token",
        "oidc-sec",
        "exec-env-secret",
        "url-Pa55",
        "kube-admin:url-Pa55",
        "proxy-Pa55",
    }
    assert expected <= found
    assert "Q0EtaXMtcHVibGlj" not in found  # the CA is public
    assert "/var/run/token" not in found  # a path; its CONTENT is the secret
    assert token_files(KUBECONFIG) == ["/var/run/token"]


def test_text_pieces_cover_every_data_line_and_credential_but_not_structure() -> None:
    text = yaml.safe_dump(KUBECONFIG, sort_keys=False)
    pieces = kubeconfig_text_pieces(text)
    assert TOKEN in pieces  # the bare value, in case it is printed without its key
    assert f"token: {TOKEN}" in pieces
    assert "url-Pa55" in pieces  # userinfo of the server line
    for structural in ("apiVersion: v1", "kind: Config", "clusters:", "- cluster:", "users:"):
        assert structural not in pieces
    data_lines = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and ":" in line and not line.strip().endswith(":")
    ]
    for line in data_lines:
        if line not in ("apiVersion: v1", "kind: Config") and not line.startswith("- name: c"):
            assert line in pieces, line


def test_text_pieces_work_on_json_and_on_broken_text() -> None:
    text = json.dumps(KUBECONFIG, indent=2)
    pieces = kubeconfig_text_pieces(text)
    assert TOKEN in pieces
    assert "{" not in pieces and '"clusters": [' not in pieces
    assert "token: " + TOKEN in kubeconfig_text_pieces("  token: " + TOKEN + "\n  bad: [")
