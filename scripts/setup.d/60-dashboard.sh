# Browser tests of the dashboard drive Debian's headless Chromium (/usr/bin/chromium) through
# playwright-core; playwright's own browser download is not used (no downloads here).
if [ "$POCKETBENCH_SETUP_FOR" != "start" ]; then
  need_apt chromium fonts-dejavu-core
fi
