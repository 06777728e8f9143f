package dev.grpclean.alts.record;

import java.security.GeneralSecurityException;
import java.security.Provider;
import java.util.Locale;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.annotation.Nullable;
import javax.crypto.Cipher;

/**
 * Where AES-128-GCM comes from: the JDK's SunJCE, or Conscrypt (BoringSSL) when it is on the class
 * path and its native library loads.
 *
 * <p>The choice is made once per process: {@value #PROPERTY} = {@code jdk} or {@code conscrypt}
 * forces one (Conscrypt falls back to the JDK, with a warning, if it does not load); unset or
 * {@code auto} picks Conscrypt when it loads and the JDK otherwise.
 *
 * <p>Why Conscrypt by default, although DESIGN.md §2 found the JDK faster: that table sealed with
 * one re-initialised cipher into heap buffers, and Conscrypt's heap-buffer path there (191 MiB/s)
 * is a copy-heavy path this module never takes. Measured instead through {@link
 * AltsRecordProtector} as the transport drives it ({@code GcmThroughputProbe}: JDK 17.0.15, 2
 * shared cores under load, rekey protocol, seal+open round-robin over 4 connections, payload MiB
 * per CPU-second of the sealing thread, median of 21 interleaved rounds, three runs):
 *
 * <pre>
 *   record, buffers         SunJCE        Conscrypt     allocated per record (SunJCE / Conscrypt)
 *   4 KiB, direct           970-1,019     964-983       3,304 B / 432 B
 *   16 KiB, direct          1,687-1,736   1,566-1,582   3,304 B / 432 B
 *   4 KiB, heap             1,042-1,064   915-922       3,280 B / 536 B
 * </pre>
 *
 * On the transport's own case (direct buffers, the default 4 KiB records) the two cost the same
 * CPU, and SunJCE's lead on 16 KiB records is under 10%; but SunJCE allocates 3.3 KiB per record
 * (a GCM engine and a new AES key schedule per {@code init}) against Conscrypt's 0.4 KiB, and the
 * project's target is no steady-state allocation per record. So Conscrypt wins when present.
 * Re-measure when the JDK, Conscrypt or the record size changes; the formal JMH benchmarks live in
 * the bench module.
 *
 * <p>Thread-safe.
 */
public enum GcmProvider {
  /** SunJCE's {@code AES/GCM/NoPadding}. Always available. */
  JDK("JDK SunJCE"),
  /** Conscrypt's {@code AES/GCM/NoPadding} (BoringSSL). Needs conscrypt-openjdk-uber at runtime. */
  CONSCRYPT("Conscrypt");

  /** System property: {@code jdk}, {@code conscrypt} or {@code auto} (the default). */
  public static final String PROPERTY = "grpclean.alts.provider";

  /** One line on why {@code auto} resolves the way it does; logged with the choice. */
  static final String DEFAULT_REASON = "auto: Conscrypt matched SunJCE's CPU cost on direct 4 KiB"
      + " records and allocates ~0.4 KiB per record instead of ~3.3 KiB";

  /** What {@code auto} picks when Conscrypt loads (see the class javadoc for why). */
  static final GcmProvider AUTO_CHOICE_WHEN_CONSCRYPT_LOADS = CONSCRYPT;

  private static final Logger log = Logger.getLogger(GcmProvider.class.getName());
  private static final String TRANSFORMATION = "AES/GCM/NoPadding";

  private final String description;

  GcmProvider(String description) {
    this.description = description;
  }

  /** The provider record protectors use unless told otherwise; chosen and logged on first call. */
  public static GcmProvider active() {
    return Selection.ACTIVE;
  }

  /** True if Conscrypt is on the class path and its native library loaded. */
  public static boolean conscryptAvailable() {
    return ConscryptHolder.PROVIDER != null;
  }

  /** A human-readable name, e.g. for logs and stats. */
  public String description() {
    return description;
  }

  /** Whether this provider can be used in this process. */
  public boolean available() {
    return this == JDK || conscryptAvailable();
  }

  /** A new, uninitialised AES/GCM cipher from this provider. */
  Cipher newCipher() throws GeneralSecurityException {
    if (this == JDK) {
      return Cipher.getInstance(TRANSFORMATION, "SunJCE");
    }
    Provider provider = ConscryptHolder.PROVIDER;
    if (provider == null) {
      throw new GeneralSecurityException("Conscrypt is not available", ConscryptHolder.FAILURE);
    }
    return Cipher.getInstance(TRANSFORMATION, provider);
  }

  /** Parses the property's value; visible for testing. */
  static GcmProvider select(@Nullable String property, boolean conscryptLoads) {
    String value = property == null ? "auto" : property.trim().toLowerCase(Locale.ROOT);
    switch (value) {
      case "jdk":
        return JDK;
      case "conscrypt":
        return conscryptLoads ? CONSCRYPT : JDK;
      case "auto":
      case "":
        return conscryptLoads ? AUTO_CHOICE_WHEN_CONSCRYPT_LOADS : JDK;
      default:
        throw new IllegalArgumentException(
            PROPERTY + " must be jdk, conscrypt or auto, not '" + property + "'");
    }
  }

  private static final class Selection {
    static final GcmProvider ACTIVE;

    static {
      String property = System.getProperty(PROPERTY);
      ACTIVE = select(property, conscryptAvailable());
      if ("conscrypt".equalsIgnoreCase(property == null ? "" : property.trim())
          && ACTIVE != CONSCRYPT) {
        log.log(Level.WARNING, PROPERTY + "=conscrypt but Conscrypt did not load; using the JDK",
            ConscryptHolder.FAILURE);
      }
      String why = property == null || property.trim().equalsIgnoreCase("auto")
          ? (conscryptAvailable() ? DEFAULT_REASON : "auto: Conscrypt did not load")
          : PROPERTY + "=" + property;
      log.info("ALTS-like record layer: AES-GCM from " + ACTIVE.description + " (" + why + ")");
    }
  }

  /** Loads Conscrypt reflectively: it is an optional dependency. */
  private static final class ConscryptHolder {
    @Nullable static final Provider PROVIDER;
    @Nullable static final Throwable FAILURE;

    static {
      Provider provider = null;
      Throwable failure = null;
      try {
        Class<?> conscrypt = Class.forName("org.conscrypt.Conscrypt");
        // checkAvailability() throws the native library's load error, if any.
        conscrypt.getMethod("checkAvailability").invoke(null);
        provider = (Provider) conscrypt.getMethod("newProvider").invoke(null);
      } catch (java.lang.reflect.InvocationTargetException e) {
        failure = e.getCause();
      } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
        failure = e;
      }
      PROVIDER = provider;
      FAILURE = failure;
    }
  }
}
