"""Kubeconfig credentials (issue 13 item 2, item 5 for Kubernetes, the exec plugin and TLS notes):
token files read as kubectl reads them, exec plugins whose failure is said (redacted), no
credential over plain http except to this machine, malformed kubeconfigs named by key and line.

Upstream behaviour the expectations follow:

* client-go ``transport/token_source.go`` (fileTokenSource): the token file's content with
  ``strings.TrimSpace``; an empty one is "read empty token from file"; a readable file wins over
  ``token``, which is the fallback when the file cannot be read;
* client-go's exec authenticator runs the plugin with its ``env`` and reads an ``ExecCredential``
  from stdout (https://kubernetes.io/docs/reference/access-authn-authz/authentication/#client-go-credential-plugins);
* kubectl honours ``insecure-skip-tls-verify`` (we do too, with a warning).
"""

from __future__ import annotations

from typing import Any

from tests.hostile import builders as b
from tests.hostile.cases.common import FAST, READY, absent, both, no_requests, warned
from tests.hostile.harness import Case

PLUGIN_SECRET = "plugin-Secret-Zq9-value"
APPLY = ("apply", "-f", "plain.yaml", "--format", "json", *FAST)
WAIT = ("cluster-ready", "--timeout", "10", "--interval", "1", "--format", "json")


def _token_file(
    content: bytes | str, *, name: str, exit: int = 0, names: tuple[str, ...] = (), **user: object
) -> Case:
    return Case(
        f"cluster-ready-token-file-{name}",
        [*WAIT, "--kubeconfig", "kc.yaml"],
        issue="13.2",
        exit=exit,
        names=names,
        files={
            "kc.yaml": b.kubeconfig(**{"token": None, "tokenFile": "{dir}/token", **user}),
            "token": content,
        },
        fake=READY,
        json_stdout=exit == 0,
    )


def _apply_exec(name: str, exec: object, **case: Any) -> Case:
    """apply with a kubeconfig whose user has no token, only the exec credential plugin ``exec``."""
    return Case(
        f"apply-exec-plugin-{name}",
        [*APPLY, "--kubeconfig", "kc.yaml"],
        issue="13.exec",
        files={"plain.yaml": b.CONFIGMAP, "kc.yaml": b.kubeconfig(token=None, exec=exec)},
        fake={},
        **case,
    )


TOKEN_FILES = [
    # The bug: "Invalid header value b'Bearer <TOKEN>\n'" (exit 3, the token in the traceback).
    _token_file("{token}\n", name="ends-in-a-newline"),
    _token_file("{token}\r\n", name="ends-in-crlf"),
    _token_file("  {token}  \n\n", name="surrounded-by-white-space"),
    _token_file(b"", name="empty", exit=1, names=("tokenFile", "is empty")),
    _token_file("\n \n", name="only-white-space", exit=1, names=("tokenFile", "is empty")),
    _token_file(b"\xff\xfe\x00binary", name="not-utf8", exit=1, names=("tokenFile", "not UTF-8")),
    _token_file("{token}\nsecond-line-Zq9\n", name="two-lines", exit=1, names=("token", "line break")),
    # A readable file wins over `token` (client-go), so a wrong inline token does not matter...
    _token_file("{token}\n", name="wins-over-an-inline-token", token="inline-wrong-Zq9-token"),
]

