package dev.grpclean.alts;

/**
 * An RPC protocol version (major.minor) as ALTS negotiates it: each side offers a range, and the
 * handshake settles on the highest version both ranges contain.
 *
 * <p>Thread-safe (immutable).
 */
public final class RpcProtocolVersion implements Comparable<RpcProtocolVersion> {
  /** 2.1: the version grpc-java's and grpc-go's ALTS offer as both minimum and maximum. */
  public static final RpcProtocolVersion DEFAULT = new RpcProtocolVersion(2, 1);

  private final int major;
  private final int minor;

  private RpcProtocolVersion(int major, int minor) {
    this.major = major;
    this.minor = minor;
  }

  /** Both parts must fit an unsigned 16-bit field. */
  public static RpcProtocolVersion of(int major, int minor) {
    if (major < 0 || major > 0xffff || minor < 0 || minor > 0xffff) {
      throw new IllegalArgumentException("version parts must be in [0, 65535]: " + major + "."
          + minor);
    }
    return new RpcProtocolVersion(major, minor);
  }

  public int major() {
    return major;
  }

  public int minor() {
    return minor;
  }

  @Override
  public int compareTo(RpcProtocolVersion other) {
    return major != other.major
        ? Integer.compare(major, other.major) : Integer.compare(minor, other.minor);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RpcProtocolVersion
        && ((RpcProtocolVersion) o).major == major && ((RpcProtocolVersion) o).minor == minor;
  }

  @Override
  public int hashCode() {
    return major * 65537 + minor;
  }

  @Override
  public String toString() {
    return major + "." + minor;
  }
}
