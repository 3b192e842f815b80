"""Placeholder substitution (gitops.core.secrets): pure, no files, no environment."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest

from gitops.core.secret_map import SecretMap, parse_secret_map
from gitops.core.secrets import (
    DEFAULT_PLACEHOLDER,
    needed,
    scan,
    substitute,
    variable_for_key,
)
from gitops.errors import ConfigurationError
from gitops.operations.rendering import dump_manifests, load_manifests

PH = DEFAULT_PLACEHOLDER
PH64 = base64.b64encode(PH.encode()).decode()


def b64(value: str) -> str:
    return base64.b64encode(value.encode("utf-8", "surrogateescape")).decode()


def secret(
    name: str = "creds",
    *,
    data: dict[str, Any] | None = None,
    sd: dict[str, Any] | None = None,
    namespace: str | None = None,
) -> dict[str, Any]:
    doc: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}}
    if namespace:
        doc["metadata"]["namespace"] = namespace
    if data is not None:
        doc["data"] = data
    if sd is not None:
        doc["stringData"] = sd
    return doc


def configmap(**data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": data}


def render(docs: list[dict[str, Any]], env: dict[str, str], **kw: Any) -> list[dict[str, Any]]:
    secret_map = kw.pop("secret_map", None)
    found = scan(docs, kw.pop("placeholder", PH), secret_map)
    return substitute(docs, found, env, **kw)


def error_of(docs: list[dict[str, Any]], env: dict[str, str], **kw: Any) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as info:
        render(docs, env, **kw)
    return info.value


def full_text(exc: ConfigurationError) -> str:
    return "\n".join([str(exc), exc.message, exc.hint or "", *map(str, exc.problems), repr(exc)])


# -- basic substitution --------------------------------------------------------------------


def test_data_gets_base64_and_string_data_gets_the_text() -> None:
    docs = [secret(data={"A": PH64}, sd={"B": PH}), configmap(x="y")]
    out = render(docs, {"A": "alpha", "B": "beta"})
    assert out[0]["data"] == {"A": b64("alpha")}
    assert out[0]["stringData"] == {"B": "beta"}
    assert out[1] == docs[1]


@pytest.mark.parametrize(
    "written",
    [
        pytest.param(PH, id="the-placeholder-itself-as-the-reference-writes-it"),
        pytest.param(PH64, id="its-base64"),
    ],
)
def test_a_data_placeholder_in_either_form_gets_the_base64_of_the_value(written: str) -> None:
    """Issue 16: the reference keeps `StrongBase64Password` literally under `data:` (the name says it
    stands for a base64 value). Both forms are placeholders; the API server stores data values as
    base64 (https://kubernetes.io/docs/concepts/configuration/secret/), so each gets the value's base64."""
    docs = [secret(data={"POSTGRES_PASSWORD": written, "REAL": b64("kept")})]
    found = scan(docs, PH)
    assert [(p.key, p.fields, p.variable) for p in found.placeholders] == [
        ("POSTGRES_PASSWORD", ("data",), "POSTGRES_PASSWORD")
    ]
    assert found.strays == ()
    out = render(docs, {"POSTGRES_PASSWORD": "s3cr3t:#'\""})
    assert out[0]["data"] == {"POSTGRES_PASSWORD": b64("s3cr3t:#'\""), "REAL": b64("kept")}


def test_a_literal_data_placeholder_shadowed_by_a_real_string_data_value_follows_it() -> None:
    docs = [secret(data={"K": PH}, sd={"K": "literal"})]
    assert scan(docs, PH).variables() == []
    assert render(docs, {})[0]["data"] == {"K": b64("literal")}


def test_a_custom_placeholder_that_is_no_base64_works_literally_under_data() -> None:
    docs = [secret(data={"K": "CHANGE_ME"})]  # '_' is not in the base64 alphabet
    assert render(docs, {"K": "v"}, placeholder="CHANGE_ME")[0]["data"] == {"K": b64("v")}


def test_inputs_are_not_mutated() -> None:
    docs = [secret(data={"A": PH64}, sd={"B": PH})]
    before = copy.deepcopy(docs)
    render(docs, {"A": "1", "B": "2"})
    assert docs == before


def test_a_custom_placeholder() -> None:
    docs = [secret(sd={"A": "CHANGE_ME", "B": PH})]
    out = render(docs, {"A": "v"}, placeholder="CHANGE_ME")
    assert out[0]["stringData"] == {"A": "v", "B": PH}  # PH is just text under another placeholder


def test_an_empty_placeholder_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="placeholder must not be empty"):
        scan([secret(sd={"A": "x"})], "")


