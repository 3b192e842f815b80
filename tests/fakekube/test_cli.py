"""``python -m tests.fakekube``: the standalone server for benchmarks and act runs, with a state file."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.fakekube.target import kubectl_path

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def standalone(*args: str) -> Iterator[dict[str, str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakekube", "--port", "0", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines: dict[str, str] = {}
        for line in process.stdout:
            if line.strip() == "FAKEKUBE_READY":
                break
            key, _, value = line.strip().partition("=")
            lines[key] = value
        else:
            pytest.fail(f"the fake server did not start: {process.stderr.read() if process.stderr else ''}")
        yield lines
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""


def kubectl(kubeconfig: Path, cache: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [kubectl_path(), "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_standalone_server_prints_its_url_and_keeps_state_across_runs(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    state = tmp_path / "state.json"
    manifest = tmp_path / "cm.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kept}\ndata: {a: '1'}\n", encoding="utf-8"
    )

    with standalone(
        "--kubeconfig", str(kubeconfig), "--state-file", str(state), "--seed-nodes", "2"
    ) as first:
        applied = kubectl(kubeconfig, tmp_path / "c1", "apply", "--server-side", "-f", str(manifest))
        nodes = kubectl(kubeconfig, tmp_path / "c1", "get", "nodes", "-o", "name")
    with standalone("--kubeconfig", str(kubeconfig), "--state-file", str(state), "--plain-http") as second:
        kept = kubectl(kubeconfig, tmp_path / "c2", "get", "configmap", "kept", "-o", "json")

    assert first["FAKEKUBE_URL"].startswith("https://127.0.0.1:")
    assert first["FAKEKUBE_KUBECONFIG"] == str(kubeconfig)
    assert second["FAKEKUBE_URL"].startswith("http://127.0.0.1:")
    assert applied.returncode == 0, applied.stderr
    assert nodes.stdout.split() == ["node/fakekube-node-1", "node/fakekube-node-2"]
    assert kept.returncode == 0, kept.stderr
    assert json.loads(kept.stdout)["data"] == {"a": "1"}
    saved = json.loads(state.read_text(encoding="utf-8"))
    assert any(o["metadata"]["name"] == "kept" for o in saved["objects"])
