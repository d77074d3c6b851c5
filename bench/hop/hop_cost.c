/* rtmesh-hopcost — what one message between two sleeping processes costs on
 * this machine: a write, the reader's wake-up, its epoll_wait and its read,
 * the CPU of both sides together. Every hop of a publish through the tier
 * (node → broker → nodes, the ACK back, a worker woken by the egress hub)
 * pays this at least, so make bench records it beside the CPU a publish
 * costs (RESULTS.md, "Where a REST publish's server CPU goes").
 *
 * Two processes play ping-pong with 100-byte messages, each blocking in
 * epoll_wait before every read as a loop that has nothing else to do does,
 * once over loopback TCP (TCP_NODELAY, as the tier's links) and once over a
 * Unix stream socket. Prints one JSON line. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_MESSAGES 100000 /* each way */
#define S_SIZE     100

static double s_cpu_s(int who)
{
    struct rusage r;
    getrusage(who, &r);
    return (double)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
           (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

/* Answers every message on fd; the first side also starts the exchange. */
static int s_play(int fd, int first)
{
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
        return -1;
    char buf[S_SIZE];
    memset(buf, 'x', sizeof buf);
    if (first && write(fd, buf, sizeof buf) != sizeof buf)
        return -1;
    for (int i = 0; i < S_MESSAGES; i++) {
        size_t got = 0;
        while (got < sizeof buf) { /* a stream: a message may come in parts */
            if (epoll_wait(ep, &ev, 1, -1) < 0)
                return -1;
            ssize_t n = read(fd, buf + got, sizeof buf - got);
            if (n <= 0)
                return -1;
            got += (size_t)n;
        }
        if (!(first && i == S_MESSAGES - 1) && write(fd, buf, sizeof buf) != sizeof buf)
            return -1;
    }
    close(ep);
    return 0;
}

/* A connected loopback TCP pair, or -1. */
static int s_tcp_pair(int sv[2])
{
    int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 1) < 0 ||
        getsockname(l, (struct sockaddr *)&a, &len) < 0)
        return -1;
    sv[0] = socket(AF_INET, SOCK_STREAM, 0);
    if (sv[0] < 0 || connect(sv[0], (struct sockaddr *)&a, sizeof a) < 0 ||
        (sv[1] = accept(l, NULL, NULL)) < 0)
        return -1;
    close(l);
    setsockopt(sv[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(sv[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return 0;
}

/* Microseconds of CPU (both processes) per message over the pair, or -1. */
static double s_hop_us(int sv[2])
{
    double self = s_cpu_s(RUSAGE_SELF), children = s_cpu_s(RUSAGE_CHILDREN);
    pid_t pid = fork();
    if (pid == 0)
        _exit(s_play(sv[1], 0) < 0);
    int rc = s_play(sv[0], 1), status;
    if (pid < 0 || waitpid(pid, &status, 0) < 0 || rc < 0 || status != 0)
        return -1;
    close(sv[0]);
    close(sv[1]);
    double cpu = s_cpu_s(RUSAGE_SELF) - self + s_cpu_s(RUSAGE_CHILDREN) - children;
    return cpu * 1e6 / (2.0 * S_MESSAGES);
}

int main(void)
{
    int tcp[2], unx[2];
    if (s_tcp_pair(tcp) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, unx) < 0) {
        perror("rtmesh-hopcost");
        return 1;
    }
    double t = s_hop_us(tcp), u = s_hop_us(unx);
    if (t < 0 || u < 0) {
        fprintf(stderr, "rtmesh-hopcost: the exchange failed\n");
        return 1;
    }
    printf("{\"label\":\"machine/hop-cost\",\"messages\":%d,\"bytes\":%d,"
           "\"tcp_us_per_message\":%.2f,\"unix_us_per_message\":%.2f}\n",
           2 * S_MESSAGES, S_SIZE, t, u);
    return 0;
}
