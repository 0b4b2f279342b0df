#!/bin/sh
# Creates (or upgrades) Temporal's two PostgreSQL databases, and creates the (empty) database
# of the case record store, whose schema the worker applies (`escalate db upgrade`);
# safe to run on every start.
set -eu
tool() { temporal-sql-tool --plugin postgres12 --ep postgresql -u temporal -p 5432 "$@"; }
for db in temporal temporal_visibility; do
  schema=$([ "$db" = temporal ] && echo temporal || echo visibility)
  tool --db "$db" create || true  # already there on a restart
  tool --db "$db" setup-schema -v 0.0 || true
  tool --db "$db" update-schema -d "/etc/temporal/schema/postgresql/v12/$schema/versioned"
done
tool --db escalations create || true  # the case record store; already there on a restart
echo "PostgreSQL schema ready"
