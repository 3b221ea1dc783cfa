"""Training jobs that recover by themselves: aiida-core's ``BaseRestartWorkChain`` around each training CalcJob.

``NequipTrainingBaseWorkChain`` (``limlip.nequip.train.base``) and ``DeepmdTrainingBaseWorkChain``
(``limlip.deepmd.train.base``) run their CalcJob and handle its two recoverable failures:

- killed before the end (exit 320: the scheduler's walltime, a signal): the next job continues from the last
  checkpoint in the killed job's remote folder, as long as each attempt gets further than the one before;
- diverged (exit 310, a non-finite or exploding loss): one retry from scratch with the learning rate divided by
  :data:`LEARNING_RATE_FACTOR`, then a clear failure.

A NequIP run stopped by its own time budget (``max_train_seconds``) is not a failure: its job returns the best
checkpoint so far, marked ``finished: False``, and is not restarted.
"""

from __future__ import annotations

import copy

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import BaseRestartWorkChain, ProcessHandlerReport, process_handler, while_

from ..calculations.deepmd import DeepmdTrainingCalculation
from ..calculations.nequip import NequipTrainingCalculation
from ..calculations.training import TrainingCalculation
from .common import FreshCodeMixin

#: The learning rate of the retry after a divergence is the first one divided by this.
LEARNING_RATE_FACTOR = 10.0


class TrainingBaseWorkChain(FreshCodeMixin, BaseRestartWorkChain):
    """Run a training CalcJob; restart it from its checkpoint when killed, retry once when it diverges."""

    _process_class = NequipTrainingCalculation
    _namespace = 'training'

    @classmethod
    def define(cls, spec):
        """Define the process specification."""
        super().define(spec)
        spec.expose_inputs(cls._process_class, namespace=cls._namespace)
        spec.expose_outputs(cls._process_class)
        spec.inputs['max_iterations'].default = lambda: orm.Int(6)
        spec.outline(
            cls.setup,
            while_(cls.should_run_process)(cls.run_process, cls.inspect_process),
            cls.results,
        )
        spec.exit_code(
            410,
            'ERROR_DIVERGED_AGAIN',
            message='The training diverged with learning rate {first} and again with {second} ({reason}): check the '
            'labels (units, outliers) and the settings. No potential is returned.',
        )
        spec.exit_code(
            420,
            'ERROR_NO_PROGRESS',
            message='The restarted training was killed again before getting beyond {unit} {done}: the time limit '
            'is too short to reach a new checkpoint. Raise max_wallclock_seconds.',
        )

    def setup(self):
        """Take the CalcJob's inputs; the handlers change them between attempts."""
        super().setup()
        self.ctx.inputs = AttributeDict(self.exposed_inputs(self._process_class, self._namespace))
        self.ctx.lowered_learning_rate = None
        self.ctx.progress = -1

    def report_error_handled(self, node: orm.CalcJobNode, action: str) -> None:
        """Report what went wrong and what happens next."""
        self.report(f'{node.process_label}<{node.pk}> failed with exit status {node.exit_status}: {node.exit_message}')
        self.report(f'action taken: {action}')

    # -- what each architecture calls its learning rate and its progress ----------------------------------------------

    def learning_rate(self) -> float:
        """Return the initial learning rate of the next job."""
        raise NotImplementedError

    def set_learning_rate(self, value: float) -> None:
        """Set the initial learning rate of the next job."""
        raise NotImplementedError

    @staticmethod
    def progress(node: orm.CalcJobNode) -> tuple[str, int]:
        """Return the unit (epoch or step) and how far the learning curve of ``node`` got."""
        raise NotImplementedError

    # -- handlers ---------------------------------------------------------------------------------------------------

    @process_handler(priority=500, exit_codes=TrainingCalculation.exit_codes.ERROR_OUT_OF_WALLTIME)
    def handle_killed(self, node: orm.CalcJobNode) -> ProcessHandlerReport:
        """Continue from the last checkpoint of the killed job, if it got further than the attempt before."""
        unit, done = self.progress(node)
        if done <= self.ctx.progress:
            self.report(f'{node.process_label}<{node.pk}> stopped at {unit} {done} again')
            return ProcessHandlerReport(True, self.exit_codes.ERROR_NO_PROGRESS.format(unit=unit, done=done))
        self.ctx.progress = done
        self.ctx.inputs.parent_folder = node.outputs.remote_folder
        self.report_error_handled(
            node, f'restarting from the last checkpoint in RemoteData<{node.outputs.remote_folder.pk}>'
        )
        return ProcessHandlerReport(True)

    @process_handler(priority=400, exit_codes=TrainingCalculation.exit_codes.ERROR_DIVERGED)
    def handle_diverged(self, node: orm.CalcJobNode) -> ProcessHandlerReport:
        """Retry once from scratch with a lower learning rate; fail if that diverges too."""
        current = self.learning_rate()
        if self.ctx.lowered_learning_rate is not None:
            reason = node.exit_message.split('(', 1)[-1].split(')', 1)[0]
            message = self.exit_codes.ERROR_DIVERGED_AGAIN.format(
                first=self.ctx.lowered_learning_rate, second=current, reason=reason
            )
            return ProcessHandlerReport(True, message)
        self.ctx.lowered_learning_rate = current
        self.set_learning_rate(current / LEARNING_RATE_FACTOR)
        self.ctx.inputs.pop('parent_folder', None)  # a diverged checkpoint is no place to continue from
        self.ctx.progress = -1
        self.report_error_handled(node, f'retrying from scratch with learning rate {current / LEARNING_RATE_FACTOR:g}')
        return ProcessHandlerReport(True)


