// Linux calls that Swift's Glibc module does not bring in: epoll and eventfd live in headers
// it does not cover, and glibc declares accept4 and pthread_setname_np only under _GNU_SOURCE.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <pthread.h>

extern int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);
extern int pthread_setname_np(pthread_t thread, const char *name);
