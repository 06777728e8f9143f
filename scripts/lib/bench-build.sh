# Sourced by scripts/bench and scripts/jmh: builds the bench module (and what it depends on)
# without running tests, and computes its runtime class path once per change of bench/pom.xml or
# of the Maven options that choose the local repository (MAVEN_OPTS, GRPCLEAN_MVN_OPTS).
# shellcheck shell=bash
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# bench_build: builds, then sets BENCH_CLASSPATH (bench/target/classes and its runtime class path).
bench_build() {
  # Tests are compiled and packaged but not run: the benchmarks need main classes only, but
  # alts-like-handshaker's test scope needs grpc-lean-transport's test jar, which
  # -Dmaven.test.skip=true would not build (on a fresh local repository Maven then fails to
  # resolve it).
  grpclean_quietly grpclean_mvn -q install -DskipTests -pl bench -am
  local cp_file="$GRPCLEAN_ROOT/bench/target/runtime-classpath.txt"
  # The Maven options that choose the local repository: a class path computed under other ones
  # points into another repository (whose jars exist, but hold another tree's build).
  local key_file="$cp_file.key" key="MAVEN_OPTS=${MAVEN_OPTS:-} GRPCLEAN_MVN_OPTS=${GRPCLEAN_MVN_OPTS:-}"
  if [[ ! -s $cp_file || $GRPCLEAN_ROOT/bench/pom.xml -nt $cp_file ]] \
      || [[ "$(cat "$key_file" 2>/dev/null)" != "$key" ]] \
      || ! bench_classpath_present "$cp_file"; then
    grpclean_quietly grpclean_mvn -q dependency:build-classpath -pl bench \
      -Dmdep.includeScope=runtime -Dmdep.outputFile="$cp_file"
    printf '%s' "$key" >"$key_file"
  fi
  BENCH_CLASSPATH="$GRPCLEAN_ROOT/bench/target/classes:$(cat "$cp_file")"
}

# bench_classpath_present FILE: whether every jar FILE lists exists, so a class path computed
# against another local repository (a different -Dmaven.repo.local) is computed again.
bench_classpath_present() {
  local entry entries
  IFS=: read -r -a entries <"$1"
  for entry in "${entries[@]}"; do
    [[ -e $entry ]] || return 1
  done
}
