package dev.grpclean.transport.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Collection;

/**
 * The set-up shared by the tests' loopback TCP relays: accept a connection, open its other side to
 * the target, both without Nagle's delay. What each relay then does with the bytes is its own.
 *
 * <p>Stateless; called from a relay's accepting thread.
 */
public final class LoopbackRelays {
  /** One relayed connection: the socket accepted from the client and the one to the target. */
  public record Connection(Socket client, Socket server) {}

  private LoopbackRelays() {}

  /**
   * Accepts the next connection on {@code listener} and connects it to {@code targetPort} on
   * loopback. Each socket joins {@code sockets} as soon as it exists, so that a relay closing
   * everything it holds reaches it even if the connect fails.
   */
  public static Connection acceptAndConnect(ServerSocket listener, int targetPort,
      Collection<? super Socket> sockets) throws IOException {
    Socket client = listener.accept();
    sockets.add(client);
    Socket server = new Socket();
    sockets.add(server);
    server.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), targetPort));
    client.setTcpNoDelay(true);
    server.setTcpNoDelay(true);
    return new Connection(client, server);
  }
}
