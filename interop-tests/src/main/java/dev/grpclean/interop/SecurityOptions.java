package dev.grpclean.interop;

import java.util.Set;
import javax.annotation.Nullable;

/**
 * The security flags both commands share: the mode, and what the TLS and ALTS-like modes need.
 *
 * <p>Immutable.
 */
record SecurityOptions(
    SecurityMode mode,
    boolean useTestCa,
    @Nullable String altsLikeKeyFile,
    @Nullable String altsLikePubFile,
    @Nullable String altsLikePeerPubFile) {

  static final Set<String> FLAGS =
      Set.of(
          "use_tls",
          "use_test_ca",
          "security",
          "alts_like_key_file",
          "alts_like_pub_file",
          "alts_like_peer_pub_file");

  static final String USAGE =
      "  --security=insecure|tls|alts_like\n"
          + "                                 default insecure, or tls with --use_tls=true\n"
          + "  --use_tls=true|false           same as --security=tls. Default false\n"
          + "  --use_test_ca=true|false       client: trust grpc's test CA (ca.pem). The server\n"
          + "                                 always presents grpc's test server1.pem\n"
          + "                                 (*.test.google.fr). Default false\n"
          + "  --alts_like_key_file=X.key     alts_like identity (Ed25519, scripts/alts-keygen);\n"
          + "                                 default a fresh random identity\n"
          + "  --alts_like_pub_file=X.pub     its public half. Default X.key's name with .pub\n"
          + "  --alts_like_peer_pub_file=Y.pub  accept only this peer; default any peer (still\n"
          + "                                 authenticated and encrypted)\n";

  static SecurityOptions fromFlags(Flags flags) {
    String keyFile = flags.string("alts_like_key_file", null);
    String pubFile = flags.string("alts_like_pub_file", null);
    if (pubFile == null && keyFile != null) {
      pubFile = (keyFile.endsWith(".key") ? keyFile.substring(0, keyFile.length() - 4) : keyFile)
          + ".pub";
    }
    return new SecurityOptions(
        SecurityMode.fromFlags(flags),
        flags.bool("use_test_ca", false),
        keyFile,
        pubFile,
        flags.string("alts_like_peer_pub_file", null));
  }
}