def test_real_values_and_other_kinds_are_left_alone() -> None:
    docs = [secret(data={"A": b64("real")}, sd={"B": "literal"}), configmap(k="v")]
    found = scan(docs, PH)
    assert found.placeholders == ()
    assert render(docs, {}) == docs


@pytest.mark.parametrize(
    ("key", "variable"),
    [
        pytest.param("POSTGRES_SA_PASSWORD", "POSTGRES_SA_PASSWORD", id="already-a-variable"),
        pytest.param("lower_ok", "lower_ok", id="lowercase-kept"),
        pytest.param("tls.crt", "TLS_CRT", id="dot"),
        pytest.param("redis-password", "REDIS_PASSWORD", id="dash"),
        pytest.param("1st", "_1ST", id="leading-digit"),
    ],
)
def test_variable_named_like_the_key(key: str, variable: str) -> None:
    assert variable_for_key(key) == variable
    found = scan([secret(sd={key: PH})], PH)
    assert [p.variable for p in found.placeholders] == [variable]


# -- values survive YAML emission exactly ----------------------------------------------------

TRICKY = [
    pytest.param("p@ss: word # not a comment", id="colon-hash"),
    pytest.param("it's \"quoted\" 'twice'", id="quotes"),
    pytest.param("line one\nline two\n", id="newlines"),
    pytest.param("a\r\nb\rc", id="carriage-returns"),
    pytest.param("ünïcödé ✓ 密码 🔐", id="unicode"),
    pytest.param("  leading and trailing  ", id="outer-whitespace"),
    pytest.param("\tindented\n  lines \n", id="tabs-and-indents"),
    pytest.param("x\u2028y\x85z\u2029\ufeff", id="unicode-line-breaks"),
    pytest.param("bell\x07esc\x1b", id="control-chars"),
    pytest.param("yes", id="yaml-bool-word"),
    pytest.param("0755", id="octal-looking"),
    pytest.param("2024-01-01", id="date-looking"),
    pytest.param("null", id="null-word"),
    pytest.param("--- \n...\n", id="document-markers"),
    pytest.param("- [a, {b: c}] &x *y !z %d @e `f|>", id="yaml-indicators"),
    pytest.param("back\\slash \\n not a newline", id="backslashes"),
    pytest.param("k" * (48 * 1024), id="48KB"),
    pytest.param(("word \n" * 20000)[: 48 * 1024 + 1], id="just-over-48KB-multiline"),
    pytest.param("z" * (1024 * 1024), id="1MB"),
]


@pytest.mark.parametrize("value", TRICKY)
def test_values_round_trip_through_yaml_in_data_and_string_data(value: str) -> None:
    docs = [secret(data={"D": PH64}, sd={"S": PH})]
    out = render(docs, {"D": value, "S": value})
    back = load_manifests(dump_manifests(out), "test")
    assert back[0]["stringData"]["S"] == value
    assert base64.b64decode(back[0]["data"]["D"]) == value.encode()


def test_non_utf8_bytes_keep_their_exact_bytes_in_data() -> None:
    raw = b"\xff\xfebinary\x00-ish"
    value = raw.decode("utf-8", "surrogateescape")  # what os.environ holds for such bytes
    out = render([secret(data={"D": PH64})], {"D": value})
    back = load_manifests(dump_manifests(out), "test")
    assert base64.b64decode(back[0]["data"]["D"]) == raw


