package dev.grpclean.transport;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * A fake socket for {@link LoopyWriter}: records every byte written and every call, and can be
 * told to accept only so many more bytes, like a socket whose send buffer fills up.
 *
 * <p>Not thread-safe; confined to the test thread.
 */
final class RecordingOutput implements LoopyWriter.Output {
  private final ByteArrayOutputStream written = new ByteArrayOutputStream();
  /** Bytes the next writes may still take; unlimited by default. */
  private long acceptBytes = Long.MAX_VALUE;
  private int parsedUpTo;

  int writeCalls;
  /** Whether it offers gathering writes (a plaintext socket); off by default. */
  boolean gathering;
  /** Gathering writes so far (also counted in {@link #writeCalls}). */
  int gatherCalls;
  /** Every buffer a gathering write was given, by identity. */
  private final java.util.Set<ByteBuffer> gatheredBuffers =
      java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
  /** Largest number of buffers one gathering write was given. */
  int maxGatherBuffers;
  /** Thrown by the next write of either kind, then cleared. */
  java.io.IOException failNextWrite;
  boolean writeInterest;
  final List<Boolean> interestChanges = new ArrayList<>();
  final List<Integer> failedHeaders = new ArrayList<>();
  int streamFramesWritten;

  /** From now on the socket takes only {@code bytes} more, then nothing. */
  void acceptOnly(long bytes) {
    acceptBytes = bytes;
  }

  void acceptAll() {
    acceptBytes = Long.MAX_VALUE;
  }

  byte[] bytes() {
    return written.toByteArray();
  }

  int size() {
    return written.size();
  }

  /** Frames written since the last call; fails if those bytes end inside a frame. */
  List<WireFrame> takeFrames() {
    byte[] all = written.toByteArray();
    byte[] fresh = java.util.Arrays.copyOfRange(all, parsedUpTo, all.length);
    parsedUpTo = all.length;
    return WireFrame.parseAll(fresh);
  }

  @Override
  public boolean gathers() {
    return gathering;
  }

  @Override
  public boolean write(ByteBuffer[] bufs, int offset, int length) throws java.io.IOException {
    if (!gathering) {
      throw new AssertionError("gathering write on an output that does not gather");
    }
    gatherCalls++;
    for (int i = offset; i < offset + length; i++) {
      gatheredBuffers.add(bufs[i]);
    }
    maxGatherBuffers = Math.max(maxGatherBuffers, length);
    boolean all = true;
    for (int i = offset; i < offset + length; i++) {
      all = write(bufs[i]);
      writeCalls--; // one call for the whole gathering write
      if (!all) {
        break;
      }
    }
    writeCalls++;
    return all;
  }

  @Override
  public boolean write(ByteBuffer buf) throws java.io.IOException {
    if (failNextWrite != null) {
      java.io.IOException e = failNextWrite;
      failNextWrite = null;
      throw e;
    }
    writeCalls++;
    int take = (int) Math.min(buf.remaining(), acceptBytes);
    byte[] chunk = new byte[take];
    buf.get(chunk);
    written.write(chunk, 0, take);
    if (acceptBytes != Long.MAX_VALUE) {
      acceptBytes -= take;
    }
    return !buf.hasRemaining();
  }

  @Override
  public void setWriteInterest(boolean on) {
    writeInterest = on;
    interestChanges.add(on);
  }

  @Override
  public void onHeadersFailed(int streamId, Exception cause) {
    failedHeaders.add(streamId);
  }

  @Override
  public void onStreamFrameWritten() {
    streamFramesWritten++;
  }

  /** Whether {@code buffer} itself (not a view of it) was given to a gathering write. */
  boolean gathered(ByteBuffer buffer) {
    return gatheredBuffers.contains(buffer);
  }
}
