# Sourced by the interop scripts. Builds interop-tests (and what it depends on) when its sources
# or poms changed since the last build, computes its runtime classpath once, and defines
# interop_java CLASS ARGS... to run one of its mains.
# shellcheck shell=bash
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# shellcheck source=processes.sh
source "$(dirname "${BASH_SOURCE[0]}")/processes.sh"

INTEROP_ROOT="$GRPCLEAN_ROOT"
INTEROP_TARGET="$INTEROP_ROOT/interop-tests/target"
INTEROP_STAMP="$INTEROP_TARGET/interop-build.stamp"
INTEROP_CP_FILE="$INTEROP_TARGET/interop-classpath.txt"
# 1 GiB: very_large_request sends 10 MiB and AbstractInteropTest skips its large cases when less
# than 64 MiB is free; the server accepts 16 MiB messages.
: "${INTEROP_JAVA_OPTS:=-Xmx1g}"
# Extra Maven options for the build: GRPCLEAN_MVN_OPTS (common.sh), e.g. -o on a machine whose
# ~/.m2 is populated; INTEROP_MVN_OPTS, the older name, still works.
grpclean_mvn_opts_alias INTEROP_MVN_OPTS

interop_needs_build() {
  [[ -f "$INTEROP_STAMP" && -f "$INTEROP_CP_FILE" ]] || return 0
  local changed
  changed="$(find "$INTEROP_ROOT/pom.xml" "$INTEROP_ROOT"/*/pom.xml \
      "$INTEROP_ROOT/grpc-lean-transport/src/main" "$INTEROP_ROOT/alts-like-handshaker" \
      "$INTEROP_ROOT/interop-tests/src/main" \
      -path '*/target' -prune -o -type f -newer "$INTEROP_STAMP" -print -quit 2>/dev/null)"
  [[ -n "$changed" ]]
}

interop_build() {
  if interop_needs_build; then
    echo "building interop-tests..." >&2
    mkdir -p "$INTEROP_TARGET"
    local log="$INTEROP_TARGET/interop-build.log"
    # Stamped with the build's start, so a source edited during the build triggers the next one.
    touch "$INTEROP_STAMP.new"
    if ! (grpclean_mvn -q install -DskipTests -pl interop-tests -am \
        && grpclean_mvn -q dependency:build-classpath -pl interop-tests \
            -Dmdep.includeScope=runtime -Dmdep.excludeClassifiers=tests \
            -Dmdep.outputFile="$INTEROP_CP_FILE") > "$log" 2>&1; then
      cat "$log" >&2
      echo "interop-tests build failed; log: $log" >&2
      exit 1
    fi
    mv "$INTEROP_STAMP.new" "$INTEROP_STAMP"
  fi
  INTEROP_CLASSPATH="$INTEROP_TARGET/classes:$(interop_local_modules "$(cat "$INTEROP_CP_FILE")")"
}

# The classpath with this tree's own modules (dev/grpclean/<module>/<version>/<module>-<version>.jar
# and its -tests.jar in the local repository) replaced by their target/classes and
# target/test-classes: the repository is shared by every checkout on the machine, so another
# checkout's `mvn install` must not change what runs here.
interop_local_modules() {
  local entry module out=()
  local IFS=:
  for entry in $1; do
    module="${entry%/*/*}"
    module="${module##*/}"
    if [[ "$entry" == */dev/grpclean/"$module"/*/"$module"-*-tests.jar ]]; then
      [[ -d "$INTEROP_ROOT/$module/target/test-classes" ]] \
        && entry="$INTEROP_ROOT/$module/target/test-classes"
    elif [[ "$entry" == */dev/grpclean/"$module"/*/"$module"-*.jar ]]; then
      [[ -d "$INTEROP_ROOT/$module/target/classes" ]] \
        && entry="$INTEROP_ROOT/$module/target/classes"
    fi
    out+=("$entry")
  done
  echo "${out[*]}"
}

# Replaces the current (sub)shell with a JVM running a main of interop-tests: call it backgrounded
# (`interop_java ... &`, so $! is the JVM's pid) or in a subshell (`(interop_java ...)`).
interop_java() {
  local main="$1"
  shift
  # shellcheck disable=SC2086 # INTEROP_JAVA_OPTS is a list of JVM options.
  exec java $INTEROP_JAVA_OPTS -cp "$INTEROP_CLASSPATH" "$main" "$@"
}
