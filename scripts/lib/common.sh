# Sourced by the scripts: the repository root, the Maven options every script passes, the
# project's version as the pom says it, and quiet builds.
# shellcheck shell=bash

GRPCLEAN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# GRPCLEAN_MVN_OPTS: extra options for every Maven run a script makes (e.g. -o on a machine whose
# local repository is populated). The older per-script names still work: a script that had one
# calls grpclean_mvn_opts_alias with it, which appends that variable's options.
: "${GRPCLEAN_MVN_OPTS:=}"

# grpclean_mvn_opts_alias NAME: appends the options in variable NAME (e.g. FUZZ_MVN_OPTS) to
# GRPCLEAN_MVN_OPTS, so the name a script documented before keeps working.
grpclean_mvn_opts_alias() {
  local name="$1"
  if [[ -n "${!name:-}" ]]; then
    GRPCLEAN_MVN_OPTS="${GRPCLEAN_MVN_OPTS:+$GRPCLEAN_MVN_OPTS }${!name}"
  fi
}

# grpclean_mvn ARGS...: Maven in batch mode with GRPCLEAN_MVN_OPTS, from the repository root.
grpclean_mvn() {
  # shellcheck disable=SC2086 # GRPCLEAN_MVN_OPTS is a list of options.
  (cd "$GRPCLEAN_ROOT" && mvn -B $GRPCLEAN_MVN_OPTS "$@")
}

# grpclean_quietly CMD...: runs CMD with its output in a temporary log, shown only if CMD fails,
# in which case the script exits 1.
grpclean_quietly() {
  local log
  log="$(mktemp)"
  if "$@" >"$log" 2>&1; then
    rm -f "$log"
  else
    cat "$log" >&2
    rm -f "$log"
    exit 1
  fi
}

# grpclean_version: the project's version, read from the root pom (the parent's <version>, the
# first one after its artifactId), so no script hard-codes it.
grpclean_version() {
  local version
  version="$(awk '/<artifactId>grpc-lean-parent<\/artifactId>/ { found = 1; next }
      found && /<version>/ { sub(/.*<version>/, ""); sub(/<\/version>.*/, ""); print; exit }' \
      "$GRPCLEAN_ROOT/pom.xml")"
  if [[ -z "$version" ]]; then
    echo "cannot read the project version from $GRPCLEAN_ROOT/pom.xml" >&2
    return 1
  fi
  echo "$version"
}
