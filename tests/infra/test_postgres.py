"""The PostgreSQL init script of infra/k8s, run against a real PostgreSQL 15 + PostGIS.

The script is taken from the RENDERED dev overlay (ConfigMap named by the StatefulSet's
``init`` volume, with that volume's file mode) and run the way the postgres image's entrypoint
runs /docker-entrypoint-initdb.d on first start (tests/support/pg_entrypoint.sh), with the
container's environment from the rendered StatefulSet. The server logs every statement
(``log_statement=all``) so that a password in any statement would be caught.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gitops.core.postgres_check import MOUNT, Target, targets, verification_job
from tests.support.infra import container, container_env, find, render
from tests.support.pg import PG_BIN, PgCluster, run_entrypoint_init

pytestmark = pytest.mark.integration

# Distinct per role, and with everything that quoting could get wrong: quotes, backslash,
# dollar, spaces, non-ASCII.
PASSWORDS = {
    "POSTGRES_SA_PASSWORD": 'sa-Pw\'1 "q" \\ $HOME ü',
    "ACCOUNT_SERVICE_DB_USER_PASSWORD": 'acc-Pw\'2 "q" \\ $(id) é',
    "MESSAGING_SERVICE_DB_USER_PASSWORD": "msg-Pw'3 `uname` ; DROP ROLE x; --",
    "PROPERTY_SERVICE_DB_USER_PASSWORD": "prop-Pw'4 %s %I :'x' ø",
}
ROLES = {
    "account_service": ("account_db", "ACCOUNT_SERVICE_DB_USER_PASSWORD"),
    "messaging_service": ("messaging_db", "MESSAGING_SERVICE_DB_USER_PASSWORD"),
    "property_service": ("property_db", "PROPERTY_SERVICE_DB_USER_PASSWORD"),
}
SUPERUSER = "postgres_sa"
DATABASE_OWNERS = {
    "account_db": "account_service",
    "messaging_db": "messaging_service",
    "property_db": "property_service",
    "appdb": SUPERUSER,
}
EXTENSIONS = {"uuid-ossp", "postgis", "pg_trgm"}
SCHEMAS = {"reference", "config", "audit"}
# Log every statement (and every failing one); fsync off only to keep the test fast.
SERVER_SETTINGS = {"log_statement": "all", "log_min_error_statement": "error", "fsync": "off"}


@dataclass
class Initialised:
    cluster: PgCluster
    script: Path
    env: dict[str, str]
    output: str


def leaks(text: str, secrets: list[str]) -> list[str]:
    """The secrets found in ``text``, as given or as an SQL literal would spell them."""
    return [s for s in secrets if s in text or s.replace("'", "''") in text]


@pytest.fixture(scope="module")
def initialised(pg_cluster_factory: Callable[[], PgCluster]) -> Iterator[Initialised]:
    objects = render("dev")
    statefulset = find(objects, "StatefulSet", "postgres")
    postgres = container(statefulset, "postgres")
    volume = next(v for v in statefulset["spec"]["template"]["spec"]["volumes"] if v["name"] == "init")
    mount = next(m for m in postgres["volumeMounts"] if m["name"] == "init")
    assert mount["mountPath"] == "/docker-entrypoint-initdb.d"
    configmap = find(objects, "ConfigMap", volume["configMap"]["name"])

    cluster = pg_cluster_factory()
    initdb_dir = cluster.root / "docker-entrypoint-initdb.d"
    initdb_dir.mkdir()
    for name, text in configmap["data"].items():
        path = initdb_dir / name
        path.write_text(text, encoding="utf-8")
        path.chmod(volume["configMap"].get("defaultMode", 0o644))
    env = container_env(postgres, PASSWORDS)

    done = run_entrypoint_init(cluster, initdb_dir, env, SERVER_SETTINGS)
    assert done.returncode == 0, f"init failed:\n{done.stdout}\n{done.stderr}\n{cluster.log_text()[-3000:]}"
    cluster.start(SERVER_SETTINGS)
    [script] = [p for p in initdb_dir.iterdir() if p.suffix == ".sh"]
    yield Initialised(cluster, script, env, done.stdout + done.stderr)
    cluster.destroy()


def run_script(init: Initialised, env: dict[str, str]) -> tuple[int, str]:
    """The init script run by hand against the running server, as `kubectl exec` would."""
    done = init.cluster.run([str(init.script)], env=env, check=False)
    return done.returncode, done.stdout + done.stderr


def test_every_database_exists_with_its_owner(initialised: Initialised) -> None:
    rows = initialised.cluster.psql(
        "SELECT datname || '=' || pg_get_userbyid(datdba) FROM pg_database ORDER BY 1", user=SUPERUSER
    ).splitlines()
    owners = dict(row.split("=", 1) for row in rows)
    for database, owner in DATABASE_OWNERS.items():
        assert owners.get(database) == owner, f"{database}: {owners.get(database)}"


def test_service_roles_can_log_in_and_nothing_more(initialised: Initialised) -> None:
    rows = initialised.cluster.psql(
        "SELECT rolname, rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, "
        "(SELECT count(*) FROM pg_auth_members WHERE member = r.oid) FROM pg_roles r "
        "WHERE rolname LIKE '%\\_service' ORDER BY 1",
        user=SUPERUSER,
    ).splitlines()
    assert rows == [f"{role}|t|f|f|f|f|f|0" for role in sorted(ROLES)]


@pytest.mark.parametrize("database", sorted(DATABASE_OWNERS))
def test_extensions_and_schemas_in_every_database(initialised: Initialised, database: str) -> None:
    extensions = set(
        initialised.cluster.psql(
            "SELECT extname FROM pg_extension", database=database, user=SUPERUSER
        ).split()
    )
    assert extensions >= EXTENSIONS
    schemas = initialised.cluster.psql(
        "SELECT nspname || '=' || pg_get_userbyid(nspowner) FROM pg_namespace",
        database=database,
        user=SUPERUSER,
    ).splitlines()
    owned = dict(row.split("=", 1) for row in schemas)
    assert {name: owned.get(name) for name in SCHEMAS} == dict.fromkeys(SCHEMAS, DATABASE_OWNERS[database])


@pytest.mark.parametrize("role", sorted(ROLES))
def test_service_role_works_in_its_own_database(initialised: Initialised, role: str) -> None:
    database, variable = ROLES[role]
    sql = (
        "CREATE TABLE reference.places (id uuid PRIMARY KEY DEFAULT uuid_generate_v4(), name text,"
        " location geography(Point, 4326));"
        "INSERT INTO reference.places (name, location)"
        " VALUES ('Marienplatz', ST_MakePoint(11.5755, 48.1374));"
        "CREATE TABLE audit.events (at timestamptz DEFAULT now()); CREATE TABLE config.flags (k text);"
        "SELECT name FROM reference.places WHERE similarity(name, 'Marienplaz') > 0.5"
        " AND ST_DWithin(location, ST_MakePoint(11.58, 48.14)::geography, 1000);"
        "DROP TABLE reference.places, audit.events, config.flags;"
    )
    done = initialised.cluster.connect_tcp(
        user=role, password=PASSWORDS[variable], database=database, sql=sql
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Marienplatz"


@pytest.mark.parametrize(
    ("role", "database"),
    [
        pytest.param(role, other, id=f"{role}-{other}")
        for role in sorted(ROLES)
        for other in [*sorted(DATABASE_OWNERS), "postgres", "template1"]
        if other != ROLES[role][0]
    ],
)
def test_service_role_is_refused_on_every_other_database(
    initialised: Initialised, role: str, database: str
) -> None:
    _, variable = ROLES[role]
    done = initialised.cluster.connect_tcp(user=role, password=PASSWORDS[variable], database=database)
    assert done.returncode != 0
    assert f'permission denied for database "{database}"' in done.stderr


def test_a_wrong_password_is_refused_over_tcp(initialised: Initialised) -> None:
    done = initialised.cluster.connect_tcp(
        user="account_service", password="not-the-password", database="account_db"
    )
    assert done.returncode != 0
    assert 'password authentication failed for user "account_service"' in done.stderr


def test_no_password_in_the_server_log_or_the_init_output(initialised: Initialised) -> None:
    log = initialised.cluster.log_text()
    assert "statement: CREATE DATABASE account_db" in log  # statement logging was on
    assert leaks(log, list(PASSWORDS.values())) == []
    assert leaks(initialised.output, list(PASSWORDS.values())) == []


def test_control_without_the_guard_a_failing_password_statement_is_logged(initialised: Initialised) -> None:
    # Proves the log checks can fail: the server does log a failing statement's text.
    canary = "canary-Pw-logged-on-error"
    initialised.cluster.run(
        [
            "psql",
            "-X",
            "-U",
            SUPERUSER,
            "-d",
            "postgres",
            "-c",
            f"ALTER ROLE account_service PASSWORD '{canary}'",
        ],
        env={"PGOPTIONS": "-c default_transaction_read_only=on"},
        check=False,
    )
    assert canary in initialised.cluster.log_text()


def test_a_failing_password_statement_logs_no_password(initialised: Initialised) -> None:
    rejected = {variable: f"rejected-{variable.lower()}-Pw'9" for _, variable in ROLES.values()}
    start = len(initialised.cluster.log_text())
    code, output = run_script(
        initialised, {**initialised.env, **rejected, "PGOPTIONS": "-c default_transaction_read_only=on"}
    )
    log = initialised.cluster.log_text()[start:]
    assert code != 0
    assert "cannot execute ALTER ROLE in a read-only transaction" in log
    assert leaks(log, list(rejected.values())) == []
    assert leaks(output, list(rejected.values())) == []
    still = initialised.cluster.connect_tcp(
        user="account_service", password=PASSWORDS["ACCOUNT_SERVICE_DB_USER_PASSWORD"], database="account_db"
    )
    assert still.returncode == 0, still.stderr


def test_rerunning_the_script_rotates_passwords_without_logging_them(initialised: Initialised) -> None:
    rotated = {variable: f"rotated-{variable.lower()}-Pw'7 \\" for _, variable in ROLES.values()}
    try:
        code, output = run_script(initialised, {**initialised.env, **rotated})
        assert code == 0, output
        for role, (database, variable) in ROLES.items():
            assert (
                initialised.cluster.connect_tcp(
                    user=role, password=rotated[variable], database=database
                ).returncode
                == 0
            )
            old = initialised.cluster.connect_tcp(user=role, password=PASSWORDS[variable], database=database)
            assert "password authentication failed" in old.stderr
        assert leaks(initialised.cluster.log_text(), list(rotated.values())) == []
        assert leaks(output, list(rotated.values())) == []
    finally:
        code, output = run_script(initialised, initialised.env)
        assert code == 0, output


def test_a_missing_password_variable_stops_the_script_and_names_it(initialised: Initialised) -> None:
    env = {k: v for k, v in initialised.env.items() if k != "MESSAGING_SERVICE_DB_USER_PASSWORD"}
    code, output = run_script(initialised, env)
    assert code == 1
    assert "MESSAGING_SERVICE_DB_USER_PASSWORD" in output
    assert leaks(output, list(PASSWORDS.values())) == []


# -- the read-only check the deploy runs after a rollout (gitops.core.postgres_check) ----------------


def run_check_job(cluster: PgCluster, workdir: Path) -> subprocess.CompletedProcess[str]:
    """The check Job, as gitops builds it from the RENDERED StatefulSet, run here: its command and
    environment, with the ConfigMap mounted at its mount path mapped to ``workdir``, the pod's DNS
    name mapped to 127.0.0.1 and the password resolved from its secretKeyRef."""
    objects = render("dev")
    statefulset = find(objects, "StatefulSet", "postgres")
    [target] = targets([statefulset], "default")
    assert target == Target("default", "postgres", "postgres-verify")
    job = verification_job(statefulset, target, attempt=1)
    pod = job["spec"]["template"]["spec"]
    [check] = pod["containers"]
    [volume] = pod["volumes"]
    configmap = find(objects, "ConfigMap", volume["configMap"]["name"])
    workdir.mkdir(exist_ok=True)
    for key, text in configmap["data"].items():
        (workdir / key).write_text(text, encoding="utf-8")
    env = container_env(check, PASSWORDS)
    assert env["PGHOST"] == "postgres-0.postgres-headless" and env["PGPORT"] == "5432"
    env.update(PGHOST="127.0.0.1", PGPORT=str(cluster.port))
    command = [a.replace(f"={MOUNT}/", f"={workdir}/", 1) for a in check["command"]]
    assert command[0] == "psql"
    return subprocess.run(
        [str(PG_BIN / "psql"), *command[1:]],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_check_job_passes_on_a_fully_initialised_database(
    initialised: Initialised, tmp_path: Path
) -> None:
    done = run_check_job(initialised.cluster, tmp_path / "verify")
    assert done.returncode == 0, done.stderr
    assert "PostgreSQL is initialised" in done.stdout
    assert leaks(done.stdout + done.stderr, list(PASSWORDS.values())) == []


def test_the_check_job_names_a_missing_schema_and_never_writes(
    initialised: Initialised, tmp_path: Path
) -> None:
    initialised.cluster.psql("DROP SCHEMA audit", database="property_db", user=SUPERUSER)
    start = len(initialised.cluster.log_text())
    try:
        done = run_check_job(initialised.cluster, tmp_path / "verify")
        assert done.returncode != 0
        assert (
            "PostgreSQL is not fully initialised: in database property_db, missing schema audit owned by "
            "property_service" in done.stderr
        )
        assert "HINT:" in done.stderr and "10-init-databases.sh" in done.stderr
        statements = [
            line for line in initialised.cluster.log_text()[start:].splitlines() if "statement:" in line
        ]
        assert statements and not [
            s for s in statements if any(w in s for w in ("CREATE ", "ALTER ", "DROP "))
        ]
    finally:
        code, output = run_script(initialised, initialised.env)  # the recovery step: the idempotent script
        assert code == 0, output
    assert run_check_job(initialised.cluster, tmp_path / "again").returncode == 0


def test_an_interrupted_first_start_comes_up_without_databases_and_the_check_says_so(
    pg_cluster_factory: Callable[[], PgCluster], tmp_path: Path
) -> None:
    """The init script stopped after the roles (the container killed mid-way): PG_VERSION exists, so
    the next start never runs it again (docker-entrypoint.sh: DATABASE_ALREADY_EXISTS)."""
    objects = render("dev")
    statefulset = find(objects, "StatefulSet", "postgres")
    postgres = container(statefulset, "postgres")
    configmap = find(objects, "ConfigMap", "postgres-init")
    cluster = pg_cluster_factory()
    initdb_dir = cluster.root / "docker-entrypoint-initdb.d"
    initdb_dir.mkdir()
    [(name, text)] = configmap["data"].items()
    cut = text.index('echo "init-databases: databases"')
    script = initdb_dir / name
    script.write_text(
        text[:cut] + 'echo "init-databases: (the container was stopped here)"\n', encoding="utf-8"
    )
    script.chmod(0o555)
    done = run_entrypoint_init(cluster, initdb_dir, container_env(postgres, PASSWORDS), SERVER_SETTINGS)
    assert done.returncode == 0, done.stderr
    cluster.start(SERVER_SETTINGS)
    assert (cluster.data / "PG_VERSION").exists()

    check = run_check_job(cluster, tmp_path / "verify")
    assert check.returncode != 0
    assert (
        "PostgreSQL is not fully initialised: missing database account_db owned by account_service, database "
        "messaging_db owned by messaging_service, database property_db owned by property_service"
    ) in check.stderr
