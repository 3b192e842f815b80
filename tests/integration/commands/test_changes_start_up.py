"""What a `gitops changes` process imports: the reader of each input it parses, nothing it does not.

Issue 12, item 9: most of the verb's time is start-up, and its benchmark
(benchmarks/results/changes.md) found the large imports: PyYAML (with core/documents, the one
bounded reader of every YAML and JSON input) and `dataclasses` (with inspect, ast, dis and
tokenize). The first must load exactly when an input is read, and then through core/documents;
the second never. A rebase onto the redaction authority and core/documents brought both back on
every run once without any test noticing; these cases would have.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.git_repo import GitRepo, git_repo  # noqa: F401

pytestmark = pytest.mark.integration

SCRIPTS = Path(__file__).resolve().parents[3] / "scripts"
WATCHED = ("yaml", "gitops.core.documents", "dataclasses")

# Runs the CLI in a fresh interpreter, then writes its exit code and every module it loaded to the
# file named by the last argument (stdout is the verb's JSON).
PROBE = """\
import json, sys
report, argv = sys.argv[-1], sys.argv[1:-1]
from gitops import cli
code = cli.main(argv)
with open(report, "w") as handle:
    json.dump({"code": code, "modules": sorted(sys.modules)}, handle)
"""


def _run(repo: GitRepo, tmp_path: Path, *args: str) -> dict[str, object]:
    report = tmp_path / "report.json"
    outside = ("GIT_", "GITHUB_", "RUNNER_", "GITOPS_INPUT_")  # a run on a laptop, not in Actions
    env = {k: v for k, v in os.environ.items() if not k.startswith(outside)}
    env.update({"PYTHONPATH": str(SCRIPTS), "HOME": str(repo.home), "GIT_CONFIG_NOSYSTEM": "1"})
    argv = [sys.executable, "-c", PROBE, "changes", "--repo", str(repo.path), "--format", "json"]
    done = subprocess.run(
        [*argv, *args, str(report)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(report.read_text(encoding="utf-8"))
    assert result["code"] == 0, done.stderr
    json.loads(done.stdout)  # the verb's answer is one JSON document
    return {"code": result["code"], "loaded": [m for m in WATCHED if m in result["modules"]]}


@pytest.mark.parametrize(
    ("change", "extra", "loaded"),
    [
        pytest.param("overlay", (), [], id="nothing-to-parse-imports-no-reader"),
        pytest.param("policy", (), ["yaml", "gitops.core.documents"], id="deploy-control-changed"),
        pytest.param(
            "overlay",
            ("--filters", "dev-overlay: 'infra/k8s/hetzner/dev/**'"),
            ["yaml", "gitops.core.documents"],
            id="filters-given",
        ),
        pytest.param(
            "overlay", ("--event", "{event}"), ["yaml", "gitops.core.documents"], id="event-payload-read"
        ),
    ],
)
def test_changes_loads_the_reader_only_for_an_input_and_never_dataclasses(
    git_repo: GitRepo,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    change: str,
    extra: tuple[str, ...],
    loaded: list[str],
) -> None:
    git_repo.write_infra()
    before = git_repo.commit("infra")
    if change == "policy":
        control = (git_repo.path / "infra/deploy-control.yaml").read_text(encoding="utf-8")
        after = git_repo.commit("policy", files={"infra/deploy-control.yaml": control + "# reviewed\n"})
    else:
        after = git_repo.commit("dev", files={"infra/k8s/hetzner/dev/patches/postgres.yaml": "replicas: 2\n"})
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps({"before": before, "after": after, "ref": "refs/heads/main"}), encoding="utf-8"
    )
    args = [a.replace("{event}", str(event)) for a in extra]
    if "--event" in args:
        args += ["--event-name", "push"]
    else:
        args += ["--base", before, "--head", after]

    result = _run(git_repo, tmp_path, *args)

    assert result == {"code": 0, "loaded": loaded}
