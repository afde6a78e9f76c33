"""How the commands print: one console style, the model line (with UNTRAINED said
plainly) and per-input problems, shared so every command reads the same."""

from __future__ import annotations

from typing import Any

UNTRAINED_LINE = (
    "[bold yellow]UNTRAINED[/]: this model has seeded random weights (tests and speed "
    "only): its maps are meaningless; export trained weights with 'saliency-cam export'"
)


def console(stderr: bool = False) -> Any:
    """A rich console for a command's output (stdout) or its notes and errors (stderr)."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def print_model(err: Any, session: Any) -> None:
    """Which model runs where, how the backend was chosen, and UNTRAINED when it is."""
    if session.choice.note and session.backend == "onnxruntime":
        err.print(session.choice.note)
    if session.backend_note:
        err.print(session.backend_note)
    resolved = session.resolved
    err.print(
        f"model: {session.variant.label()} on {session.providers[0]} "
        f"({resolved.backend}, sha256 {resolved.sha256[:12]})"
    )
    if not session.trained:
        err.print(UNTRAINED_LINE)


def report_problems(err: Any, problems: list[tuple[str, str]]) -> None:
    """One ``error: NAME: message`` line per input that cannot be used."""
    for name, message in problems:
        err.print(f"[red]error[/]: {name}: {message}", markup=True)
