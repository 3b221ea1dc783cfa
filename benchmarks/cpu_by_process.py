"""Where the CPU goes while something runs: CPU seconds by kind of process, sampled every second from /proc.

    python benchmarks/cpu_by_process.py out.json &      # start, then run the campaign (or anything)
    kill %1                                             # stop: prints the totals, writes the timeline
    python benchmarks/cpu_by_process.py --show out.json # the timeline in 60 s bins

Kinds: pw.x, runner (limlip-runner), lammps, training (dp, nequip), daemon (verdi daemon workers), postgres,
rabbitmq, other. "idle" is the machine's idle time over the same span, from /proc/stat. A process that ends between
two samples loses its last second, so short jobs are undercounted by up to a second each.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import time

HZ = os.sysconf('SC_CLK_TCK')
KINDS = (
    ('pw.x', ('pw.x',)),
    ('runner', ('limlip-runner',)),
    ('lammps', ('lmp', 'lammps')),
    ('training', ('dp ', 'nequip-train', 'nequip-compile')),
    ('daemon', ('daemon worker', 'daemon start-circus', 'circus')),
    ('postgres', ('postgres',)),
    ('rabbitmq', ('beam', 'rabbit', 'epmd')),
)


def kind_of(command: str) -> str:
    """Return the kind of a process from its command line."""
    for kind, needles in KINDS:
        if any(needle in command for needle in needles):
            return kind
    return 'other'


def cpu_by_pid() -> dict[str, tuple[float, str, str]]:
    """Return {pid: (CPU seconds, kind, start time)} of every process."""
    result = {}
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open(f'/proc/{pid}/stat') as handle:
                stat = handle.read()
            with open(f'/proc/{pid}/cmdline') as handle:
                command = handle.read().replace('\0', ' ')
        except OSError:
            continue
        fields = stat[stat.rfind(')') + 2 :].split()
        result[pid] = ((int(fields[11]) + int(fields[12])) / HZ, kind_of(command), fields[19])
    return result


def idle_seconds() -> float:
    """Return the machine's idle (and I/O wait) CPU seconds since boot."""
    with open('/proc/stat') as handle:
        values = [int(value) for value in handle.readline().split()[1:]]
    return (values[3] + values[4]) / HZ


def sample(path: str, interval: float = 1.0) -> None:
    """Sample until SIGTERM or SIGINT, then write the totals and the timeline to ``path`` and print the totals."""
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    start, idle_start = time.monotonic(), idle_seconds()
    previous, totals, timeline = cpu_by_pid(), {}, []
    while not stop:
        time.sleep(interval)
        current, row = cpu_by_pid(), {}
        for pid, (cpu, kind, started) in current.items():
            before = previous.get(pid)
            delta = cpu - before[0] if before and before[2] == started else cpu
            if delta > 0:
                row[kind] = row.get(kind, 0.0) + delta
        for kind, value in row.items():
            totals[kind] = totals.get(kind, 0.0) + value
        timeline.append((round(time.monotonic() - start, 1), row))
        previous = current
    summary = {'wall': time.monotonic() - start, 'idle': idle_seconds() - idle_start, 'totals': totals}
    with open(path, 'w') as handle:
        json.dump({**summary, 'timeline': timeline}, handle)
    print(json.dumps(summary, indent=1))


def show(path: str, width: float = 60.0) -> None:
    """Print the mean number of busy cores per kind in bins of ``width`` seconds."""
    with open(path) as handle:
        data = json.load(handle)
    bins: dict[int, dict[str, float]] = {}
    for moment, row in data['timeline']:
        entry = bins.setdefault(int(moment // width), {})
        for kind, value in row.items():
            entry[kind] = entry.get(kind, 0.0) + value
    for index in sorted(bins):
        row = bins[index]
        busy = ' '.join(f'{k}={v / width:.2f}' for k, v in sorted(row.items(), key=lambda kv: -kv[1]) if v > 1)
        print(f'{index * width:6.0f} s  busy {sum(row.values()) / width:.2f} cores: {busy}')


def main() -> None:
    """Sample, or show a finished sample."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('path')
    parser.add_argument('--show', action='store_true', help='print the timeline of a finished sample')
    arguments = parser.parse_args()
    show(arguments.path) if arguments.show else sample(arguments.path)


if __name__ == '__main__':
    main()
