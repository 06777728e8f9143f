# Sourced by scripts/bench and scripts/jmh: builds the bench module (and what it depends on) with
# its main classes only, and computes its runtime class path once per change of bench/pom.xml.
# shellcheck shell=bash
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# bench_build: builds, then sets BENCH_CLASSPATH (bench/target/classes and its runtime class path).
bench_build() {
  # Test sources are not compiled: the benchmarks need main classes only.
  grpclean_quietly grpclean_mvn -q install -Dmaven.test.skip=true -pl bench -am
  local cp_file="$GRPCLEAN_ROOT/bench/target/runtime-classpath.txt"
  if [[ ! -s $cp_file || $GRPCLEAN_ROOT/bench/pom.xml -nt $cp_file ]]; then
    grpclean_quietly grpclean_mvn -q dependency:build-classpath -pl bench \
      -Dmdep.includeScope=runtime -Dmdep.outputFile="$cp_file"
  fi
  BENCH_CLASSPATH="$GRPCLEAN_ROOT/bench/target/classes:$(cat "$cp_file")"
}
