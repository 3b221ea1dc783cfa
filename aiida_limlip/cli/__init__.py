"""The ``aiida-limlip`` command line interface."""

import click
from aiida.cmdline.groups import VerdiCommandGroup
from aiida.cmdline.params import options, types


@click.group('aiida-limlip', cls=VerdiCommandGroup, context_settings={'help_option_names': ['-h', '--help']})
@options.PROFILE(type=types.ProfileParamType(load_profile=True), expose_value=False)
def cmd_root():
    """Machine-learning potentials for lithium metal, end to end, with provenance."""


from .benchmark import cmd_table  # noqa: E402, F401
from .campaign import cmd_campaign, cmd_report  # noqa: E402, F401
from .demo import cmd_demo  # noqa: E402, F401
from .figure2 import cmd_fig2  # noqa: E402, F401
from .figure3 import cmd_fig3  # noqa: E402, F401
from .potential import cmd_potential  # noqa: E402, F401
from .setup import cmd_setup  # noqa: E402, F401
