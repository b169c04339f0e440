#!/usr/bin/env python3
"""bench/startup.py: start-up + compile of a ruleset (issue 6: under 10 ms).

    bench/startup.py [-n RUNS] [--rules FILE] CRIBLE...

Runs `CRIBLE check FILE` and `CRIBLE --version` for each binary given (e.g. two builds to
compare), and /bin/true for scale, interleaved so that neighbours' load hits all alike, and
prints the median and first quartile of CPU time (user + sys, from wait4) and of wall time.
CPU time is the figure to compare on a shared machine; wall time follows the load.
"""
import argparse
import os
import statistics
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=200, help="runs of each command (default 200)")
    ap.add_argument("--rules", default=os.path.join(ROOT, "rules", "mali-2019.rules"))
    ap.add_argument("crible", nargs="+", help="crible binaries")
    a = ap.parse_args()
    commands = []
    for b in a.crible:
        commands.append((f"{b} check", [b, "check", a.rules]))
        commands.append((f"{b} --version", [b, "--version"]))
    commands.append(("/bin/true", ["/bin/true"]))
    cpu = {label: [] for label, _ in commands}
    wall = {label: [] for label, _ in commands}
    devnull = os.open(os.devnull, os.O_WRONLY)
    for _ in range(a.n):
        for label, argv in commands:
            t0 = time.perf_counter()
            # posix_spawn, not fork + exec: a forked child would first copy and then tear down
            # the page tables of this Python process, and that counted in its CPU time (7.6 ms
            # for /bin/true on one virtual machine, against ~1 ms spawned).
            pid = os.posix_spawn(argv[0], argv, os.environ,
                                 file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1),
                                               (os.POSIX_SPAWN_DUP2, devnull, 2)])
            _, status, usage = os.wait4(pid, 0)
            wall[label].append((time.perf_counter() - t0) * 1e3)
            cpu[label].append((usage.ru_utime + usage.ru_stime) * 1e3)
            if label.endswith(" check") and os.waitstatus_to_exitcode(status) != 0:
                raise SystemExit(f"{' '.join(argv)} failed")

    def q1(v):
        return sorted(v)[len(v) // 4]

    print(f"{a.n} runs each, load average {os.getloadavg()[0]:.1f}; milliseconds")
    print(f"{'command':50s} {'cpu median':>10s} {'cpu q1':>7s} {'wall median':>11s} {'wall q1':>8s}")
    for label, _ in commands:
        c, w = cpu[label], wall[label]
        print(f"{label:50s} {statistics.median(c):10.2f} {q1(c):7.2f} {statistics.median(w):11.2f} {q1(w):8.2f}")


if __name__ == "__main__":
    main()
