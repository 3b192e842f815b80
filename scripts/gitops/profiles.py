"""Which bootstrap profile each verb needs, and a clear error when the running Python lacks it.

``source scripts/bootstrap.sh PROFILE`` installs ``requirements/PROFILE.txt`` (compiled from
``requirements/PROFILE.in``); each action sources the smallest profile that serves its verb.
A verb started without its profile's packages (an action or workflow step that sourced a smaller
one, or a bare ``pip install``) gets a :class:`~gitops.errors.ConfigurationError` naming the
profile to bootstrap and the command, never an ``ImportError`` traceback.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any

from gitops.errors import ConfigurationError

# profile -> the top-level modules it provides (the .in files say why each package is there).
PROFILE_MODULES: dict[str, tuple[str, ...]] = {
    "core": ("yaml",),
    "kube": ("yaml", "kubernetes", "jsonpath_ng"),
    "github": ("yaml", "github", "nacl"),
    "validate": ("yaml", "kubernetes_validate"),
}
PROFILE_MODULES["all"] = tuple(dict.fromkeys(m for mods in PROFILE_MODULES.values() for m in mods))

# top-level module -> the distribution a user would recognise (and find in the .in files).
DISTRIBUTIONS: dict[str, str] = {
    "yaml": "PyYAML",
    "kubernetes": "kubernetes",
    "jsonpath_ng": "jsonpath-ng",
    "github": "PyGithub",
    "nacl": "PyNaCl",
    "kubernetes_validate": "kubernetes-validate",
}

# verb -> the smallest profile that serves it. Every verb of gitops.cli.VERBS has a line
# (tests/unit/test_profiles.py checks); verbs not listed are not checked up front.
VERB_PROFILES: dict[str, str] = {
    "plan": "core",
    "changes": "core",
    "gate": "core",
    "init": "core",
    "render": "kube",  # kubectl kustomize, jsonpath-ng for --secret-map
    "apply": "kube",
    "deploy": "kube",
    "diff": "kube",
    "status": "kube",
    "claim": "kube",
    "cluster-ready": "kube",
    "cluster": "kube",  # hetzner-k3s runs the venv's kubectl
    "upload-kubeconfig": "github",
    "preview-access": "all",  # the cluster (kubernetes) and GitHub (PyGithub, PyNaCl) in one process:
    # the kubeconfig it makes goes from memory to the sealed secret, never through a file
    "dispatch": "github",
    "validate": "validate",
}

Finder = Callable[[str], Any]


def missing_modules(profile: str, find: Finder | None = None) -> list[str]:
    """The modules of ``profile`` that the running Python cannot import (``find``: a test's finder)."""
    locate = find or importlib.util.find_spec
    return [module for module in PROFILE_MODULES[profile] if locate(module) is None]


def profile_error(
    verb: str, profile: str, modules: list[str], environ: Mapping[str, str] | None = None
) -> ConfigurationError:
    env = os.environ if environ is None else environ
    packages = ", ".join(DISTRIBUTIONS.get(m, m) for m in modules)
    message = f"`gitops {verb}` needs the '{profile}' profile; this Python ({sys.executable}) "
    message += f"lacks {packages}"
    bootstrapped = env.get("GITOPS_PROFILE", "")
    if bootstrapped and bootstrapped != profile:
        message += f" (this step sourced scripts/bootstrap.sh {bootstrapped})"
    return ConfigurationError(
        message,
        title="Missing packages",
        hint=(
            f"In an action or a workflow step, run `source scripts/bootstrap.sh {profile}` before "
            f"`gitops {verb}`. On a laptop, `bash scripts/dev.sh venv` installs every profile, or "
            f"`pip install '.[{profile}]'` this one."
        ),
    )


def require(verb: str | None, find: Finder | None = None) -> None:
    """Raise a ConfigurationError naming the profile when ``verb``'s packages are missing."""
    profile = VERB_PROFILES.get(verb or "")
    if profile is None:
        return
    missing = missing_modules(profile, find)
    if missing:
        raise profile_error(verb or "", profile, missing)


def explain(exc: BaseException, verb: str | None) -> ConfigurationError | None:
    """A ModuleNotFoundError for one of the profiles' modules, as the error ``require`` gives;
    None for anything else (a bug, reported as one)."""
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    module = exc.name.split(".")[0]
    if module not in DISTRIBUTIONS:
        return None
    profile = VERB_PROFILES.get(verb or "", "")
    if module not in PROFILE_MODULES.get(profile, ()):
        profile = next(p for p, modules in PROFILE_MODULES.items() if module in modules)
    return profile_error(verb or "", profile, [module])
