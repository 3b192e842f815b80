"""What ``gitops init`` writes, decided from the suite's own files (pure: text in, text out).

A new repository gets this suite's real workflows, its overlays' skeletons and a policy; the
templates are never kept here as copies that could drift: :mod:`gitops.operations.scaffolding`
reads the suite's checkout at run time and these functions turn each file into its scaffold form.

* **Workflows** (:func:`rewrite_workflow`): every ``uses:`` of this suite becomes a pinned remote
  reference, ``uses: ./actions/<name>`` -> ``uses: OWNER/REPO/actions/<name>@SHA # vX.Y.Z`` and
  ``uses: ./`` -> ``uses: OWNER/REPO@SHA # vX.Y.Z`` (GitHub: a composite action in a
  subdirectory of a public repository is referenced as ``{owner}/{repo}/{path}@{ref}``;
  https://docs.github.com/en/actions/reference/workflows-and-actions/workflow-syntax#jobsjob_idstepsuses).
  ``uses: ./.github/workflows/...`` stays: those reusable workflows are copied too. Cache keys
  hashed over this suite's lock files (``hashFiles('requirements/...')``, files the new
  repository does not have) are keyed by the pinned SHA instead, which fixes those locks. What
  belongs to the suite's own development goes: path filters on its code (``actions/**``,
  ``action.yml``, ``scripts/**``, ``requirements/**``) and steps that run its ``scripts/``
  (the workflow linters). A step that runs a verb from the suite's bootstrap (``source
  scripts/bootstrap.sh PROFILE``) sources it from a checkout of the suite at the pinned commit
  (:data:`SUITE_PATH`), which its job gets as a step before it, made like the workflow's own
  checkouts (the same pinned ``actions/checkout``, ``persist-credentials: false``). The
  generated secret lists keep their lines for the secrets the scaffolded overlays need (all of
  them with the examples, only the kubeconfigs without).
  :func:`leftovers` is the check that nothing of the suite's own tree is still referenced.
* **Overlays** (:func:`overlay_skeleton`): the suite's kustomization of each overlay without
  its patches and its own resources: the base, and the labels (never in selectors).
* **Policy** (:func:`skeleton_policy`): the suite's policy header (the rules of the file) and the
  effective policy of :data:`SKELETON_POLICY` (:func:`gitops.core.policy_explain.explain`), so
  every key is written out and each default is marked as the gate's own default.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from gitops.core import documents
from gitops.core.policy_explain import explain
from gitops.core.policy_schema import parse_policy
from gitops.errors import ConfigurationError

# GitHub's rules: an owner is 1-39 letters, digits and single hyphens; a repository name is
# letters, digits, '.', '-' and '_'.
_SUITE = re.compile(
    r"(?P<owner>[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38})/(?P<repo>[A-Za-z0-9._-]{1,100})"
    r"@(?P<ref>\S+)"
)
_SHA = re.compile(r"[0-9a-fA-F]{40}")
_VERSION = re.compile(r"v?(?P<number>[0-9]+\.[0-9]+\.[0-9]+(?:[-+][0-9A-Za-z.-]+)?)")

# Workflows of the suite's own development, not scaffolded: its CI (tests, lint, the kind matrix).
SUITE_ONLY_WORKFLOWS = ("ci.yml",)
# Top-level paths of the suite's own code, which a new repository does not have.
SUITE_CODE = ("actions", "action.yml", "scripts", "requirements")
# Where a job that runs a verb from the suite's bootstrap (not through one of its actions) checks
# the suite out, at the pinned commit, inside the workspace.
SUITE_PATH = ".gitops-suite"

KUSTOMIZE = documents.DocumentKind(title="Invalid kustomization in the suite", dates=False)

# The policy of a new repository: the reference's own choices (dev deploys automatically from its
# branch, test by hand, prod by hand and with approval; no deployment windows yet). Everything
# else is the gate's default, written out by explain() with its rule.
SKELETON_POLICY = """\
global:
  auto_deploy: true
environments:
  dev:
    enabled: true
    auto_deploy: true
    require_manual_approval: false
    deployment_windows:
      enabled: false
  test:
    enabled: true
    auto_deploy: false
    require_manual_approval: false
    deployment_windows:
      enabled: false
  prod:
    enabled: true
    auto_deploy: false
    require_manual_approval: true
    deployment_windows:
      enabled: false
