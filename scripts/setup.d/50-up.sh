# What `npm start` (pocketbench up) needs beyond the npm dependencies: a redis-server when
# REDIS_URL is unset (up starts it on 127.0.0.1:6379 if none answers there). The embedded
# Postgres (PGlite) is an npm dependency and needs nothing from Debian.
if [ "$POCKETBENCH_SETUP_FOR" = "start" ] || [ "$POCKETBENCH_SETUP_FOR" = "all" ]; then
  if [ -z "${REDIS_URL:-}" ] && ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
    command -v redis-server >/dev/null || need_apt redis-server
  fi
  mkdir -p "$POCKETBENCH_DATA_DIR/logs"
fi
