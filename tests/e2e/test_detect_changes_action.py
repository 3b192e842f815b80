"""actions/detect-changes run by act with dorny/paths-filter's README examples (v4.0.2, "Conditional
execution": a step, a job, a matrix), where only the `uses:` line changed.

What act shows here is what GitHub's runner does for a JavaScript action: outputs the action
never declared (`backend`, `backend_count`, `backend_files`, `changes`) reach
`steps.<id>.outputs`, job outputs and `fromJSON` matrices. The harness needs our pinned checkout
with `persist-credentials: false` and the `run:` placeholders ("run: ...") became lines that
record that they ran.
"""

from __future__ import annotations

import pytest
from tests.e2e.conftest import ActRunner
from tests.e2e.harness import CHECKOUT, ScenarioRepo, push_event

pytestmark = pytest.mark.e2e

FILTERS = """\
          backend:
            - 'backend/**'
          frontend:
            - 'frontend/**'"""

WORKFLOW = f"""\
name: paths-filter README examples
on: push
permissions: {{}}
jobs:
  # "Execute step in a workflow job only if some file in a subfolder is changed"
  tests:
    runs-on: ubuntu-latest
    timeout-minutes: 10
    steps:
    - uses: {CHECKOUT}
      with:
        persist-credentials: false
        fetch-depth: 0
    - uses: ./actions/detect-changes # was: dorny/paths-filter@v4
      id: filter
      with:
        filters: |
{FILTERS}
        list-files: shell
    - name: backend tests
      if: steps.filter.outputs.backend == 'true'
      env:
        COUNT: ${{{{ steps.filter.outputs.backend_count }}}}
        FILES: ${{{{ steps.filter.outputs.backend_files }}}}
      run: echo "backend-tests=$COUNT $FILES" >> "$GITHUB_OUTPUT"
    - name: frontend tests
      if: steps.filter.outputs.frontend == 'true'
      run: echo "frontend-tests=ran" >> "$GITHUB_OUTPUT"
    - name: e2e tests
      if: steps.filter.outputs.backend == 'true' || steps.filter.outputs.frontend == 'true'
      run: echo "e2e-tests=ran" >> "$GITHUB_OUTPUT"

  # "Execute job in a workflow only if some file in a subfolder is changed" and
  # "Use change detection to configure matrix job"
  changes:
    runs-on: ubuntu-latest
    timeout-minutes: 10
    permissions:
      contents: read
    outputs:
      backend: ${{{{ steps.filter.outputs.backend }}}}
      frontend: ${{{{ steps.filter.outputs.frontend }}}}
      packages: ${{{{ steps.filter.outputs.changes }}}}
    steps:
    - uses: {CHECKOUT}
      with:
        persist-credentials: false
        fetch-depth: 0
    - uses: ./actions/detect-changes # was: dorny/paths-filter@v4
      id: filter
      with:
        filters: |
{FILTERS}
  backend:
    needs: changes
    if: ${{{{ needs.changes.outputs.backend == 'true' }}}}
    runs-on: ubuntu-latest
    timeout-minutes: 5
    steps:
      - run: echo "backend-job=ran" >> "$GITHUB_OUTPUT"
  frontend:
    needs: changes
    if: ${{{{ needs.changes.outputs.frontend == 'true' }}}}
    runs-on: ubuntu-latest
    timeout-minutes: 5
    steps:
      - run: echo "frontend-job=ran" >> "$GITHUB_OUTPUT"
  build:
    needs: changes
    strategy:
      matrix:
        package: ${{{{ fromJSON(needs.changes.outputs.packages) }}}}
    runs-on: ubuntu-latest
    timeout-minutes: 5
    steps:
      - env:
          PACKAGE: ${{{{ matrix.package }}}}
        run: echo "built=$PACKAGE" >> "$GITHUB_OUTPUT"
"""


def test_dorny_readme_examples_with_only_the_uses_line_changed(
    act: ActRunner, scenario: ScenarioRepo
) -> None:
    scenario.commit("main", {".github/workflows/paths-filter.yml": WORKFLOW}, "Add the paths-filter examples")
    before, after = scenario.commit(
        "main", {"backend/app.py": "print(1)\n", "backend/my module.py": "print(2)\n"}, "Change the backend"
    )
    result = act(
        event_name="push", event=push_event(scenario, "main", before, after), workflow="paths-filter.yml"
    )
    assert result.job_result("tests") == "success", result.text(last=60)
    recorded = "\n".join(result.outputs("tests"))
    assert "backend-tests=2 backend/app.py 'backend/my module.py'" in recorded
    assert "e2e-tests=ran" in recorded
    assert "frontend-tests" not in recorded  # its `if:` read 'false'
    assert result.job_result("backend") == "success", result.text(last=60)
    assert result.job_result("frontend") != "success"  # skipped: needs.changes.outputs.frontend == 'false'
    assert "frontend-job=ran" not in "\n".join(result.outputs())
    assert result.matrix_values("build", "package") == ["backend"]
    assert "built=backend" in "\n".join(result.outputs("build"))
