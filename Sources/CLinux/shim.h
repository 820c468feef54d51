// Linux calls that Swift's Glibc module does not bring in: epoll and eventfd live in headers
// it does not cover, and glibc declares accept4, pthread_setname_np, pipe2 and
// posix_spawn_file_actions_addchdir_np (the last two for the tests' command runner) only under
// _GNU_SOURCE; malloc.h has the allocator's settings (mallopt).
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <pthread.h>
#include <spawn.h>
#include <malloc.h>

extern int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);
extern int pthread_setname_np(pthread_t thread, const char *name);
extern int pipe2(int pipefd[2], int flags);
extern int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *actions, const char *path);