def test_non_utf8_bytes_cannot_go_into_string_data() -> None:
    value = b"\xff".decode("utf-8", "surrogateescape")
    exc = error_of([secret(sd={"S": PH})], {"S": value})
    assert "variable S is not valid UTF-8" in full_text(exc)


# -- empty values --------------------------------------------------------------------------


def test_an_unset_variable_is_missing() -> None:
    exc = error_of([secret(sd={"S": PH})], {})
    assert [str(p) for p in exc.problems] == ["variable S is not set: Secret creds, key S (stringData)"]


def test_an_empty_variable_is_missing_by_default_because_actions_expands_unknown_secrets_to_empty() -> None:
    exc = error_of([secret(sd={"S": PH})], {"S": ""})
    assert "variable S is set but empty (pass --allow-empty" in full_text(exc)
    need = needed(scan([secret(sd={"S": PH})], PH), {"S": ""})
    assert (need[0].is_set, need[0].state) == (False, "empty")


def test_an_empty_variable_is_a_value_with_allow_empty() -> None:
    docs = [secret(data={"D": PH64}, sd={"S": PH})]
    out = render(docs, {"D": "", "S": ""}, allow_empty=True)
    back = load_manifests(dump_manifests(out), "test")
    assert back[0]["data"] == {"D": ""}
    assert back[0]["stringData"] == {"S": ""}
    need = needed(scan(docs, PH), {"D": "", "S": ""}, allow_empty=True)
    assert [(n.is_set, n.state) for n in need] == [(True, "set"), (True, "set")]


# -- the same key in data and stringData (the API server merges stringData over data) ---------


@pytest.mark.parametrize(
    ("given", "env", "want", "variables"),
    [
        pytest.param(
            (PH64, PH), {"K": "v"}, (b64("v"), "v"), ["K"], id="both-placeholders-get-the-same-value"
        ),
        pytest.param(
            (b64("old"), PH), {"K": "v"}, (b64("old"), "v"), ["K"], id="stringData-placeholder-wins"
        ),
        pytest.param(
            (PH64, "literal"),
            {},
            (b64("literal"), "literal"),
            [],
            id="dead-data-placeholder-follows-stringData",
        ),
        pytest.param((b64("d"), "s"), {}, (b64("d"), "s"), [], id="no-placeholders-untouched"),
    ],
)
def test_a_key_in_both_data_and_string_data(
    given: tuple[str, str], env: dict[str, str], want: tuple[str, str], variables: list[str]
) -> None:
    docs = [secret(data={"K": given[0]}, sd={"K": given[1]})]
    found = scan(docs, PH)
    assert found.variables() == variables
    out = render(docs, env)
    assert (out[0]["data"]["K"], out[0]["stringData"]["K"]) == want


def test_a_key_in_both_is_one_needed_entry_naming_both_fields() -> None:
    found = scan([secret(data={"K": PH64}, sd={"K": PH})], PH)
    assert [(p.key, p.fields) for p in found.placeholders] == [("K", ("stringData", "data"))]


# -- one error for everything, names only --------------------------------------------------


def test_every_missing_variable_is_reported_at_once_without_any_value() -> None:
    docs = [
        secret("pg", data={"PG_A": PH64}, sd={"PG_B": PH, "PG_C": PH}),
        secret("redis", sd={"R_A": PH}),
    ]
    given = {"PG_B": "given-value-one", "R_A": "given-value-two"}
    exc = error_of(docs, given)
    problems = [str(p) for p in exc.problems]
    assert problems == [
        "variable PG_A is not set: Secret pg, key PG_A (data)",
        "variable PG_C is not set: Secret pg, key PG_C (stringData)",
    ]
    text = full_text(exc)
    for value in given.values():
        assert value not in text
        assert b64(value) not in text
    assert exc.title == "Secrets not substituted"
    assert "--secret-map" in (exc.hint or "")


