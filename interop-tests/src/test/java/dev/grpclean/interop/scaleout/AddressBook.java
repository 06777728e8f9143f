package dev.grpclean.interop.scaleout;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.grpc.EquivalentAddressGroup;
import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import io.grpc.NameResolverRegistry;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A name resolver of our own, like a service registry or DNS: the target {@code
 * scaleout:///NAME} resolves to the addresses of the address book called NAME. {@link #publish}
 * pushes a new list to every channel at once (a registry with watches); {@link #stage} only changes
 * what the next {@link NameResolver#refresh} returns (DNS: a channel sees it when it re-resolves,
 * which grpc does when a connection is lost or closed by the server).
 *
 * <p>Thread-safe: the books are in a concurrent map; a book's state is guarded by its lock;
 * listeners are called without holding it.
 */
final class AddressBook {
  static final String SCHEME = "scaleout";

  private static final Map<String, AddressBook> BOOKS = new ConcurrentHashMap<>();

  static {
    NameResolverRegistry.getDefaultRegistry().register(new Provider());
  }

  private final String name;
  /** How often a channel asked to re-resolve. */
  final AtomicInteger refreshes = new AtomicInteger();

  private final Object lock = new Object();

  @GuardedBy("lock")
  private List<EquivalentAddressGroup> addresses = List.of();

  @GuardedBy("lock")
  private final List<Resolver> resolvers = new ArrayList<>();

  private AddressBook(String name) {
    this.name = name;
  }

  /** Creates the book {@code name}, which channels reach as {@link #target()}. */
  static AddressBook create(String name, List<EquivalentAddressGroup> addresses) {
    AddressBook book = new AddressBook(name);
    book.stage(addresses);
    if (BOOKS.putIfAbsent(name, book) != null) {
      throw new IllegalArgumentException("address book exists: " + name);
    }
    return book;
  }

  /** Forgets the book; channels already using it keep their last addresses. */
  void remove() {
    BOOKS.remove(name, this);
  }

  String target() {
    return SCHEME + ":///" + name;
  }

  /** Changes the addresses and tells every channel now. */
  void publish(List<EquivalentAddressGroup> next) {
    List<Resolver> toTell;
    synchronized (lock) {
      addresses = List.copyOf(next);
      toTell = new ArrayList<>(resolvers);
    }
    for (Resolver r : toTell) {
      r.resolve();
    }
  }

  /** Changes the addresses a channel gets the next time it re-resolves. */
  void stage(List<EquivalentAddressGroup> next) {
    synchronized (lock) {
      addresses = List.copyOf(next);
    }
  }

  private List<EquivalentAddressGroup> addresses() {
    synchronized (lock) {
      return addresses;
    }
  }

  /**
   * One channel's resolver over a book. Thread-safe: grpc calls it from the channel's
   * synchronization context, {@link AddressBook#publish} from any thread.
   */
  private static final class Resolver extends NameResolver {
    private final AddressBook book;
    private volatile Listener2 listener;

    Resolver(AddressBook book) {
      this.book = book;
    }

    @Override
    public String getServiceAuthority() {
      return book.name;
    }

    @Override
    public void start(Listener2 listener) {
      this.listener = listener;
      synchronized (book.lock) {
        book.resolvers.add(this);
      }
      resolve();
    }

    @Override
    public void refresh() {
      book.refreshes.incrementAndGet();
      resolve();
    }

    void resolve() {
      Listener2 l = listener;
      if (l != null) {
        l.onResult(
            ResolutionResult.newBuilder()
                .setAddressesOrError(io.grpc.StatusOr.fromValue(book.addresses()))
                .build());
      }
    }

    @Override
    public void shutdown() {
      synchronized (book.lock) {
        book.resolvers.remove(this);
      }
      listener = null;
    }
  }

  /** Resolves {@code scaleout:///NAME}. Thread-safe (stateless). */
  private static final class Provider extends NameResolverProvider {
    @Override
    public NameResolver newNameResolver(URI targetUri, NameResolver.Args args) {
      if (!SCHEME.equals(targetUri.getScheme())) {
        return null;
      }
      String path = targetUri.getPath();
      AddressBook book = BOOKS.get(path.startsWith("/") ? path.substring(1) : path);
      return book == null ? null : new Resolver(book);
    }

    @Override
    public String getDefaultScheme() {
      return SCHEME;
    }

    @Override
    protected boolean isAvailable() {
      return true;
    }

    @Override
    protected int priority() {
      return 5;
    }

    @Override
    public Collection<Class<? extends SocketAddress>> getProducedSocketAddressTypes() {
      return List.of(InetSocketAddress.class);
    }
  }
}