"""


@dataclass(frozen=True)
class SuitePin:
    """The suite's repository and the commit a new repository's workflows use, with its version."""

    owner: str
    repo: str
    sha: str
    version: str  # vX.Y.Z

    @property
    def repository(self) -> str:
        return f"{self.owner}/{self.repo}"

    def uses(self, action: str | None = None) -> str:
        """``OWNER/REPO/actions/<action>@SHA # vX.Y.Z``, or the root action's without ``action``."""
        path = f"{self.repository}/actions/{action}" if action else self.repository
        return f"{path}@{self.sha} # {self.version}"


def parse_suite(text: str) -> tuple[str, str, str]:
    """``OWNER/REPO@SHA`` -> (owner, repo, sha); a tag, branch or short SHA is refused."""
    match = _SUITE.fullmatch(text.strip())
    if match is None:
        raise ConfigurationError(
            f"--suite {text!r} is not OWNER/REPO@SHA",
            key="--suite",
            hint="name the suite's repository and a full commit SHA, e.g. "
            "--suite acme/gitops-suite@3d3c42e5aac5ba805825da76410c181273ba90b1",
            title="Invalid input",
        )
    ref = match["ref"]
    if not _SHA.fullmatch(ref):
        raise ConfigurationError(
            f"--suite pins {ref!r}, which is not a full 40-character commit SHA",
            key="--suite",
            hint="a tag or branch can be moved, a SHA cannot: pin the commit, e.g. "
            f"`git rev-parse {ref}^{{commit}}` in a clone of {match['owner']}/{match['repo']}, and "
            f"give the release as --version",
            title="Invalid input",
        )
    return match["owner"], match["repo"], ref.lower()


def parse_version(text: str) -> str:
    """``v1.2.3`` or ``1.2.3`` (a pre-release or build suffix too) -> ``v1.2.3``."""
    match = _VERSION.fullmatch(text.strip())
    if match is None:
        raise ConfigurationError(
            f"--version {text!r} is not a release version vX.Y.Z",
            key="--version",
            hint="give the release the pinned commit is, e.g. --version v1.2.0 (it becomes the comment "
            "after each pinned uses:, which Dependabot updates together with the SHA)",
            title="Invalid input",
        )
    return f"v{match['number']}"


def version_of_tags(tags: Iterable[str]) -> str | None:
    """The release version among the tags that point at the pinned commit, if exactly one is."""
    versions = sorted({parse_version(t) for t in tags if _VERSION.fullmatch(t.strip())})
    return versions[0] if len(versions) == 1 else None


# -- workflows -------------------------------------------------------------------------------------

_USES = re.compile(r"^(?P<lead>\s*(?:-\s+)?uses:\s*)(?P<ref>\./\S*)\s*(?:#.*)?$")
_LOCK_HASH = re.compile(r"\$\{\{\s*hashFiles\(\s*'requirements/[^)]*\)\s*\}\}")
_SUITE_PATH_FILTER = re.compile(
    r"^\s*-\s*(?P<q>[\"']?)(?:actions/\*\*|action\.yml|scripts/\*\*|requirements/\*\*)(?P=q)\s*(?:#.*)?$"
)
_STEP = re.compile(r"^(?P<indent>\s*)-\s+\S")
_JOB = re.compile(r"^  [A-Za-z_][A-Za-z0-9_-]*:\s*(?:#.*)?$")  # a job id under `jobs:`
_CHECKOUT = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>actions/checkout@[0-9a-f]{40}\s*#.*?)\s*$")
_BOOTSTRAP = re.compile(r"((?:^|\s)(?:source|\.)\s+[\"']?)scripts/bootstrap\.sh")
_BEGIN = re.compile(r"^(?P<indent>\s*)# BEGIN GENERATED SECRETS: (?P<kind>\w+)")
_END = re.compile(r"^\s*# END GENERATED SECRETS")
_PASSED = re.compile(r"^\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*): \$\{\{ secrets\.(?P=name) \}\}\s*$")
_DECLARED = re.compile(r"^(?P<indent>\s*)(?P<name>[A-Za-z_][A-Za-z0-9_]*):\s*$")
_COMMENT = re.compile(r"(?:^|\s)#.*$")
# A path into the suite's own tree, relative to the workspace (not `actions/checkout@...` and not
# the rewritten `owner/repo/actions/...`), or its test tooling.
_SUITE_TREE = re.compile(r"(?<![\w./-])(?:scripts|requirements)/|(?<![\w/-])\./actions\b|tests\.support")


