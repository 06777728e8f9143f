# junit_totals FILE...: prints "run failed skipped" over Surefire's XML reports. A case counts as
# failed when its <failure> or <error> stands in the report; a case that failed and then passed
# on a rerun (rerunFailingTestsCount) carries only <flakyFailure>/<flakyError> and counts as
# passed, although Surefire's testsuite attributes count it among the errors.
junit_totals() {
  local run skipped failed
  read -r run skipped < <(
    cat "$@" 2>/dev/null \
      | grep -o '<testsuite [^>]*>' \
      | awk '{
          match($0, / tests="[0-9]+"/); t = substr($0, RSTART + 8, RLENGTH - 9);
          match($0, / skipped="[0-9]+"/); s = substr($0, RSTART + 10, RLENGTH - 11);
          run += t; skipped += s
        } END { print run + 0, skipped + 0 }')
  failed="$( (cat "$@" 2>/dev/null | grep -Eo '<(failure|error)[ >/]' || true) | wc -l)"
  echo "$run $failed $skipped"
}
