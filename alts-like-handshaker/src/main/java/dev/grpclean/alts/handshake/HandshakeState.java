package dev.grpclean.alts.handshake;

/**
 * Where a handshake is. Transitions, each on one event:
 *
 * <pre>
 *   client: START --start()--> AWAIT_SERVER_INIT --ServerInit--> DONE (ClientFinished sent)
 *   server: START --start()--> AWAIT_CLIENT_INIT --ClientInit--> AWAIT_CLIENT_FINISHED
 *                                                  --ClientFinished--> DONE
 *   any state except DONE --failure--> FAILED;  any state --close()--> CLOSED
 * </pre>
 *
 * <p>Thread-safe (immutable).
 */
enum HandshakeState {
  START,
  AWAIT_SERVER_INIT,
  AWAIT_CLIENT_INIT,
  AWAIT_CLIENT_FINISHED,
  DONE,
  FAILED,
  CLOSED;

  /** The state after this one's expected message (or, from START, after start()). */
  static HandshakeState next(HandshakeState state, boolean client) {
    switch (state) {
      case START:
        return client ? AWAIT_SERVER_INIT : AWAIT_CLIENT_INIT;
      case AWAIT_SERVER_INIT:
      case AWAIT_CLIENT_FINISHED:
        return DONE;
      case AWAIT_CLIENT_INIT:
        return AWAIT_CLIENT_FINISHED;
      default:
        throw new IllegalStateException("no transition from " + state);
    }
  }

  boolean awaitsMessage() {
    return this == AWAIT_SERVER_INIT || this == AWAIT_CLIENT_INIT || this == AWAIT_CLIENT_FINISHED;
  }
}
