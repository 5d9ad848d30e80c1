#!/usr/bin/env python3
# Cuts every TCP socket a process holds (its listening forwards and their connections) from
# outside: pidfd_getfd(2) duplicates each socket into this process, and shutdown(2) acts on the
# socket itself, so the owner sees its peer gone and a listener stops accepting. This is "the SSH
# forward closed" for the fault suite, without iptables or ss -K (this kernel lacks
# INET_DIAG_DESTROY). Usage: cut-tcp.py PID; prints how many sockets were cut.
import ctypes
import os
import socket
import sys

SYS_PIDFD_GETFD = 438


def tcp_inodes() -> set:
    inodes = set()
    for table in ('/proc/net/tcp', '/proc/net/tcp6'):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    inodes.add(line.split()[9])
        except FileNotFoundError:
            pass
    return inodes


def main() -> int:
    pid = int(sys.argv[1])
    libc = ctypes.CDLL(None, use_errno=True)
    tcp = tcp_inodes()
    pidfd = os.pidfd_open(pid)
    cut = 0
    for name in os.listdir(f'/proc/{pid}/fd'):
        try:
            target = os.readlink(f'/proc/{pid}/fd/{name}')
        except OSError:
            continue
        if not target.startswith('socket:[') or target[8:-1] not in tcp:
            continue
        fd = libc.syscall(SYS_PIDFD_GETFD, pidfd, int(name), 0)
        if fd < 0:
            print(f'pidfd_getfd {name}: errno {ctypes.get_errno()}', file=sys.stderr)
            return 1
        s = socket.socket(fileno=fd)
        try:
            s.shutdown(socket.SHUT_RDWR)
            cut += 1
        except OSError:
            pass
        finally:
            s.close()
    print(cut)
    return 0


sys.exit(main())