CASES: list[Case] = [
    *TOKEN_FILES,
    # ...and `token` is the fallback when the file cannot be read.
    Case(
        "cluster-ready-token-file-missing-falls-back-to-token",
        [*WAIT, "--kubeconfig", "kc.yaml"],
        issue="13.2",
        exit=0,
        files={"kc.yaml": b.kubeconfig(tokenFile="{dir}/no-such-token")},
        fake=READY,
        json_stdout=True,
    ),
    Case(
        "cluster-ready-token-file-missing",
        [*WAIT, "--kubeconfig", "kc.yaml"],
        issue="13.2",
        names=["tokenFile", "no-such-token"],
        files={"kc.yaml": b.kubeconfig(token=None, tokenFile="{dir}/no-such-token")},
        fake={},
        check=no_requests,
    ),
    # A token file that never ends: masking its content read it whole (MemoryError, exit 3).
    Case(
        "cluster-ready-token-file-is-dev-zero",
        [*WAIT, "--kubeconfig", "kc.yaml"],
        issue="13.2",
        names=["tokenFile", "/dev/zero", "too large"],
        files={"kc.yaml": b.kubeconfig(token=None, tokenFile="/dev/zero")},
        fake={},
        check=no_requests,
    ),
    Case(
        "apply-token-file-ends-in-a-newline",
        [*APPLY, "--kubeconfig", "kc.yaml"],
        issue="13.2",
        exit=0,
        files={
            "plain.yaml": b.CONFIGMAP,
            "kc.yaml": b.kubeconfig(token=None, tokenFile="token"),  # relative: to the kubeconfig's folder
            "token": "{token}\n",
        },
        fake={},
        json_stdout=True,
    ),
    Case(
        "apply-token-file-in-a-kubeconfig-variable",
        ["apply", "-f", "plain.yaml", "--kubeconfig-env", "KUBECONFIG_DATA", *FAST],
        issue="13.2",
        exit=0,
        env={"KUBECONFIG_DATA": b.kubeconfig(token=None, tokenFile="{dir}/token")},
        files={"plain.yaml": b.CONFIGMAP, "token": "{token}\n"},
        fake={},
    ),
    Case(
        "cluster-ready-inline-token-with-a-line-break",
        [*WAIT, "--kubeconfig", "kc.yaml"],
        issue="13.2",
        names=["users[name=fakekube].user.token", "line break"],
        files={"kc.yaml": b.kubeconfig(token="{token}\nX-Injected: header-Zq9")},
        fake={},
        check=no_requests,
    ),
    Case(
        "cluster-ready-inline-token-with-a-trailing-newline",
        [*WAIT, "--kubeconfig", "kc.yaml"],
        issue="13.2",
        exit=0,
        files={"kc.yaml": b.kubeconfig(token="{token}\n")},
        fake=READY,
        json_stdout=True,
    ),
    # -- exec credential plugins: they run, as in kubectl; a failure is said, redacted -------------
    Case(
        "cluster-ready-exec-plugin-fails-and-quotes-its-secret",
        [*WAIT, "--kubeconfig", "kc.yaml"],
        issue="13.exec",
        names=["users[name=fakekube].user.exec", "exec credential plugin 'sh' failed", "process returned 3"],
        files={
            "kc.yaml": b.kubeconfig(
                token=None,
                exec=b.exec_plugin(
                    'echo "login refused for $PLUGIN_SECRET" >&2; exit 3', {"PLUGIN_SECRET": PLUGIN_SECRET}
                ),
            )
        },
        secrets=[PLUGIN_SECRET],
        fake={},
        check=both(no_requests, absent("HTTP 401")),
    ),
    _apply_exec(
        "fails",
        b.exec_plugin("echo nope >&2; exit 1"),
        names=["exec credential plugin", "process returned 1"],
        check=both(no_requests, absent("HTTP 401")),
    ),
    _apply_exec(
        "prints-no-json",
        b.exec_plugin(f"echo {PLUGIN_SECRET}"),
        names=["exec credential plugin", "decode"],
        secrets=[PLUGIN_SECRET],
        check=no_requests,
    ),
    _apply_exec(
        "not-installed",
        {"apiVersion": "client.authentication.k8s.io/v1", "command": "no-such-plugin-Zq9"},
        names=["exec credential plugin", "no-such-plugin-Zq9"],
        check=no_requests,
    ),
    _apply_exec(
        "gives-the-token",
        b.exec_plugin(b.exec_credential("T"), {"T": "{token}"}),
        exit=0,
        json_stdout=True,
    ),
    # -- insecure-skip-tls-verify is honoured, with a warning --------------------------------------
    Case(
        "cluster-ready-insecure-skip-tls-verify-warns",
        [*WAIT, "--kubeconfig", "kc.yaml"],
        issue="13.tls",
        exit=0,
        files={
            "kc.yaml": b.kubeconfig(
                cluster={"insecure-skip-tls-verify": True, "certificate-authority-data": None}
            )
        },
        fake=READY,
        json_stdout=True,
        check=both(warned("insecure-skip-tls-verify"), absent("InsecureRequestWarning")),
    ),
    # -- item 5: no credential over plain http, except to this machine -----------------------------
    *[
        Case(
            f"{verb}-plain-http-server-with-a-token-{label}",
            [*argv, "--kubeconfig", "kc.yaml"],
            issue="13.5",
            names=["plain http", "server"],
            files={"plain.yaml": b.CONFIGMAP, "kc.yaml": b.kubeconfig(server=url)},
            fake={},
            check=no_requests,
        )
        for verb, argv in (("cluster-ready", WAIT), ("apply", APPLY))
        for label, url in (
            ("public-address", "http://192.0.2.10:6443"),
            ("name-like-localhost", "http://localhost.example.test:6443"),
            ("name-like-loopback", "http://127.0.0.1.nip.example:6443"),
        )
    ],
    Case(
        "apply-plain-http-server-with-credentials-in-the-url",
        [*APPLY, "--kubeconfig", "kc.yaml"],
        issue="13.5",
        names=["plain http"],
        files={
            "plain.yaml": b.CONFIGMAP,
            "kc.yaml": b.kubeconfig(server="http://admin:Url-Pa55w0rd-Zq9@192.0.2.10", token=None),
        },
        secrets=["Url-Pa55w0rd-Zq9"],
        fake={},
        check=no_requests,
    ),
    Case(
        "apply-plain-http-to-loopback-is-allowed",
        [*APPLY, "--kubeconfig", "{kubeconfig}"],
        issue="13.5",
        exit=0,
        files={"plain.yaml": b.CONFIGMAP},
        fake={"tls": False, "auth": True},
        json_stdout=True,
    ),
    Case(
        "cluster-ready-plain-http-without-credentials-is-allowed",
        [*WAIT, "--kubeconfig", "kc.yaml"],
        issue="13.5",
        exit=0,
        files={"kc.yaml": b.kubeconfig(token=None)},
        fake={"tls": False, "auth": False, **READY},
        json_stdout=True,
    ),
    # -- a kubeconfig of the wrong shape is named by key and line, never quoted --------------------
    *[
        Case(
            f"cluster-ready-kubeconfig-{label}",
            [*WAIT, "--kubeconfig", "kc.yaml"],
            issue="13.kubeconfig",
            names=["kc.yaml", where],
            files={"kc.yaml": text},
        )
        for label, text, where in (
            ("clusters-not-a-list", "apiVersion: v1\nclusters: 5\ncurrent-context: a\n", "clusters"),
            ("contexts-of-strings", "contexts: [a, b]\ncurrent-context: a\n", "contexts[0]"),
            ("user-not-a-mapping", "users:\n- name: u\n  user: secret-Zq9-text\n", "users[0].user"),
            ("current-context-a-list", "current-context: [a]\n", "current-context"),
            ("name-not-a-string", "clusters:\n- name: {a: 1}\n  cluster: {}\n", "clusters[0].name"),
            ("a-list", "- apiVersion: v1\n", "not a kubeconfig"),
            ("a-string", "just-Zq9-text\n", "not a kubeconfig"),
            ("duplicate-users", "users: []\nusers: []\n", "users"),
            ("tab-indented", "clusters:\n\t- name: a\n", "tab"),
        )
    ],
]
