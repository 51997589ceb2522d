/*
 * The kernel floor of one SNMP request/response: a blocking UDP client that does nothing
 * but sendto() a GETBULK and recv() its reply, N times, and prints its own CPU time per
 * request (getrusage: user + system). No decoding beyond checking the request id, no
 * event loop, no threads: what any poller must at least spend per request on this kernel.
 *
 *   gcc -O2 -o floor bench/floor.c
 *   ./floor HOST PORT COMMUNITY N [MAX_REPETITIONS [PACE_US [CHAIN]]]
 *
 * Back to back by default. With PACE_US, CHAIN requests (default 1) back to back every
 * PACE_US microseconds (an absolute clock_nanosleep between chains), as a poller's come:
 * a poll is a chain of requests, each sent when the last reply came, and polls come paced
 * over the interval. The first request of a chain then finds the client asleep and the
 * CPU it runs on idle, where back to back it is still warm: the difference is what pacing
 * alone costs per request on this kernel.
 *
 * The request is the first GETBULK of an IF-MIB poll: octopoll's 13 columns (ifDescr,
 * ifAdminStatus, ifOperStatus, in/out discards and errors, ifName, ifHCIn/OutOctets,
 * ifHighSpeed, ifAlias, ifIndex), 25 repetitions by default, so a capped agent returns a
 * full reply (about 1,500 bytes) every time. Output, one line:
 *   floor requests=N ok=K cpu_us_per_request=X user_us=U sys_us=S wall_s=W reply_bytes=B
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *COLUMNS[] = {
    "1.3.6.1.2.1.2.2.1.2",     "1.3.6.1.2.1.2.2.1.7",     "1.3.6.1.2.1.2.2.1.8",
    "1.3.6.1.2.1.2.2.1.13",    "1.3.6.1.2.1.2.2.1.14",    "1.3.6.1.2.1.2.2.1.19",
    "1.3.6.1.2.1.2.2.1.20",    "1.3.6.1.2.1.31.1.1.1.1",  "1.3.6.1.2.1.31.1.1.1.6",
    "1.3.6.1.2.1.31.1.1.1.10", "1.3.6.1.2.1.31.1.1.1.15", "1.3.6.1.2.1.31.1.1.1.18",
    "1.3.6.1.2.1.2.2.1.1",
};

/* Writes a BER length at p; returns bytes written. */
static size_t put_len(uint8_t *p, size_t n) {
    if (n < 128) { p[0] = (uint8_t)n; return 1; }
    if (n < 256) { p[0] = 0x81; p[1] = (uint8_t)n; return 2; }
    p[0] = 0x82; p[1] = (uint8_t)(n >> 8); p[2] = (uint8_t)n; return 3;
}

/* Wraps content[0..n) (already at out + 4) in tag/length; returns the TLV's size. The
 * content is moved down to follow the header. */
static size_t wrap(uint8_t *out, uint8_t tag, size_t n) {
    uint8_t hdr[4];
    hdr[0] = tag;
    size_t h = 1 + put_len(hdr + 1, n);
    memmove(out + h, out + 4, n);
    memcpy(out, hdr, h);
    return h + n;
}

/* Encodes OID arcs as BER content; returns bytes written. */
static size_t put_oid(uint8_t *p, const char *dotted) {
    unsigned long arcs[32] = {0};
    size_t n = 0, len = 0;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", dotted);
    for (char *t = strtok(buf, "."); t && n < 32; t = strtok(NULL, ".")) arcs[n++] = strtoul(t, NULL, 10);
    p[len++] = (uint8_t)(arcs[0] * 40 + arcs[1]);
    for (size_t i = 2; i < n; i++) {
        uint8_t tmp[5];
        int k = 0;
        unsigned long a = arcs[i];
        do { tmp[k++] = a & 0x7f; a >>= 7; } while (a);
        while (k--) p[len++] = tmp[k] | (k ? 0x80 : 0);
    }
    return len;
}

/* Builds the message; *id_at is where the 4 request-id bytes are. */
static size_t build(uint8_t *msg, const char *community, int reps, size_t *id_at) {
    uint8_t vbl[2048], pdu[2300], tmp[2400];
    size_t nv = 0;
    for (size_t c = 0; c < sizeof COLUMNS / sizeof *COLUMNS; c++) {
        uint8_t vb[64];
        size_t o = put_oid(vb + 4 + 2, COLUMNS[c]);
        vb[4] = 0x06; vb[5] = (uint8_t)o;
        vb[4 + 2 + o] = 0x05; vb[4 + 3 + o] = 0x00;
        size_t w = wrap(vb, 0x30, 2 + o + 2);
        memcpy(vbl + 4 + nv, vb, w);
        nv += w;
    }
    size_t vl = wrap(vbl, 0x30, nv);
    /* request-id: INTEGER of 4 bytes (first byte < 0x80), non-repeaters 0, max-reps */
    size_t p = 4;
    pdu[p++] = 0x02; pdu[p++] = 4; size_t id = p; p += 4;
    pdu[p++] = 0x02; pdu[p++] = 1; pdu[p++] = 0;
    pdu[p++] = 0x02; pdu[p++] = 1; pdu[p++] = (uint8_t)reps;
    memcpy(pdu + p, vbl, vl); p += vl;
    size_t hdr_before = 4;
    size_t pl = wrap(pdu, 0xa5, p - 4);
    size_t id_in_pdu = id - hdr_before + (pl - (p - 4));
    size_t m = 4;
    tmp[m++] = 0x02; tmp[m++] = 1; tmp[m++] = 1; /* v2c */
    size_t cl = strlen(community);
    tmp[m++] = 0x04; tmp[m++] = (uint8_t)cl; memcpy(tmp + m, community, cl); m += cl;
    size_t pdu_at = m - 4;
    memcpy(tmp + m, pdu, pl); m += pl;
    size_t ml = wrap(tmp, 0x30, m - 4);
    *id_at = (ml - (m - 4)) + pdu_at + id_in_pdu;
    memcpy(msg, tmp, ml);
    return ml;
}

