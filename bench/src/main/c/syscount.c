/*
 * grpc-lean bench: counts a process's socket reads and writes (--syscalls preload).
 *
 * Loaded into a child JVM with LD_PRELOAD. It defines the libc entry points the JDK's libnio and
 * Netty's native epoll library call for socket I/O (read, readv, recv, recvfrom, recvmsg; write,
 * writev, send, sendto, sendmsg, sendfile), forwards each call to the next definition (libc's,
 * found once with dlsym(RTLD_NEXT)) and counts it when its descriptor is a socket: calls, calls
 * that failed with EAGAIN, and bytes moved. Reads and writes of pipes and anonymous-inode
 * descriptors (eventfd, timerfd: selector wake-ups), eventfd_read/eventfd_write and the epoll
 * waits are counted apart; regular files are not counted.
 *
 * The counters live in a file named by GRPCLEAN_SYSCOUNT_FILE, mapped shared, so that another
 * process (the bench) reads them at any moment without signalling this one. Layout (native byte
 * order): bytes 0-7 the magic "GLSYSC01", 8-11 the counter count N, 12-15 the stride (64: one
 * cache line per counter, so threads bumping different counters do not share a line), 16-23 the
 * pid that maps it; counter i is the unsigned 64-bit value at 64 + 64 * i. Increments are relaxed
 * atomic adds: the only cost on the counted path beyond the forwarded call.
 *
 * Socketness is cached per descriptor number (fstat on first sight): every call seen here that
 * creates or closes descriptors (socket, socketpair, accept, accept4, pipe, pipe2, eventfd,
 * timerfd_create, epoll_create, epoll_create1, dup, dup2, dup3, close) forgets what it knew about
 * them. Descriptors past the cache are classified by fstat on each call.
 *
 * Without GRPCLEAN_SYSCOUNT_FILE the library only forwards. The variable is removed from the
 * environment once read, so processes this one starts do not add to the same file.
 *
 * Thread-safe: the cache and counters are only touched with atomic loads, stores and adds.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

/* Counter indices: keep in step with PreloadCounters.java. */
enum {
  SOCKET_READS,
  SOCKET_READS_EAGAIN,
  SOCKET_READ_BYTES,
  SOCKET_WRITES,
  SOCKET_WRITES_EAGAIN,
  SOCKET_WRITE_BYTES,
  WAKEUP_READS,
  WAKEUP_WRITES,
  EPOLL_WAITS,
  FD_CLASSIFIED,
  COUNTERS
};

#define STRIDE 64
#define HEADER 64
#define FILE_BYTES (HEADER + STRIDE * COUNTERS)
/* Descriptor numbers whose kind is cached: a byte each, pages touched only when used. */
#define CACHED_FDS (1 << 20)

enum { KIND_UNKNOWN, KIND_SOCKET, KIND_WAKEUP, KIND_OTHER };

static unsigned char *counters; /* the mapped file, or NULL: count nothing */
static unsigned char kinds[CACHED_FDS];

static void bump(int counter, uint64_t by) {
  unsigned char *c = __atomic_load_n(&counters, __ATOMIC_RELAXED);
  if (c != NULL) {
    __atomic_fetch_add((uint64_t *) (c + HEADER + STRIDE * counter), by, __ATOMIC_RELAXED);
  }
}

/* The kind of fd by fstat, or KIND_UNKNOWN when fstat fails (not cached: e.g. closed). */
static int classify(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    return KIND_UNKNOWN;
  }
  bump(FD_CLASSIFIED, 1);
  if (S_ISSOCK(st.st_mode)) {
    return KIND_SOCKET;
  }
  /* Pipes, and anonymous inodes (eventfd, timerfd, epoll) whose mode has no file type. */
  if (S_ISFIFO(st.st_mode) || (st.st_mode & S_IFMT) == 0) {
    return KIND_WAKEUP;
  }
  return KIND_OTHER;
}

static int kind_of(int fd) {
  if (fd < 0) {
    return KIND_OTHER;
  }
  if (fd >= CACHED_FDS) {
    return classify(fd);
  }
  int k = __atomic_load_n(&kinds[fd], __ATOMIC_RELAXED);
  if (k == KIND_UNKNOWN) {
    k = classify(fd);
    if (k != KIND_UNKNOWN) {
      __atomic_store_n(&kinds[fd], (unsigned char) k, __ATOMIC_RELAXED);
    }
  }
  return k;
}

static void forget(int fd) {
  if (fd >= 0 && fd < CACHED_FDS) {
    __atomic_store_n(&kinds[fd], KIND_UNKNOWN, __ATOMIC_RELAXED);
  }
}