@pytest.mark.parametrize(
    ("docs", "env", "expected"),
    [
        pytest.param(
            [configmap(pw=PH)],
            {},
            "ConfigMap/cfg data.pw: holds the placeholder, but a ConfigMap is not a Secret, so it cannot "
            "be substituted: put the value in a Secret's data or stringData and refer to it",
            id="in-configmap",
        ),
        pytest.param(
            [secret(sd={"url": f"postgres://u:{PH}@db"})],
            {},
            "Secret/creds stringData.url: holds the placeholder inside a longer value, so it cannot be "
            "substituted: only a value that is exactly the placeholder is",
            id="inside-a-longer-string",
        ),
        pytest.param(
            [secret(data={"tls.crt": f"{PH}=="})],
            {},
            "Secret/creds data.tls.crt: holds the placeholder inside a longer value",
            id="inside-a-longer-data-value-of-a-dotted-key",
        ),
        pytest.param(
            [{**secret(sd={"K": PH}), "metadata": {"name": "creds", "annotations": {"note": PH}}}],
            {"K": "v"},
            "Secret/creds metadata.annotations.note: holds the placeholder outside data and stringData",
            id="in-a-secret-annotation",
        ),
        pytest.param(
            [secret(data={"K": base64.b64encode(PH.encode() + b"\n").decode()})],
            {},
            "decodes to text that holds the placeholder but is not exactly it (a trailing newline from "
            "`echo` without -n?)",
            id="base64-with-trailing-newline",
        ),
        pytest.param(
            [secret(sd={"K": PH})],
            {"K": f"x{PH}x"},
            "the value of K contains the placeholder",
            id="value-contains-placeholder",
        ),
        pytest.param(
            [secret(sd={"K": PH})],
            {"K": PH},
            "the value of K contains the placeholder",
            id="value-is-the-placeholder",
        ),
        pytest.param(
            [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": {"name": "d"},
                    "spec": {"x": [{"v": PH64}]},
                }
            ],
            {},
            "Deployment/d spec.x[0].v",
            id="base64-text-elsewhere",
        ),
    ],
)
def test_a_placeholder_that_cannot_be_substituted_fails(
    docs: list[dict[str, Any]], env: dict[str, str], expected: str
) -> None:
    exc = error_of(docs, env)
    assert expected in full_text(exc)


def test_strays_are_visible_without_values_for_check_mode() -> None:
    found = scan([configmap(pw=PH), secret(sd={"K": PH})], PH)
    assert [str(p) for p in found.strays] == [
        "ConfigMap/cfg data.pw: holds the placeholder, but a ConfigMap is not a Secret, so it cannot be "
        "substituted: put the value in a Secret's data or stringData and refer to it"
    ]


def test_missing_and_stray_problems_come_in_the_same_error() -> None:
    exc = error_of([configmap(pw=PH), secret(sd={"K": PH})], {})
    text = full_text(exc)
    assert "variable K is not set" in text
    assert "ConfigMap/cfg" in text  # found by the scan after substitution


# -- the secret map ------------------------------------------------------------------------


def test_map_overrides_the_convention() -> None:
    smap = parse_secret_map('creds: {"$.stringData.POSTGRES_SA_PASSWORD": PG_SA}\n', "map.yaml")
    docs = [secret(sd={"POSTGRES_SA_PASSWORD": PH, "OTHER": PH})]
    found = scan(docs, PH, smap)
    assert [(p.key, p.variable, p.via) for p in found.placeholders] == [
        ("POSTGRES_SA_PASSWORD", "PG_SA", "$.stringData.POSTGRES_SA_PASSWORD"),
        ("OTHER", "OTHER", "convention"),
    ]
    out = substitute(docs, found, {"PG_SA": "s1", "OTHER": "s2"})
    assert out[0]["stringData"] == {"POSTGRES_SA_PASSWORD": "s1", "OTHER": "s2"}


