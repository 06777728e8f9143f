# Sourced by the scripts that start Java servers and clients in the background: start a server
# and read the port it chose, and stop what a script started with one policy (SIGTERM, a bounded
# wait, then SIGKILL), so a JVM stuck in its shutdown hooks never outlives the script.
# shellcheck shell=bash

# Seconds a process gets between SIGTERM and SIGKILL when a script stops what it started.
: "${GRPCLEAN_STOP_GRACE_SECS:=10}"

# grpclean_start_server PID_VAR LOG CMD ARGS...: runs CMD ARGS (e.g. interop_java MAIN --port=0)
# in the background with its output in LOG, and stores its pid in the variable named PID_VAR.
# CMD must exec the JVM (interop_java does), so the pid is the JVM's.
grpclean_start_server() {
  local pid_var="$1" log="$2"
  shift 2
  "$@" > "$log" 2>&1 &
  printf -v "$pid_var" '%s' "$!"
}

# grpclean_await_port PID LOG [SECONDS]: waits for LOG to say "Server started on port N" (what
# every Java server of this project prints once it listens) and prints N. Returns 1 if PID exited
# first (not reaped: `wait PID` still gives its exit status), 2 if SECONDS (default 90) passed.
grpclean_await_port() {
  local pid="$1" log="$2" seconds="${3:-90}" port
  local deadline=$((SECONDS + seconds))
  while true; do
    port="$(awk '/^Server started on port/ {print $5; exit}' "$log" 2>/dev/null)"
    if [[ -n "$port" ]]; then
      echo "$port"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    ((SECONDS < deadline)) || return 2
    sleep 0.2
  done
}

# grpclean_terminate PID SECONDS: sends SIGTERM and waits up to SECONDS for PID to exit. Returns 0
# once it has exited (and is reaped), 1 if it still runs (it is then left running).
grpclean_terminate() {
  local pid="$1" seconds="$2" i
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < seconds * 5; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    return 1
  fi
  wait "$pid" 2>/dev/null || true
  return 0
}

# grpclean_stop PID...: stops what a script started: SIGTERM to all at once, then for each up to
# GRPCLEAN_STOP_GRACE_SECS to exit, then SIGKILL; reaps them. Empty arguments are skipped, so
# `grpclean_stop "$client_pid" "$server_pid"` works whether or not each was started.
grpclean_stop() {
  local pid pids=() deadline
  for pid in "$@"; do
    [[ -n "$pid" ]] && pids+=("$pid")
  done
  ((${#pids[@]} > 0)) || return 0
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  deadline=$((SECONDS + GRPCLEAN_STOP_GRACE_SECS))
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