/* Bumps the counters of one read-like (write = 0) or write-like (write = 1) call on fd. */
static void count(int fd, int write, ssize_t result, int error) {
  if (__atomic_load_n(&counters, __ATOMIC_RELAXED) == NULL) {
    return;
  }
  int k = kind_of(fd);
  if (k == KIND_SOCKET) {
    bump(write ? SOCKET_WRITES : SOCKET_READS, 1);
    if (result > 0) {
      bump(write ? SOCKET_WRITE_BYTES : SOCKET_READ_BYTES, (uint64_t) result);
    } else if (result < 0 && (error == EAGAIN || error == EWOULDBLOCK)) {
      bump(write ? SOCKET_WRITES_EAGAIN : SOCKET_READS_EAGAIN, 1);
    }
  } else if (k == KIND_WAKEUP) {
    bump(write ? WAKEUP_WRITES : WAKEUP_READS, 1);
  }
}

__attribute__((constructor)) static void init(void) {
  const char *path = getenv("GRPCLEAN_SYSCOUNT_FILE");
  if (path == NULL || path[0] == '\0') {
    return;
  }
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return;
  }
  if (ftruncate(fd, FILE_BYTES) == 0) {
    void *m = mmap(NULL, FILE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m != MAP_FAILED) {
      unsigned char *c = m;
      uint32_t n = COUNTERS;
      uint32_t stride = STRIDE;
      int64_t pid = getpid();
      memcpy(c + 8, &n, 4);
      memcpy(c + 12, &stride, 4);
      memcpy(c + 16, &pid, 8);
      memcpy(c, "GLSYSC01", 8); /* last: a reader sees the magic only once the rest is there */
      __atomic_store_n(&counters, c, __ATOMIC_RELEASE);
    }
  }
  close(fd);
  unsetenv("GRPCLEAN_SYSCOUNT_FILE");
}