def substituted_secrets(texts: Iterable[str]) -> set[str]:
    """The variables the suite's overlays substitute: the lines of the workflows' ``substituted`` blocks."""
    names: set[str] = set()
    for text in texts:
        kind = None
        for line in text.splitlines():
            begin = _BEGIN.match(line)
            if begin:
                kind = begin["kind"]
            elif _END.match(line):
                kind = None
            elif kind == "substituted" and (passed := _PASSED.match(line)):
                names.add(passed["name"])
    return names


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _block_end(lines: Sequence[str], start: int) -> int:
    """The index after the YAML block that starts at ``lines[start]`` (a list item or a key)."""
    indent = _indent(lines[start])
    end = start + 1
    while end < len(lines):
        line = lines[end]
        if line.strip() and _indent(line) <= indent:
            break
        end += 1
    while end > start + 1 and not lines[end - 1].strip():  # trailing blank lines belong to what follows
        end -= 1
    return end


def _sources_bootstrap(block: Sequence[str]) -> bool:
    """A step that runs a verb from the suite's bootstrap (``source scripts/bootstrap.sh PROFILE``)."""
    return any(_BOOTSTRAP.search(_COMMENT.sub("", line)) for line in block)


def _suite_checkout(step: Sequence[str], pin: SuitePin, checkout: str | None) -> list[str]:
    """A step that checks the suite out at the pin into :data:`SUITE_PATH`, as the workflow's own
    checkouts do (the same pinned actions/checkout, no credentials kept), put before ``step`` (the
    first one of its job that sources the bootstrap) and run under its ``if:`` and
    ``continue-on-error:``, so a best-effort step stays best effort."""
    if checkout is None:
        raise RuntimeError("a workflow sources the suite's bootstrap but checks nothing out to copy")
    indent = " " * _indent(step[0])
    inner = indent + "  "
    body = [inner + step[0].strip().removeprefix("-").strip(), *step[1:]]  # the step's keys, aligned
    conditions: list[str] = []
    for i, line in enumerate(body):
        if _indent(line) == len(inner) and re.match(r"\s*(if|continue-on-error):", line):
            conditions += body[i : _block_end(body, i)]
    return [
        f"{indent}- name: Check out the gitops suite at the pinned commit (its bootstrap, for what follows)",
        *conditions,
        f"{inner}uses: {checkout}",
        f"{inner}with:",
        f"{inner}  repository: {pin.repository}",
        f"{inner}  ref: {pin.sha} # {pin.version}",
        f"{inner}  path: {SUITE_PATH}",
        f"{inner}  persist-credentials: false",
    ]


def _runs_suite_scripts(block: Sequence[str]) -> bool:
    text = "\n".join(_COMMENT.sub("", line) for line in block)
    return bool(re.search(r"^\s*run:", text, re.M)) and "scripts/" in text


def _secret_lines(lines: list[str], drop: frozenset[str]) -> list[str]:
    """The generated secret blocks as guidance comments, without the secrets in ``drop``."""
    out: list[str] = []
    kind: str | None = None
    skip_below: int | None = None  # inside a dropped declaration: its indented lines go too
    for line in lines:
        if skip_below is not None:
            if line.strip() and _indent(line) > skip_below:
                continue
            skip_below = None
        begin = _BEGIN.match(line)
        if begin:
            kind = begin["kind"]
            what = "each variable" if kind == "substituted" else "KUBECONFIG and each variable"
            note = f"# One line per secret: {what} your placeholders need (gitops render --check)"
            out.append(begin["indent"] + note)
            continue
        if _END.match(line):
            kind = None
            continue
        if kind is not None:
            passed = _PASSED.match(line)
            if passed and passed["name"] in drop:
                continue
            declared = _DECLARED.match(line)
            if kind == "declare" and declared and declared["name"] in drop:
                skip_below = len(declared["indent"])
                continue
        out.append(line)
    return out


