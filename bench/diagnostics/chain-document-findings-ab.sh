#!/usr/bin/env bash
# What the findings part of the chain document statement costs PostgreSQL: pgbench runs the service's exact
# statement (A) and the same statement with its two findings subqueries replaced by NULL (B), in alternating
# rounds over random chains of a kept bench database, and prints the per-round throughput ratios A/B as JSON.
#
#   BENCH_KEEP_DATA_DIR=/tmp/qdb BENCH_QUERY_EVENTS=100000 npm run bench:query   # leaves a seeded cluster
#   pg_ctl -D /tmp/qdb/postgres -o '-p 55432 -k /tmp' start                       # as the cluster's owner
#   npm run build && bench/diagnostics/chain-document-findings-ab.sh /tmp/qdb 55432 > .bench/NAME.json
set -euo pipefail
data_dir=$1 port=$2 rounds=${ROUNDS:-7} seconds=${SECONDS_PER_ROUND:-5}
export PGPASSWORD=$(cat "$data_dir/postgres.password")
work=$(mktemp -d)
psql=(psql -h /tmp -p "$port" -U postgres -d jartrail -qAt)

# The statement as the service prepares it (dist/ must be built), with its parameter as a pgbench variable and the
# colons of its time format quoted so pgbench does not read them as variables.
node -e '
  const { ChainsRepository } = require("./dist/src/chains/chains.repository.js");
  const repository = new ChainsRepository({ query: async () => [], driver: { master: {} } });
  repository.statements = { run: async (statement) => { process.stdout.write(statement.text); return [{ targets: [], digest: null }]; } };
  repository.loadChainDocument("x");
' | tr '\n' ' ' | sed -e 's/\$1/:digest/g' -e 's/HH24:MI:SS/HH24"":""MI"":""SS/g' > "$work/statement.sql"
grep -q 'FROM findings f WHERE f.chain_digest = c.digest' "$work/statement.sql"
sed -E -e 's/\(SELECT json_agg\(f ORDER BY f.status, f.id\) FROM \(SELECT [^)]*FROM findings f WHERE f.chain_digest = c.digest\) f\) AS findings/NULL::json AS findings/' \
  -e 's/EXISTS \(SELECT 1 FROM finding_checks fc WHERE fc.subject = c.digest\) AS findings_due/NULL::boolean AS findings_due/' \
  "$work/statement.sql" > "$work/without-findings.sql"
if grep -qE "FROM findings|finding_checks" "$work/without-findings.sql"; then echo "the findings subqueries were not found in the statement" >&2; exit 1; fi

"${psql[@]}" -c "DROP TABLE IF EXISTS bench_digests; CREATE TABLE bench_digests AS SELECT row_number() OVER () AS n, digest FROM chains; CREATE UNIQUE INDEX ON bench_digests (n); ANALYZE bench_digests"
chains=$("${psql[@]}" -c "SELECT count(*) FROM bench_digests")
for variant in statement without-findings; do
  printf '\\set r random(1, %s)\nSELECT digest FROM bench_digests WHERE n = :r \\gset\n%s;\n' "$chains" "$(cat "$work/$variant.sql")" > "$work/$variant.pgb"
done

tps() { pgbench -h /tmp -p "$port" -U postgres -n -M prepared -c "$1" -j "$(( $1 > 1 ? 2 : 1 ))" -T "$seconds" -f "$work/$2.pgb" jartrail 2>&1 | sed -n 's/^tps = \([0-9.]*\).*/\1/p'; }
echo "{\"benchmark\":\"chain-document-findings-ab\",\"at\":\"$(date -u +%FT%TZ)\",\"revision\":\"$(git rev-parse --short HEAD)\",\"chains\":$chains,\"secondsPerRound\":$seconds,\"ratio\":\"tps with findings / tps without, per round, alternating which runs first\",\"runs\":["
first=1
for clients in 1 8; do
  for round in $(seq 1 "$rounds"); do
    if (( round % 2 )); then a=$(tps "$clients" statement); b=$(tps "$clients" without-findings); else b=$(tps "$clients" without-findings); a=$(tps "$clients" statement); fi
    (( first )) || echo ","; first=0
    echo "{\"clients\":$clients,\"round\":$round,\"withFindingsTps\":$a,\"withoutFindingsTps\":$b,\"ratio\":$(python3 -c "print(round($a/$b,3))"),\"load1\":$(cut -d' ' -f1 /proc/loadavg)}"
  done
done
echo "]}"
rm -rf "$work"