/* The next definition of name (libc's), looked up once. */
#define REAL(ret, name, ...)                                                        \
  static ret (*real_##name)(__VA_ARGS__);                                          \
  ret (*next_##name)(__VA_ARGS__) = __atomic_load_n(&real_##name, __ATOMIC_RELAXED); \
  if (next_##name == NULL) {                                                      \
    next_##name = (ret(*)(__VA_ARGS__)) dlsym(RTLD_NEXT, #name);                    \
    __atomic_store_n(&real_##name, next_##name, __ATOMIC_RELAXED);                  \
  }

/* A counted call: forward, keep errno, count, return. */
#define COUNTED(fd, write, call)      \
  ssize_t r = call;                   \
  int e = errno;                      \
  count(fd, write, r, e);             \
  errno = e;                          \
  return r;

ssize_t read(int fd, void *buf, size_t n) {
  REAL(ssize_t, read, int, void *, size_t)
  COUNTED(fd, 0, next_read(fd, buf, n))
}

ssize_t readv(int fd, const struct iovec *iov, int n) {
  REAL(ssize_t, readv, int, const struct iovec *, int)
  COUNTED(fd, 0, next_readv(fd, iov, n))
}

ssize_t recv(int fd, void *buf, size_t n, int flags) {
  REAL(ssize_t, recv, int, void *, size_t, int)
  COUNTED(fd, 0, next_recv(fd, buf, n, flags))
}

ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr,
    socklen_t *addrlen) {
  REAL(ssize_t, recvfrom, int, void *, size_t, int, struct sockaddr *, socklen_t *)
  COUNTED(fd, 0, next_recvfrom(fd, buf, n, flags, addr, addrlen))
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags) {
  REAL(ssize_t, recvmsg, int, struct msghdr *, int)
  COUNTED(fd, 0, next_recvmsg(fd, msg, flags))
}

ssize_t write(int fd, const void *buf, size_t n) {
  REAL(ssize_t, write, int, const void *, size_t)
  COUNTED(fd, 1, next_write(fd, buf, n))
}

ssize_t writev(int fd, const struct iovec *iov, int n) {
  REAL(ssize_t, writev, int, const struct iovec *, int)
  COUNTED(fd, 1, next_writev(fd, iov, n))
}

ssize_t send(int fd, const void *buf, size_t n, int flags) {
  REAL(ssize_t, send, int, const void *, size_t, int)
  COUNTED(fd, 1, next_send(fd, buf, n, flags))
}

ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr,
    socklen_t addrlen) {
  REAL(ssize_t, sendto, int, const void *, size_t, int, const struct sockaddr *, socklen_t)
  COUNTED(fd, 1, next_sendto(fd, buf, n, flags, addr, addrlen))
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
  REAL(ssize_t, sendmsg, int, const struct msghdr *, int)
  COUNTED(fd, 1, next_sendmsg(fd, msg, flags))
}

ssize_t sendfile(int out, int in, off_t *offset, size_t n) {
  REAL(ssize_t, sendfile, int, int, off_t *, size_t)
  COUNTED(out, 1, next_sendfile(out, in, offset, n))
}

ssize_t sendfile64(int out, int in, off64_t *offset, size_t n) {
  REAL(ssize_t, sendfile64, int, int, off64_t *, size_t)
  COUNTED(out, 1, next_sendfile64(out, in, offset, n))
}

/* glibc's eventfd_read/eventfd_write call its internal read/write, which bypass the above. */
int eventfd_read(int fd, eventfd_t *value) {
  REAL(int, eventfd_read, int, eventfd_t *)
  int r = next_eventfd_read(fd, value);
  bump(WAKEUP_READS, 1);
  return r;
}

int eventfd_write(int fd, eventfd_t value) {
  REAL(int, eventfd_write, int, eventfd_t)
  int r = next_eventfd_write(fd, value);
  bump(WAKEUP_WRITES, 1);
  return r;
}

int epoll_wait(int epfd, struct epoll_event *events, int max, int timeout) {
  REAL(int, epoll_wait, int, struct epoll_event *, int, int)
  bump(EPOLL_WAITS, 1);
  return next_epoll_wait(epfd, events, max, timeout);
}

int epoll_pwait(int epfd, struct epoll_event *events, int max, int timeout,
    const sigset_t *mask) {
  REAL(int, epoll_pwait, int, struct epoll_event *, int, int, const sigset_t *)
  bump(EPOLL_WAITS, 1);
  return next_epoll_pwait(epfd, events, max, timeout, mask);
}

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
int epoll_pwait2(int epfd, struct epoll_event *events, int max, const struct timespec *timeout,
    const sigset_t *mask) {
  REAL(int, epoll_pwait2, int, struct epoll_event *, int, const struct timespec *,
      const sigset_t *)
  if (next_epoll_pwait2 == NULL) {
    errno = ENOSYS;
    return -1;
  }
  bump(EPOLL_WAITS, 1);
  return next_epoll_pwait2(epfd, events, max, timeout, mask);
}
#endif

/*
 * Calls that make or drop descriptors: what was known about those numbers is forgotten, after
 * the call, so that a call on the old descriptor racing with it cannot cache its kind again.
 */

int close(int fd) {
  REAL(int, close, int)
  int r = next_close(fd);
  int e = errno;
  forget(fd);
  errno = e;
  return r;
}

int socket(int domain, int type, int protocol) {
  REAL(int, socket, int, int, int)
  int fd = next_socket(domain, type, protocol);
  forget(fd);
  return fd;
}

int socketpair(int domain, int type, int protocol, int fds[2]) {
  REAL(int, socketpair, int, int, int, int *)
  int r = next_socketpair(domain, type, protocol, fds);
  if (r == 0) {
    forget(fds[0]);
    forget(fds[1]);
  }
  return r;
}

int accept(int fd, struct sockaddr *addr, socklen_t *addrlen) {
  REAL(int, accept, int, struct sockaddr *, socklen_t *)
  int r = next_accept(fd, addr, addrlen);
  forget(r);
  return r;
}

int accept4(int fd, struct sockaddr *addr, socklen_t *addrlen, int flags) {
  REAL(int, accept4, int, struct sockaddr *, socklen_t *, int)
  int r = next_accept4(fd, addr, addrlen, flags);
  forget(r);
  return r;
}

int pipe(int fds[2]) {
  REAL(int, pipe, int *)
  int r = next_pipe(fds);
  if (r == 0) {
    forget(fds[0]);
    forget(fds[1]);
  }
  return r;
}

int pipe2(int fds[2], int flags) {
  REAL(int, pipe2, int *, int)
  int r = next_pipe2(fds, flags);
  if (r == 0) {
    forget(fds[0]);
    forget(fds[1]);
  }
  return r;
}

int eventfd(unsigned int initval, int flags) {
  REAL(int, eventfd, unsigned int, int)
  int r = next_eventfd(initval, flags);
  forget(r);
  return r;
}

int timerfd_create(int clockid, int flags) {
  REAL(int, timerfd_create, int, int)
  int r = next_timerfd_create(clockid, flags);
  forget(r);
  return r;
}

int epoll_create(int size) {
  REAL(int, epoll_create, int)
  int r = next_epoll_create(size);
  forget(r);
  return r;
}

int epoll_create1(int flags) {
  REAL(int, epoll_create1, int)
  int r = next_epoll_create1(flags);
  forget(r);
  return r;
}

int dup(int fd) {
  REAL(int, dup, int)
  int r = next_dup(fd);
  forget(r);
  return r;
}

int dup2(int fd, int target) {
  REAL(int, dup2, int, int)
  int r = next_dup2(fd, target);
  forget(target);
  return r;
}

int dup3(int fd, int target, int flags) {
  REAL(int, dup3, int, int, int)
  int r = next_dup3(fd, target, flags);
  forget(target);
  return r;
}
