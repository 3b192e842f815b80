"""A fake GitHub REST API on 127.0.0.1 for the workflow (act) tests.

It speaks the real JSON shapes and status codes of the endpoints the suite calls
(https://docs.github.com/en/rest): environment public keys and secrets (with a real
libsodium key pair per environment, so a test can DECRYPT what was uploaded), environments,
workflows, ``workflow_dispatch`` (with and without ``return_run_details``), workflow runs,
refs and branches, commit comparisons (from the real git history of ``repo_dir``), and GitHub
App installation tokens. Every request is recorded.

Tokens are checked: each known token carries a set of grants (``secrets``, ``actions``,
``environments``, ``contents``), so a test proves that the secret upload used the PAT and
the dispatch got by with ``GITHUB_TOKEN``'s ``actions: write``.

    with FakeGitHub("acme/platform", workflows_dir=repo / ".github/workflows",
                    tokens={"pat-1": PAT_GRANTS, "ght-1": {"actions", "contents"}}) as gh:
        ...  # point GITHUB_API_URL at gh.url
        gh.decrypt_secret("dev", "KUBECONFIG")
        gh.dispatches[0].inputs
"""

from __future__ import annotations

from tests.fakegithub.server import (
    ALL_GRANTS,
    FakeGitHub,
    GitHubApp,
    RecordedRequest,
    StoredSecret,
    WorkflowRun,
)

__all__ = ["ALL_GRANTS", "FakeGitHub", "GitHubApp", "RecordedRequest", "StoredSecret", "WorkflowRun"]
