package dev.grpclean.transport.frame;

import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.DefaultHttp2HeadersEncoder;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Read-only access to the dynamic tables inside netty-codec-http2's HPACK coder, which netty
 * keeps package-private: what {@link HpackSnapshot} needs to write an idle connection's tables
 * down as bytes. Nothing here changes netty's state; rebuilding goes through netty's public API.
 *
 * <p>The members are looked up once. If any is missing (another Netty version on the class path
 * of the unshaded artifact), {@link #AVAILABLE} is false and connections simply never hibernate
 * their HPACK state: correctness never depends on this class.
 *
 * <p>Thread-safe (stateless after class initialisation).
 */
final class HpackInternals {
  private static final Logger log = Logger.getLogger(HpackInternals.class.getName());

  /** Whether every member below was found; false means hibernation is off. */
  static final boolean AVAILABLE;

  private static final Field DECODER_HPACK;
  private static final Field DECODER_MAX_TABLE;
  private static final Field DECODER_ENCODER_MAX_TABLE;
  private static final Field DECODER_CHANGE_REQUIRED;
  private static final Method DECODER_LENGTH;
  private static final Method DECODER_FIELD;
  private static final Field ENCODER_HPACK;
  private static final Method ENCODER_LENGTH;
  private static final Method ENCODER_FIELD;
  private static final Field FIELD_NAME;
  private static final Field FIELD_VALUE;

  static {
    Field dh = null, dmt = null, demt = null, dcr = null, eh = null, fn = null, fv = null;
    Method dl = null, df = null, el = null, ef = null;
    boolean ok;
    try {
      dh = field(DefaultHttp2HeadersDecoder.class, "hpackDecoder");
      Class<?> decoder = dh.getType();
      dmt = field(decoder, "maxDynamicTableSize");
      demt = field(decoder, "encoderMaxDynamicTableSize");
      dcr = field(decoder, "maxDynamicTableSizeChangeRequired");
      dl = method(decoder, "length");
      df = method(decoder, "getHeaderField", int.class);
      eh = field(DefaultHttp2HeadersEncoder.class, "hpackEncoder");
      Class<?> encoder = eh.getType();
      el = method(encoder, "length");
      ef = method(encoder, "getHeaderField", int.class);
      Class<?> headerField = df.getReturnType();
      fn = field(headerField, "name");
      fv = field(headerField, "value");
      ok = ef.getReturnType().isAssignableFrom(headerField)
          || headerField.isAssignableFrom(ef.getReturnType());
    } catch (ReflectiveOperationException | RuntimeException e) {
      log.log(Level.FINE, "HPACK hibernation off: netty's HPACK internals differ", e);
      ok = false;
    }
    AVAILABLE = ok;
    DECODER_HPACK = dh;
    DECODER_MAX_TABLE = dmt;
    DECODER_ENCODER_MAX_TABLE = demt;
    DECODER_CHANGE_REQUIRED = dcr;
    DECODER_LENGTH = dl;
    DECODER_FIELD = df;
    ENCODER_HPACK = eh;
    ENCODER_LENGTH = el;
    ENCODER_FIELD = ef;
    FIELD_NAME = fn;
    FIELD_VALUE = fv;
  }

  private HpackInternals() {}

  /** The decoder's dynamic table and sizes, or null when it cannot be written down now. */
  static DecoderTable decoderTable(DefaultHttp2HeadersDecoder d) {
    try {
      Object hpack = DECODER_HPACK.get(d);
      if (DECODER_CHANGE_REQUIRED.getBoolean(hpack)) {
        return null; // a size update is owed by the peer: a state a snapshot does not carry
      }
      int n = (Integer) DECODER_LENGTH.invoke(hpack);
      CharSequence[] fields = new CharSequence[2 * n];
      for (int i = 0; i < n; i++) {
        Object f = DECODER_FIELD.invoke(hpack, i); // 0 = newest (RFC 7541 §2.3.3)
        fields[2 * i] = (CharSequence) FIELD_NAME.get(f);
        fields[2 * i + 1] = (CharSequence) FIELD_VALUE.get(f);
      }
      return new DecoderTable(DECODER_MAX_TABLE.getLong(hpack),
          DECODER_ENCODER_MAX_TABLE.getLong(hpack), fields);
    } catch (ReflectiveOperationException | RuntimeException e) {
      log.log(Level.FINE, "cannot read the HPACK decoder's table", e);
      return null;
    }
  }

  /**
   * The encoder's dynamic table, newest first as name/value pairs, or null when netty refused
   * the read. The caller makes sure no table size update is pending.
   */
  static CharSequence[] encoderTable(DefaultHttp2HeadersEncoder e) {
    try {
      Object hpack = ENCODER_HPACK.get(e);
      int n = (Integer) ENCODER_LENGTH.invoke(hpack);
      CharSequence[] fields = new CharSequence[2 * n];
      for (int i = 0; i < n; i++) {
        Object f = ENCODER_FIELD.invoke(hpack, i);
        fields[2 * i] = (CharSequence) FIELD_NAME.get(f);
        fields[2 * i + 1] = (CharSequence) FIELD_VALUE.get(f);
      }
      return fields;
    } catch (ReflectiveOperationException | RuntimeException ex) {
      log.log(Level.FINE, "cannot read the HPACK encoder's table", ex);
      return null;
    }
  }

  /** The decoder's entries, newest first as name/value pairs, and its two sizes. */
  static final class DecoderTable {
    /** Our limit (SETTINGS_HEADER_TABLE_SIZE in force). */
    final long maxTableBytes;
    /** The size the peer's encoder chose (≤ the limit): the table's capacity. */
    final long capacityBytes;
    final CharSequence[] fields;

    DecoderTable(long maxTableBytes, long capacityBytes, CharSequence[] fields) {
      this.maxTableBytes = maxTableBytes;
      this.capacityBytes = capacityBytes;
      this.fields = fields;
    }
  }

  private static Field field(Class<?> c, String name) throws NoSuchFieldException {
    Field f = c.getDeclaredField(name);
    f.setAccessible(true);
    return f;
  }

  private static Method method(Class<?> c, String name, Class<?>... args)
      throws NoSuchMethodException {
    Method m = c.getDeclaredMethod(name, args);
    m.setAccessible(true);
    return m;
  }
}
