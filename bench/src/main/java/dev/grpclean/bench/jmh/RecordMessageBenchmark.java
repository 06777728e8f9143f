package dev.grpclean.bench.jmh;

import java.util.Random;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What the record-layer send benchmarks share: a {@link RecordPipe} per trial in the
 * {@code security} mode, and one message of {@link #messageBytes()} random bytes. A subclass
 * declares the {@code messageBytes} parameter (its own default size), the mode and the
 * benchmark.
 */
@State(Scope.Thread)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public abstract class RecordMessageBenchmark {
  @Param({"alts_rekey", "plain"})
  public String security;

  RecordPipe pipe;
  byte[] message;

  /** The message size, the subclass's {@code messageBytes} parameter. */
  abstract int messageBytes();

  /** Seed of the message's random bytes. */
  abstract long seed();

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    pipe = new RecordPipe(security);
    message = new byte[messageBytes()];
    new Random(seed()).nextBytes(message);
  }

  @TearDown(Level.Trial)
  public void tearDown() throws Exception {
    pipe.close();
  }
}
