"""requirements/: one hash-locked file per bootstrap profile, every installed package with a reason.

The locks are compiled by scripts/lock.sh; these tests keep what it cannot check: that every
package in a lock is explained in the profile's .in files, that a package has one version
everywhere, that pyproject's ranges say the same as the .in files, and that what
requirements/excludes.txt leaves out is really never imported.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.11 has it
    raise

ROOT = Path(__file__).resolve().parents[2]
REQ = ROOT / "requirements"
PROFILES = ("core", "kube", "github", "validate", "all")
LOCKS = (*PROFILES, "dev", "uv")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: str) -> dict[str, str]:
    text = (REQ / f"{lock}.txt").read_text(encoding="utf-8")
    return {normalise(n): v for n, v in re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", text, re.M)}


def in_files(name: str) -> list[Path]:
    """The .in file and every file it includes with -r, depth first."""
    path = REQ / f"{name}.in"
    found = [path]
    for included in re.findall(r"^-r (\S+)\.in", path.read_text(encoding="utf-8"), re.M):
        found += [p for p in in_files(included) if p not in found]
    return found


def direct_requirements(name: str) -> list[str]:
    """The requirement lines of one .in file itself (comments stripped), e.g. 'PyYAML>=6.0.2'."""
    lines = (REQ / f"{name}.in").read_text(encoding="utf-8").splitlines()
    return [r for r in (line.split("#")[0].strip() for line in lines) if r and not r.startswith("-")]


@pytest.mark.parametrize("lock", LOCKS)
def test_every_lock_is_hash_locked_and_pins_exact_versions(lock: str) -> None:
    text = (REQ / f"{lock}.txt").read_text(encoding="utf-8")
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 1)[1] if text.startswith("#") else text)
    requirements = [b for b in blocks if re.match(r"[A-Za-z0-9]", b)]
    assert requirements
    for block in requirements:
        assert "==" in block.splitlines()[0], block.splitlines()[0]
        assert "--hash=sha256:" in block, f"{lock}.txt: {block.splitlines()[0]} has no hash"


@pytest.mark.parametrize("profile", [*PROFILES, "dev"])
def test_every_installed_package_has_a_reason_in_the_in_files(profile: str) -> None:
    """The direct requirements carry a comment each; what they pull in is listed under
    'Pulled in' with the reason, so nothing is installed that nobody can explain."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in in_files(profile))
    words = {normalise(w) for w in re.findall(r"[A-Za-z0-9][A-Za-z0-9._-]*", text)}
    unexplained = sorted(set(pins(profile)) - words)
    assert not unexplained, f"requirements/{profile}.txt installs {unexplained}: say why in {profile}.in"
    for path in in_files(profile):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith(("#", "-r")):
                assert "#" in line, f"{path.name}: `{line}` needs a comment saying why"


def test_a_package_has_the_same_version_in_every_lock() -> None:
    seen: dict[str, dict[str, str]] = {}
    for lock in (*PROFILES, "dev"):
        for name, version in pins(lock).items():
            seen.setdefault(name, {})[lock] = version
    split = {name: where for name, where in seen.items() if len(set(where.values())) > 1}
    assert not split, f"one version per package across the locks: {split}"


def test_all_is_exactly_the_union_of_the_profiles_and_dev_contains_it() -> None:
    union = set().union(*(pins(p) for p in ("core", "kube", "github", "validate")))
    assert set(pins("all")) == union
    assert set(pins("all")) <= set(pins("dev"))
    for profile in ("kube", "github", "validate"):
        assert set(pins("core")) <= set(pins(profile)), f"{profile} includes core"


def test_core_is_small() -> None:
    """core serves the gate and change-detection jobs: PyYAML and tzdata, nothing else."""
    assert set(pins("core")) == {"pyyaml", "tzdata"}


def test_excluded_packages_are_in_no_lock() -> None:
    excluded = {
        normalise(line.strip())
        for line in (REQ / "excludes.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert excluded == {"aiohttp", "aiohttp-retry"}
    for lock in LOCKS:
        assert not excluded & set(pins(lock)), lock
    assert not {"yarl", "multidict", "frozenlist", "aiosignal", "aiohappyeyeballs", "propcache"} & set(
        pins("all")
    )


def test_the_kubernetes_modules_we_use_load_pydantic_but_not_aiohttp() -> None:
    """Why excludes.txt may leave out aiohttp while kubernetes 37 declares it: only its asyncio
    client (kubernetes.aio, never imported here) uses it; pydantic stays, the models need it."""
    code = (
        "import sys\n"
        "import kubernetes\n"
        "from kubernetes import client, config, dynamic, watch\n"
        "from kubernetes.client.exceptions import ApiException\n"
        "from kubernetes.config.kube_config import load_kube_config_from_dict\n"
        "import gitops.adapters.kube\n"
        "loaded = {m.split('.')[0] for m in sys.modules}\n"
        "print(sorted(loaded & {'aiohttp', 'aiohttp_retry', 'pydantic'}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "['pydantic']"
    aio = subprocess.run(
        [sys.executable, "-c", "import kubernetes.aio.client"], capture_output=True, text=True, check=False
    )
    assert "aiohttp" in aio.stderr, "kubernetes.aio is what needs aiohttp, and it is not installed"


def test_pyproject_declares_the_same_ranges_as_the_in_files() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["dependencies"] == direct_requirements("core")
    extras = project["optional-dependencies"]
    for profile in ("kube", "github", "validate"):
        assert extras[profile] == direct_requirements(profile), profile
    assert extras["all"] == ["gitops-deploy-suite[kube,github,validate]"]


def test_uv_is_pinned_once() -> None:
    """uv.txt is the one pin of uv: bootstrap.sh, dev.sh and lock.sh all install it from there."""
    assert list(pins("uv")) == ["uv"]
    for lock in (*PROFILES, "dev"):
        assert "uv" not in pins(lock), lock
