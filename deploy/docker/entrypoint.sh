#!/bin/sh
# Runs one Canopy process by name, from the repository root (/app in the image).
# Settings come from CANOPY_* environment variables (`canopy config` lists them).
# Node flags belong in NODE_OPTIONS, e.g. NODE_OPTIONS=--max-semi-space-size=32 for
# the collector and workers (the manifests set it).
set -e
cd "$(dirname "$0")/../.."
command="${1:-help}"
[ "$#" -gt 0 ] && shift
case "$command" in
  collector) exec node collector/dist/main.js "$@" ;;
  workers) exec node workers/dist/main.js "$@" ;;
  query-api) exec node query-api/dist/main.js "$@" ;;
  migrate) exec node deploy/dist/cli.js migrate "$@" ;;
  canopy) exec node deploy/dist/cli.js "$@" ;;
  help | --help | -h)
    echo "usage: <image> collector | workers | query-api | migrate | canopy <args…>"
    ;;
  *)
    echo "unknown command: $command (expected collector, workers, query-api, migrate or canopy)" >&2
    exit 64
    ;;
esac
