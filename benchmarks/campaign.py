"""The demo campaign through the daemon: its wall time and where it went (issue 14's goal: at most 15 min on 2 cores).

    python benchmarks/campaign.py            # submit the demo campaign to the daemon and wait
    python benchmarks/campaign.py --pk PK    # only the breakdown of a finished campaign

Prints the wall time per stage, the time with at least one job running, AiiDA's overhead (the rest), the summed job
time by kind (pw.x labelling, training, MD, runner), the accurate/candidate/failed fractions per iteration and Table 1.
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    """Run or read one campaign and print its breakdown."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--pk', type=int, help='a finished CampaignWorkChain to analyse instead of running one')
    parser.add_argument('--protocol', default='demo')
    parser.add_argument('--profile', default=None)
    arguments = parser.parse_args()

    from aiida import load_profile, orm

    load_profile(arguments.profile)
    from aiida_limlip.cli.campaign import CODES, print_breakdown, print_status
    from aiida_limlip.cli.demo import follow

    if arguments.pk is None:
        from aiida.engine import submit

        from aiida_limlip.cli.demo import ensure_daemon
        from aiida_limlip.workchains.campaign import CampaignWorkChain

        ensure_daemon()
        builder = CampaignWorkChain.get_builder_from_protocol(CODES, protocol=arguments.protocol)
        start = time.monotonic()
        node = submit(builder)
        print(f'submitted CampaignWorkChain<{node.pk}>')
        follow(node, timeout=7200)
        print(f'wall time from submission: {time.monotonic() - start:.0f} s')
    else:
        node = orm.load_node(arguments.pk)
    print_status(node)
    print()
    print_breakdown(node)


if __name__ == '__main__':
    main()