def test_map_wildcards_quoted_keys_and_namespaced_names() -> None:
    smap = parse_secret_map(
        '"prod/tls":\n  "$.data.\'tls.crt\'": CERT\n  "$.data.\'tls.key\'": KEY\n'
        "all:\n  $.stringData.*: SHARED\n",
        "map.yaml",
    )
    docs = [
        secret("tls", data={"tls.crt": PH64, "tls.key": PH64}, namespace="prod"),
        secret("all", sd={"A": PH, "B": PH}),
    ]
    found = scan(docs, PH, smap)
    assert [(p.secret, p.key, p.variable) for p in found.placeholders] == [
        ("tls", "tls.crt", "CERT"),
        ("tls", "tls.key", "KEY"),
        ("all", "A", "SHARED"),
        ("all", "B", "SHARED"),
    ]
    assert found.variables() == ["CERT", "KEY", "SHARED"]
    assert found.map_problems == ()


def test_map_for_a_secret_in_another_namespace_does_not_apply() -> None:
    smap = parse_secret_map('"dev/creds": {"$.stringData.K": OTHER}\n', "m.yaml")
    found = scan([secret(sd={"K": PH}, namespace="prod")], PH, smap)
    assert found.placeholders[0].variable == "K"
    assert found.unused_map_secrets == ("dev/creds",)


def test_a_bad_jsonpath_names_the_map_file_and_the_expression() -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_secret_map('ok: {"$.stringData.A": A}\npg:\n  "$.stringData[": PG\n', "infra/secret-map.yaml")
    exc = info.value
    assert exc.file == "infra/secret-map.yaml"
    assert exc.title == "Invalid secret map"
    (problem,) = exc.problems
    assert (problem.file, problem.line, problem.key) == ("infra/secret-map.yaml", 3, "pg.$.stringData[")
    assert "invalid JSONPath expression '$.stringData['" in problem.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("[a, b]\n", "must be a mapping of Secret names", id="not-a-mapping"),
        pytest.param("a: {b\n", "not valid YAML", id="bad-yaml"),
        pytest.param("pg: PG\n", "must map JSONPath expressions to variable names", id="value-not-mapping"),
        pytest.param('pg: {"stringData.A": A}\n', "is not a JSONPath expression", id="no-dollar"),
        pytest.param(
            'pg: {"$.stringData.A": "not-a-var"}\n',
            "'not-a-var' is not a valid environment variable",
            id="bad-variable-name",
        ),
    ],
)
def test_secret_map_mistakes(text: str, expected: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_secret_map(text, "m.yaml")
    assert expected in full_text(info.value)
    assert info.value.file == "m.yaml"


def test_an_empty_map_file_is_an_empty_map() -> None:
    assert parse_secret_map("", "m.yaml") == SecretMap("m.yaml")


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        pytest.param('"$.stringData.NOPE": V', "selects nothing in Secret creds", id="selects-nothing"),
        pytest.param('"$.metadata.name": V', "not a data/stringData value", id="selects-metadata"),
        pytest.param('"$.stringData": V', "not a data/stringData value", id="selects-the-whole-field"),
        pytest.param(
            '"$.stringData.REAL": V',
            "stringData.REAL of Secret creds, which is not the placeholder",
            id="selects-a-real-value",
        ),
        pytest.param(
            '"$.stringData.K": V1, "$.data.K": V2',
            "map entries disagree on the variable (V1, V2)",
            id="conflicting-variables",
        ),
    ],
)
def test_map_entries_that_do_not_fit_the_secret(entry: str, expected: str) -> None:
    smap = parse_secret_map(f"creds: {{{entry}}}\n", "m.yaml")
    docs = [secret(data={"K": PH64}, sd={"K": PH, "REAL": "x"})]
    found = scan(docs, PH, smap)
    assert any(expected in str(p) for p in found.map_problems), found.map_problems
    assert all(p.file == "m.yaml" and p.line == 1 for p in found.map_problems)
    exc = error_of(docs, {"K": "v", "V": "v", "V1": "v", "V2": "v"}, secret_map=smap)
    assert expected in full_text(exc)