/* Skips a tag and length at b[*i]; returns the content length, -1 if malformed. */
static long skip_header(const uint8_t *b, size_t n, size_t *i) {
    if (*i + 2 > n) return -1;
    (*i)++;
    uint8_t l = b[(*i)++];
    if (l < 0x80) return l;
    long len = 0;
    for (int k = 0; k < (l & 0x7f); k++) {
        if (*i >= n) return -1;
        len = len << 8 | b[(*i)++];
    }
    return len;
}

/* The request id of a v1/v2c message, or -1. */
static long request_id(const uint8_t *b, size_t n) {
    size_t i = 0;
    long l;
    if (skip_header(b, n, &i) < 0) return -1;                   /* message SEQUENCE */
    if ((l = skip_header(b, n, &i)) < 0) return -1;            /* version */
    i += l;
    if ((l = skip_header(b, n, &i)) < 0) return -1;            /* community */
    i += l;
    if (skip_header(b, n, &i) < 0) return -1;                   /* PDU */
    if ((l = skip_header(b, n, &i)) != 4 || i + 4 > n) return -1;
    return (long)((uint32_t)b[i] << 24 | b[i + 1] << 16 | b[i + 2] << 8 | b[i + 3]);
}

static double tv(struct timeval t) { return t.tv_sec * 1e6 + t.tv_usec; }

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s HOST PORT COMMUNITY N [MAX_REPETITIONS]\n", argv[0]);
        return 2;
    }
    long n = atol(argv[4]);
    int reps = argc > 5 ? atoi(argv[5]) : 25;
    long pace_us = argc > 6 ? atol(argv[6]) : 0;
    long chain = argc > 7 ? atol(argv[7]) : 1;
    if (chain < 1) chain = 1;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM}, *ai;
    if (getaddrinfo(argv[1], argv[2], &hints, &ai) != 0) { perror("getaddrinfo"); return 1; }
    int s = socket(ai->ai_family, SOCK_DGRAM, 0);
    struct timeval to = {.tv_sec = 2};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &to, sizeof to);
    uint8_t msg[4096], reply[65536];
    size_t id_at, len = build(msg, argv[3], reps, &id_at);
    struct rusage r0, r1;
    struct timespec w0, w1;
    long ok = 0, bytes = 0;
    getrusage(RUSAGE_SELF, &r0);
    clock_gettime(CLOCK_MONOTONIC, &w0);
    struct timespec next = w0;
    for (long i = 0; i < n; i++) {
        if (pace_us > 0 && i % chain == 0) {
            next.tv_nsec += pace_us * 1000;
            next.tv_sec += next.tv_nsec / 1000000000;
            next.tv_nsec %= 1000000000;
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
        }
        uint32_t id = 0x10000000u + (uint32_t)i;
        msg[id_at] = id >> 24; msg[id_at + 1] = id >> 16; msg[id_at + 2] = id >> 8; msg[id_at + 3] = id;
        if (sendto(s, msg, len, 0, ai->ai_addr, ai->ai_addrlen) < 0) { perror("sendto"); return 1; }
        for (;;) {
            ssize_t got = recv(s, reply, sizeof reply, 0);
            if (got < 0) break; /* timeout: counted as not ok */
            if (request_id(reply, (size_t)got) == (long)id) {
                ok++; bytes = got; break;
            }
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &w1);
    getrusage(RUSAGE_SELF, &r1);
    double user = tv(r1.ru_utime) - tv(r0.ru_utime), sys = tv(r1.ru_stime) - tv(r0.ru_stime);
    printf("floor requests=%ld ok=%ld pace_us=%ld chain=%ld cpu_us_per_request=%.2f user_us=%.0f sys_us=%.0f wall_s=%.3f reply_bytes=%ld\n",
           n, ok, pace_us, chain, (user + sys) / (n ? n : 1), user, sys,
           (w1.tv_sec - w0.tv_sec) + (w1.tv_nsec - w0.tv_nsec) / 1e9, bytes);
    return ok == n ? 0 : 1;
}
