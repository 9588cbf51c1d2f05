# Postgres and Redis for the test suite: they must answer on 127.0.0.1 (DESIGN.md, "The machine").
if [ "$POCKETBENCH_SETUP_FOR" = "test" ]; then
  if ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
    if command -v pg_ctlcluster >/dev/null; then
      say "starting PostgreSQL"
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    fi
    (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null || die "PostgreSQL is not answering on 127.0.0.1:5432; the tests need it (set POCKETBENCH_TEST_DATABASE_URL to use another server)."
  fi
  if [ -z "${POCKETBENCH_TEST_REDIS_URL:-}" ] && ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
    need_apt redis-server
    say "starting redis-server on 127.0.0.1:6379"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
    sleep 0.5
  fi
fi
