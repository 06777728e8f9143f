package dev.grpclean.transport;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.grpc.internal.KeepAliveEnforcer;
import java.util.concurrent.Callable;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A server connection's keepalive, both ways: the PINGs it sends, and the policing of the peer's
 * PINGs (grpc-core's {@code KeepAliveEnforcer} rules, {@link #pingAcceptable}), in one object
 * because every idle connection carries both (grpc-core's two objects and their helpers took
 * about 0.35 KiB per connection with the pending timer task; this one 0.15 KiB).
 *
 * <p>Sending: the transitions of grpc-core's {@code KeepAliveManager} with
 * {@code keepAliveDuringTransportIdle} (a server pings whether or not calls are open) in a
 * smaller form, because every idle connection carries one. grpc-core's manager keeps a stopwatch,
 * two wrapped runnables, their anonymous classes and a pinger object beside its own fields, and
 * its pending timer task holds an adapter (about 0.3 KiB per connection with the task); this one
 * is its own fields plus the pending task and one small {@link Fire} token (about 0.13 KiB).
 *
 * <p>States and transitions (grpc-core's names):
 * <ul>
 *   <li>{@code PING_SCHEDULED}: a ping task is pending. Bytes read: {@code PING_DELAYED}. The task
 *       fires: ping sent, a timeout task pending, {@code PING_SENT}.
 *   <li>{@code PING_DELAYED}: the pending ping task fires: it is scheduled again for
 *       keepalive-time after the last read, {@code PING_SCHEDULED}.
 *   <li>{@code PING_SENT}: bytes read (the ack, or anything else): the timeout is cancelled, a ping
 *       task pending in keepalive-time, {@code PING_SCHEDULED}. The timeout fires: {@code
 *       DISCONNECTED}, the transport is shut down.
 *   <li>{@code DISCONNECTED}: terminal; {@link #stop} cancels what is pending.
 * </ul>
 * At most one task is pending at a time. Each scheduled task carries the sequence number it was
 * scheduled under, and a task whose number is no longer current does nothing: a timeout cancelled
 * while it was already starting cannot close a connection that just proved alive (grpc-core's
 * manager has that race).
 *
 * <p>Sending is off (never started, {@code DISCONNECTED}) when the server's keepalive time is.
 *
 * <p>Policing: a PING is acceptable if the last acceptable one is at least the permitted time
 * ago (at most {@link KeepAliveEnforcer#IMPLICIT_PERMIT_TIME_NANOS}, which also applies while no
 * call is open unless calls are not required); the third unacceptable one since the last
 * acceptable one is refused. Sending DATA or HEADERS resets the count and the time (to the
 * connection's start), as grpc-core's enforcer does.
 *
 * <p>Thread-safe: {@link #onDataReceived} runs on the connection's loop thread, the tasks on the
 * timer thread; both under this object's monitor. {@link Owner} methods are called without it.
 * The policing methods and fields are confined to the loop thread.
 */
final class ServerKeepAlive {
  private static final Logger log = Logger.getLogger(ServerKeepAlive.class.getName());

  /**
   * The transport keepalive serves: its settings and clock (read from it rather than copied into
   * every connection's keepalive), and what keepalive asks of it. {@link #ping} and {@link
   * #onPingTimeout} are called on the timer thread with no lock held.
   */
  interface Owner {
    /** Send a keepalive PING now (hand it to the connection's loop). */
    void ping();

    /** No bytes came back within the timeout after a ping: the connection is dead. */
    void onPingTimeout();

    ScheduledExecutorService keepAliveScheduler();

    /** Nanoseconds without reads before a PING. */
    long keepAliveTimeNanos();

    /** Nanoseconds to wait for any bytes after a PING. */
    long keepAliveTimeoutNanos();

    /** The clock, {@link System#nanoTime} but in tests. */
    long nanoTime();

    /** Whether the peer may ping while no call is open. */
    boolean permitKeepAliveWithoutCalls();

    /** The shortest interval the peer's PINGs may keep. */
    long permitKeepAliveTimeNanos();
  }

  /** The states; see the class note for the transitions. */
  private static final byte PING_SCHEDULED = 0;
  private static final byte PING_DELAYED = 1;
  private static final byte PING_SENT = 2;
  private static final byte DISCONNECTED = 3;

  private final Owner owner;

  @GuardedBy("this")
  private byte state = DISCONNECTED;
  /** {@link Owner#nanoTime} at the last read (or at start). */
  @GuardedBy("this")
  private long lastReadNanos;
  /** Number of the task pending now; a task with another number is stale and does nothing. */
  @GuardedBy("this")
  private int seq;
  @GuardedBy("this")
  @javax.annotation.Nullable
  private ScheduledFuture<?> pending;

  // Policing; loop thread.
  /** {@link Owner#nanoTime} when made: what the time of the last acceptable PING starts at. */
  private final long epochNanos;
  private long lastValidPingNanos;
  private int pingStrikes;
  private boolean callsOpen;

  ServerKeepAlive(Owner owner) {
    this.owner = owner;
    this.epochNanos = owner.nanoTime();
    this.lastValidPingNanos = epochNanos;
  }

  /** The transport started and keepalive is on: the first ping is due keepalive-time from now. */
  synchronized void start() {
    lastReadNanos = owner.nanoTime();
    state = PING_SCHEDULED;
    schedule(owner.keepAliveTimeNanos());
  }

  /** Bytes came in on the socket; loop thread. */
  synchronized void onDataReceived() {
    if (state == DISCONNECTED) {
      return;
    }
    lastReadNanos = owner.nanoTime();
    if (state == PING_SCHEDULED) {
      state = PING_DELAYED;
    } else if (state == PING_SENT) {
      cancelPending();
      state = PING_SCHEDULED;
      schedule(owner.keepAliveTimeNanos());
    }
  }

  /** The transport terminated: nothing more is sent or timed. */
  synchronized void stop() {
    if (state != DISCONNECTED) {
      state = DISCONNECTED;
      cancelPending();
    }
  }

  /** The pending task fired (timer thread). */
  private void fire(int firedSeq) {
    boolean ping = false;
    boolean timedOut = false;
    synchronized (this) {
      if (firedSeq != seq || pending == null) {
        return;
      }
      pending = null;
      if (state == PING_SCHEDULED) {
        state = PING_SENT;
        schedule(owner.keepAliveTimeoutNanos());
        ping = true;
      } else if (state == PING_DELAYED) {
        state = PING_SCHEDULED;
        schedule(owner.keepAliveTimeNanos() - (owner.nanoTime() - lastReadNanos));
      } else if (state == PING_SENT) {
        state = DISCONNECTED;
        timedOut = true;
      }
    }
    if (ping) {
      owner.ping();
    } else if (timedOut) {
      owner.onPingTimeout();
    }
  }

  @GuardedBy("this")
  private void schedule(long delayNanos) {
    int n = ++seq;
    try {
      pending = owner.keepAliveScheduler().schedule(new Fire(this, n), delayNanos,
          TimeUnit.NANOSECONDS);
    } catch (RejectedExecutionException e) {
      // The timer service was shut down with the server: nothing left to keep alive.
      pending = null;
      state = DISCONNECTED;
    }
  }

  @GuardedBy("this")
  private void cancelPending() {
    seq++;
    if (pending != null) {
      pending.cancel(false);
      pending = null;
    }
  }

  /** The peer sent a PING: whether to answer it rather than close (too many pings). */
  boolean pingAcceptable() {
    long now = owner.nanoTime();
    long minNanos = Math.min(owner.permitKeepAliveTimeNanos(),
        KeepAliveEnforcer.IMPLICIT_PERMIT_TIME_NANOS);
    long interval = !callsOpen && !owner.permitKeepAliveWithoutCalls()
        ? KeepAliveEnforcer.IMPLICIT_PERMIT_TIME_NANOS : minNanos;
    if (lastValidPingNanos + interval - now <= 0) {
      lastValidPingNanos = now;
      return true;
    }
    pingStrikes++;
    return pingStrikes <= KeepAliveEnforcer.MAX_PING_STRIKES;
  }

  /** We sent DATA or HEADERS: the peer's pings start over. */
  void resetPingStrikes() {
    lastValidPingNanos = epochNanos;
    pingStrikes = 0;
  }

  /** The first call opened. */
  void onCallsOpen() {
    callsOpen = true;
  }

  /** The last call ended. */
  void onCallsIdle() {
    callsOpen = false;
  }

  /** State name (tests). */
  synchronized String state() {
    switch (state) {
      case PING_SCHEDULED:
        return "PING_SCHEDULED";
      case PING_DELAYED:
        return "PING_DELAYED";
      case PING_SENT:
        return "PING_SENT";
      default:
        return "DISCONNECTED";
    }
  }

  /**
   * The pending task: a {@link Callable} so the timer does not wrap it in an adapter. Logs what
   * the pinger throws (as grpc-core's wrapper does) and rethrows it.
   */
  private static final class Fire implements Callable<Void> {
    private final ServerKeepAlive keepAlive;
    private final int seq;

    Fire(ServerKeepAlive keepAlive, int seq) {
      this.keepAlive = keepAlive;
      this.seq = seq;
    }

    @Override
    public Void call() {
      try {
        keepAlive.fire(seq);
      } catch (RuntimeException | Error e) {
        log.log(Level.SEVERE, "keepalive task failed", e);
        throw e;
      }
      return null;
    }
  }
}
