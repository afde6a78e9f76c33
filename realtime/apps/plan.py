"""What a file command will do, planned before any work starts: the jobs (each input and
where its results go), the arguments that named nothing usable and the files skipped as
the command's own earlier outputs. One type for every file command (``image``,
``video``, ``reframe``, ``crop``), so the CLI reports every plan the same way.

>>> plan = Plan(jobs=[("a.jpg", "a_saliency.png")], problems=[("b.gif", "not an image")])
>>> plan.total
2
"""

from __future__ import annotations

from collections.abc import Sized
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

#: The jobs container: a list of (input, outputs) pairs, or a mapping input → outputs.
JobsT = TypeVar("JobsT", bound=Sized)


@dataclass
class Plan(Generic[JobsT]):
    """The jobs, the ``(argument, message)`` problems and the skipped own outputs."""

    jobs: JobsT
    problems: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)

    @property
    def total(self) -> int:
        """Inputs asked for (the failures count against this)."""
        return len(self.jobs) + len(self.problems)
