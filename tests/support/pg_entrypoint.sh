#!/usr/bin/env bash
# What the postgres image's docker-entrypoint.sh does on FIRST start (empty data directory),
# for tests: run the files of /docker-entrypoint-initdb.d against a real server the same way.
#
#   1. initdb as POSTGRES_USER with POSTGRES_PASSWORD (from a pipe) and POSTGRES_INITDB_ARGS
#   2. pg_hba.conf: append "host all all all <password_encryption>"
#   3. start a temporary server listening on the Unix socket only, PGPASSWORD exported
#   4. create POSTGRES_DB unless it exists
#   5. each file in the init directory, in glob order: *.sh executed when executable, else
#      sourced (with the image's docker_process_sql and psql=(docker_process_sql) available);
#      *.sql run with docker_process_sql; anything else ignored
#   6. stop the temporary server (fast)
#
# Inputs (environment): the container's variables, PGDATA, PGHOST (socket directory), PGPORT,
# and GITOPS_TEST_INITDB_DIR (the init directory), GITOPS_TEST_SERVER_LOG,
# GITOPS_TEST_SERVER_OPTIONS (extra `postgres` options, e.g. -c log_statement=all).
set -Eeo pipefail

: "${POSTGRES_PASSWORD:?}" "${GITOPS_TEST_INITDB_DIR:?}" "${GITOPS_TEST_SERVER_LOG:?}"
export POSTGRES_USER="${POSTGRES_USER:-postgres}"
export POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
export POSTGRES_INITDB_ARGS="${POSTGRES_INITDB_ARGS:-}"

# Same client options as the image's docker_process_sql.
docker_process_sql() {
	local query_runner=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
	if [ -n "$POSTGRES_DB" ]; then
		query_runner+=(--dbname "$POSTGRES_DB")
	fi
	"${query_runner[@]}" "$@"
}

# 1. initdb; POSTGRES_INITDB_ARGS is word-split like the image's eval does.
# shellcheck disable=SC2086
initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") $POSTGRES_INITDB_ARGS >/dev/null

# 2. remote connections need the configured password encryption
auth=$(postgres -C password_encryption)
printf '\nhost all all all %s\n' "$auth" >> "$PGDATA/pg_hba.conf"

# 3. temporary server: no TCP
export PGPASSWORD="$POSTGRES_PASSWORD"
pg_ctl -D "$PGDATA" -l "$GITOPS_TEST_SERVER_LOG" \
	-o "-c listen_addresses='' -p $PGPORT ${GITOPS_TEST_SERVER_OPTIONS:-}" -w start >/dev/null

# 4. POSTGRES_DB (asked in the postgres database: POSTGRES_DB may not exist yet)
database=$POSTGRES_DB
exists=$(POSTGRES_DB='' docker_process_sql --dbname postgres --set db="$database" --tuples-only <<-'EOSQL'
	SELECT 1 FROM pg_database WHERE datname = :'db' ;
EOSQL
)
if [ -z "$exists" ]; then
	POSTGRES_DB='' docker_process_sql --dbname postgres --set db="$database" <<-'EOSQL'
		CREATE DATABASE :"db" ;
	EOSQL
fi

# 5. init files
# shellcheck disable=SC2034  # for sourced scripts, as in the image
psql=(docker_process_sql)
for f in "$GITOPS_TEST_INITDB_DIR"/*; do
	case "$f" in
		*.sh)
			if [ -x "$f" ]; then
				echo "pg_entrypoint: running $f"
				"$f"
			else
				echo "pg_entrypoint: sourcing $f"
				# shellcheck disable=SC1090
				. "$f"
			fi
			;;
		*.sql) echo "pg_entrypoint: running $f"; docker_process_sql -f "$f" ;;
		*) echo "pg_entrypoint: ignoring $f" ;;
	esac
done

# 6. stop
pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
unset PGPASSWORD
echo "pg_entrypoint: init process complete"