class NequipTrainingBaseWorkChain(TrainingBaseWorkChain):
    """``NequipTrainingCalculation`` with restarts from its checkpoint and one retry at a lower learning rate."""

    _process_class = NequipTrainingCalculation

    def learning_rate(self) -> float:
        """Return ``parameters.learning_rate`` (default of :mod:`aiida_limlip.training.nequip`)."""
        from ..training.nequip import DEFAULT_SETTINGS

        return self.ctx.inputs.parameters.get('learning_rate', DEFAULT_SETTINGS['learning_rate'])

    def set_learning_rate(self, value: float) -> None:
        """Set ``parameters.learning_rate``."""
        self.ctx.inputs.parameters = orm.Dict({**self.ctx.inputs.parameters.get_dict(), 'learning_rate': value})

    @staticmethod
    def progress(node: orm.CalcJobNode) -> tuple[str, int]:
        """Return ``('epoch', epochs done)``: the last epoch logged plus one, counted from the training's start.

        A continued job logs only its own epochs, so their number is not the progress (a third job that made fewer
        epochs than the second was once taken for no progress at all).
        """
        curve = node.outputs.learning_curve if 'learning_curve' in node.outputs else None
        epochs = [] if curve is None else curve.get_array('epoch')
        return 'epoch', int(epochs[-1]) + 1 if len(epochs) else 0


class DeepmdTrainingBaseWorkChain(TrainingBaseWorkChain):
    """``DeepmdTrainingCalculation`` with restarts from its checkpoint and one retry at a lower learning rate."""

    _process_class = DeepmdTrainingCalculation

    def learning_rate(self) -> float:
        """Return ``learning_rate.start_lr`` of the deepmd-kit input."""
        return self.ctx.inputs.parameters.get_dict().get('learning_rate', {}).get('start_lr', 1.0e-3)

    def set_learning_rate(self, value: float) -> None:
        """Scale ``start_lr`` and ``stop_lr`` together (deepmd-kit needs stop_lr below start_lr)."""
        parameters = copy.deepcopy(self.ctx.inputs.parameters.get_dict())
        rates = parameters.setdefault('learning_rate', {})
        scale = value / rates.get('start_lr', 1.0e-3)  # deepmd-kit's default
        rates['start_lr'] = value
        if 'stop_lr' in rates:
            rates['stop_lr'] *= scale
        self.ctx.inputs.parameters = orm.Dict(parameters)

    @staticmethod
    def progress(node: orm.CalcJobNode) -> tuple[str, int]:
        """Return ``('step', last step logged)``."""
        curve = node.outputs.learning_curve if 'learning_curve' in node.outputs else None
        steps = [] if curve is None else curve.get_array('step')
        return 'step', int(steps[-1]) if len(steps) else 0
