#!/usr/bin/env bash
# Install Debian's Chromium for the website's browser tests, where we can (root + apt).
# Elsewhere it only says what to do: the browser tests then report themselves skipped.
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Chromium for the browser tests (apt-get)..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "could not install chromium: the browser tests will be skipped"
else
  echo "note: no chromium found; install it (e.g. 'sudo apt-get install chromium') to run the browser tests"
fi