def rewrite_workflow(text: str, pin: SuitePin, *, drop_secrets: Iterable[str] = ()) -> str:
    """The suite's workflow ``text`` as a repository that uses the suite at ``pin`` needs it.

    See the module docstring for each rule. ``drop_secrets``: names to leave out of the generated
    secret lists (the suite's own overlays' variables, when the examples are not scaffolded).
    """
    lines = text.splitlines()
    checkout = next((m["ref"] for line in lines if (m := _CHECKOUT.match(line))), None)
    kept: list[str] = []
    suite_checked_out = False  # in the current job
    i = 0
    while i < len(lines):
        line = lines[i]
        if _JOB.match(line):
            suite_checked_out = False
        if _STEP.match(line):
            end = _block_end(lines, i)
            block = lines[i:end]
            if _sources_bootstrap(block):
                if not suite_checked_out:
                    kept += _suite_checkout(block, pin, checkout)
                    suite_checked_out = True
                kept += [_BOOTSTRAP.sub(rf"\g<1>{SUITE_PATH}/scripts/bootstrap.sh", b) for b in block]
                i = end
                continue
            if _runs_suite_scripts(block):
                i = end
                continue
        if _SUITE_PATH_FILTER.match(line):
            i += 1
            continue
        uses = _USES.match(line)
        if uses:
            ref = uses["ref"].rstrip("/")
            if ref in (".", ""):
                line = uses["lead"] + pin.uses()
            elif ref.startswith("./actions/"):
                line = uses["lead"] + pin.uses(ref.removeprefix("./actions/"))
        kept.append(_LOCK_HASH.sub(pin.sha, line))
        i += 1
    return "\n".join(_secret_lines(kept, frozenset(drop_secrets))) + "\n"


def leftovers(text: str) -> list[tuple[int, str]]:
    """(line, what) for each reference to the suite's own tree left in a rewritten workflow."""
    found: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        code = _COMMENT.sub("", line)
        uses = _USES.match(code)
        if uses and not uses["ref"].startswith("./.github/workflows/"):
            found.append((number, f"a local action ({uses['ref']})"))
        for match in _SUITE_TREE.finditer(code):
            found.append((number, f"the suite's {match[0]}"))
    return found


# -- overlays and the policy -----------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Block lists indented under their key, as kustomization files are written by hand."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def overlay_skeleton(text: str, source: str, suite: str) -> str:
    """The suite's overlay kustomization without its patches and its own resources (only what it
    takes from outside the overlay, i.e. the base) and with its labels, for a new repository."""
    data = documents.load(text, source, KUSTOMIZE)
    if not isinstance(data, dict):
        raise RuntimeError(f"{source} in the suite is not a kustomization mapping")
    kept: dict[str, Any] = {k: data[k] for k in ("apiVersion", "kind") if k in data}
    kept["resources"] = [r for r in data.get("resources") or [] if str(r).startswith("../")]
    if "labels" in data:
        kept["labels"] = data["labels"]
    groups: tuple[tuple[str, ...], ...] = (("apiVersion", "kind"), ("resources",), ("labels",))
    sections = [{k: kept[k] for k in group if k in kept} for group in groups]
    body = "\n".join(
        yaml.dump(section, Dumper=_Dumper, sort_keys=False, default_flow_style=False)
        for section in sections
        if section
    )
    return (
        f"# Scaffolded by `gitops init` from {source} of {suite}:\n"
        "# the base and the environment's labels (on every object and pod template, never in\n"
        "# selectors: a StatefulSet's selector is immutable).\n"
        "# Add what differs per environment below: resources, replicas, storage as patches, e.g.\n"
        "#   patches:\n"
        "#     - path: patches/statefulsets/<service>.statefulset.yaml\n"
        f"{body}"
    )


def base_skeleton(suite: str) -> str:
    """An empty base for a new repository (the suite's base holds its example services)."""
    return (
        f"# Base (scaffolded by `gitops init` for {suite}): WHAT runs, the same in every environment.\n"
        "# List your Secrets, ConfigMaps, Services and workloads in dependency order; HOW MUCH\n"
        "# (resources, storage, replicas) goes into the overlays' patches. A Secret value that is the\n"
        "# placeholder StrongBase64Password (under data: itself or its base64) is filled in memory at\n"
        "# deploy time from the variable named like its key; `gitops render --check` lists them.\n"
        "apiVersion: kustomize.config.k8s.io/v1beta1\n"
        "kind: Kustomization\n"
        "\n"
        "resources: []\n"
    )


def policy_header(text: str) -> str:
    """The leading comment block of the suite's policy file (the rules of the file)."""
    header: list[str] = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            break
        header.append(line)
    while header and not header[-1].strip():
        header.pop()
    return "\n".join(header) + "\n" if header else ""


def skeleton_policy(suite_policy: str) -> str:
    """The policy file of a new repository: the suite's header, then every key of
    :data:`SKELETON_POLICY` written out, each default marked as such."""
    policy = parse_policy(SKELETON_POLICY, "gitops init")
    note = (
        "#\n"
        "# Scaffolded by `gitops init`: every key is written out. A value marked `# default` is what\n"
        "# the gate uses when the key is left out (in every environment at once), so such a line may\n"
        "# also be deleted; `gitops validate --explain` shows the policy as the gate reads it.\n"
        "\n"
    )
    return policy_header(suite_policy) + note + explain(policy)
