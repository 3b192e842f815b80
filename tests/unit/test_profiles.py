"""gitops.profiles: which bootstrap profile each verb needs; the actions and workflows source,
and cache, exactly those profiles; a verb without its packages names the profile to bootstrap."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops import cli as cli_module
from gitops import profiles
from gitops.errors import EXIT_USER_ERROR, ConfigurationError

ROOT = Path(__file__).resolve().parents[2]
SOURCE = re.compile(r"source \S*scripts/bootstrap\.sh\"?(?: (\w+))?")


def finder(missing: set[str]) -> Any:
    return lambda module: None if module in missing else object()


# -- the table ------------------------------------------------------------------------------------------
def test_every_verb_has_a_profile() -> None:
    missing = sorted(set(cli_module.VERBS) - set(profiles.VERB_PROFILES))
    assert not missing, f"add these verbs to gitops.profiles.VERB_PROFILES (the smallest profile): {missing}"
    # `all` only for a verb that needs two profiles' clients in ONE process: preview-access makes
    # a kubeconfig from the cluster (kube) and seals it into a GitHub secret (github), so the
    # credential goes from memory to the secret and never through a file between two steps.
    both = {verb for verb, profile in profiles.VERB_PROFILES.items() if profile == "all"}
    assert both == {"preview-access"}
    assert set(profiles.VERB_PROFILES.values()) - {"all"} <= set(profiles.PROFILE_MODULES) - {"all"}


def pinned(profile: str) -> set[str]:
    text = (ROOT / "requirements" / f"{profile}.txt").read_text(encoding="utf-8")
    return {m.lower() for m in re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", text, re.M)}


@pytest.mark.parametrize("profile", list(profiles.PROFILE_MODULES))
def test_each_profile_module_comes_from_a_package_of_that_profiles_lock(profile: str) -> None:
    for module in profiles.PROFILE_MODULES[profile]:
        assert profiles.DISTRIBUTIONS[module].lower() in pinned(profile), (profile, module)


# -- require / explain ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("verb", "missing", "profile", "named"),
    [
        pytest.param(
            "apply", {"kubernetes", "jsonpath_ng"}, "kube", "kubernetes, jsonpath-ng", id="apply-in-core"
        ),
        pytest.param("upload-kubeconfig", {"nacl"}, "github", "PyNaCl", id="upload-without-pynacl"),
        pytest.param("dispatch", {"github"}, "github", "PyGithub", id="dispatch-in-kube"),
        pytest.param(
            "validate", {"kubernetes_validate"}, "validate", "kubernetes-validate", id="validate-in-kube"
        ),
        pytest.param("gate", {"yaml"}, "core", "PyYAML", id="gate-in-a-bare-python"),
    ],
)
def test_a_verb_without_its_packages_names_the_profile_and_the_command(
    verb: str, missing: set[str], profile: str, named: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        profiles.require(verb, finder(missing))
    error = caught.value
    assert f"`gitops {verb}` needs the '{profile}' profile" in error.message
    assert error.message.endswith(f"lacks {named}")
    assert error.hint and f"source scripts/bootstrap.sh {profile}` before `gitops {verb}`" in error.hint
    assert f"pip install '.[{profile}]'" in error.hint
    assert error.title == "Missing packages"


def test_a_verb_with_its_packages_or_an_unknown_verb_is_not_stopped() -> None:
    profiles.require("apply", finder({"github", "nacl", "kubernetes_validate"}))  # kube is enough
    profiles.require(None, finder({"yaml"}))
    profiles.require("not-a-verb", finder({"yaml"}))


def test_the_error_says_which_profile_the_step_did_source() -> None:
    error = profiles.profile_error("apply", "kube", ["kubernetes"], environ={"GITOPS_PROFILE": "core"})
    assert error.message.endswith("lacks kubernetes (this step sourced scripts/bootstrap.sh core)")
    same = profiles.profile_error("apply", "kube", ["kubernetes"], environ={"GITOPS_PROFILE": "kube"})
    assert "this step sourced" not in same.message


@pytest.mark.parametrize(
    ("exc", "verb", "profile"),
    [
        pytest.param(ModuleNotFoundError("x", name="kubernetes.client"), "apply", "kube", id="submodule"),
        pytest.param(
            ModuleNotFoundError("x", name="github"), "gate", "github", id="module-of-another-profile"
        ),
        pytest.param(ModuleNotFoundError("x", name="nacl"), None, "github", id="no-verb"),
    ],
)
def test_a_missing_profile_module_met_inside_a_verb_is_explained(
    exc: ModuleNotFoundError, verb: str | None, profile: str
) -> None:
    error = profiles.explain(exc, verb)
    assert error is not None
    assert f"the '{profile}' profile" in error.message


@pytest.mark.parametrize(
    "exc",
    [
        pytest.param(ModuleNotFoundError("x", name="nonexistent_dependency"), id="not-a-profile-module"),
        pytest.param(ModuleNotFoundError("x"), id="no-name"),
        pytest.param(ImportError("x", name="kubernetes"), id="broken-not-missing"),
        pytest.param(RuntimeError("kubernetes"), id="not-an-import"),
    ],
)
def test_anything_else_stays_a_bug(exc: BaseException) -> None:
    assert profiles.explain(exc, "apply") is None


def test_cli_stops_a_verb_before_importing_it_and_reports_the_profile(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(profiles.PROFILE_MODULES, "core", ("yaml", "gitops_no_such_module"))
    monkeypatch.setitem(profiles.DISTRIBUTIONS, "gitops_no_such_module", "no-such-package")
    loaded: list[str] = []
    monkeypatch.setattr(cli_module, "_load", loaded.append)
    assert cli_module.main(["gate", "--env", "dev", "--format", "table"]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert "`gitops gate` needs the 'core' profile" in err and "lacks no-such-package" in err
    assert "source scripts/bootstrap.sh core" in err
    assert "Traceback" not in err
    assert loaded == [], "the verb's module is not even imported"


def test_cli_turns_a_missing_profile_module_inside_a_verb_into_the_same_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(args: Any) -> int:
        raise ModuleNotFoundError("No module named 'kubernetes'", name="kubernetes")

    module = type("M", (), {"DESCRIPTION": "d", "EPILOG": "e", "add_arguments": staticmethod(lambda p: None)})
    module.run = staticmethod(run)  # type: ignore[attr-defined]
    monkeypatch.setattr(cli_module, "VERBS", {"fake": "fake"})
    monkeypatch.setattr(cli_module, "_load", lambda name: module)
    assert cli_module.main(["fake", "--format", "table"]) == EXIT_USER_ERROR
    err = capsys.readouterr().err
    assert "needs the 'kube' profile" in err
    assert "Internal error" not in err


# -- actions and workflows source (and cache) the smallest profiles --------------------------------------
def action_profile(action_dir: Path) -> tuple[str, str]:
    """(profile sourced, verb run) by the one run step of a composite action, or by the launcher
    of a JavaScript one (actions/detect-changes: `source "$bootstrap" PROFILE`, the verb first in args)."""
    doc = yaml.safe_load((action_dir / "action.yml").read_text(encoding="utf-8"))
    if str(doc["runs"].get("using", "")).startswith("node"):
        launcher = (action_dir / doc["runs"]["main"]).read_text(encoding="utf-8")
        sourced_js = re.search(r"source \"\$bootstrap\" (\w+)", launcher)
        verb_js = re.search(r"const args = \[\s*'([a-z-]+)'", launcher)
        assert sourced_js and verb_js, f'{action_dir}: no `source "$0" PROFILE` + args starting with the verb'
        return sourced_js.group(1), verb_js.group(1)
    (step,) = [s for s in doc["runs"]["steps"] if "run" in s]
    sourced = SOURCE.search(step["run"])
    verb = re.search(r"^\s*gitops ([a-z-]+)", step["run"], re.M)
    assert sourced and verb, f"{action_dir}: no `source scripts/bootstrap.sh PROFILE` + `gitops VERB`"
    return sourced.group(1) or "all", verb.group(1)


ACTIONS = [*sorted(p.parent for p in ROOT.glob("actions/*/action.yml")), ROOT]


@pytest.mark.parametrize("action_dir", ACTIONS, ids=lambda p: p.relative_to(ROOT).as_posix() or "root")
def test_each_action_sources_the_profile_of_its_verb(action_dir: Path) -> None:
    profile, verb = action_profile(action_dir)
    assert profile == profiles.VERB_PROFILES[verb], f"`gitops {verb}` needs {profiles.VERB_PROFILES[verb]}"


def job_profiles(job: dict[str, Any]) -> list[str]:
    used: list[str] = []
    for step in job.get("steps") or []:
        uses = str(step.get("uses", ""))
        found: list[str] = []
        if uses.startswith("./") and not uses.startswith("./.github/"):
            found = [action_profile(ROOT / uses.removeprefix("./"))[0]]
        found += [m or "all" for m in SOURCE.findall(str(step.get("run", "")))]
        used += [p for p in found if p not in used]
    return used


WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_each_job_keeps_the_package_cache_of_exactly_the_profiles_it_sources(workflow: Path) -> None:
    """GitHub-hosted runners start empty: the job's cache key must cover what its actions install
    (the uv wheel and each profile's lock), under the directory bootstrap.sh downloads into."""
    doc = yaml.safe_load(workflow.read_text(encoding="utf-8"))
    for name, job in (doc.get("jobs") or {}).items():
        used = job_profiles(job)
        caches = [s for s in job.get("steps") or [] if str(s.get("uses", "")).startswith("actions/cache@")]
        if not used:
            assert not caches, f"{workflow.name} {name}: caches packages it never installs"
            continue
        assert len(caches) == 1, f"{workflow.name} {name}: sources {used} but keeps no package cache"
        cache = caches[0]["with"]
        assert cache["path"] == "${{ runner.tool_cache }}/gitops/packages"
        files = ", ".join(["'requirements/uv.txt'"] + [f"'requirements/{p}.txt'" for p in used])
        platform = "${{ runner.os }}-${{ runner.arch }}"
        key = f"gitops-packages-{platform}-{'-'.join(used)}-${{{{ hashFiles({files}) }}}}"
        assert cache["key"] == key, f"{workflow.name} {name}"
        steps = job["steps"]
        first_bootstrap = next(i for i, s in enumerate(steps) if job_profiles({"steps": [s]}))
        assert steps.index(caches[0]) < first_bootstrap, f"{workflow.name} {name}: restore the cache first"
