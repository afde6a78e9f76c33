"""Which files a ``video``/``image`` command processes and where each result goes.

Inputs may be files, folders (their direct contents with a matching extension, hidden
files skipped) or glob patterns; each input gets output names that depend only on its
own name, so a re-run writes the same files:

>>> plan = plan_outputs([Path("clips/a.mp4")], Path("out"), "_saliency", ".mp4")
>>> plan[Path("clips/a.mp4")]
PosixPath('out/a_saliency.mp4')

Nothing is ever written over an input: an output that resolves to an input file is
refused before any work starts.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from saliency_cam.models.errors import InputError, SaliencyCamError

_GLOB_CHARS = frozenset("*?[")


def output_argument(text: str | os.PathLike[str] | None) -> Path | None:
    """An ``-o`` value as typed: one ending in a slash always names a folder, created
    here when missing (``results.v2/`` is not a file with the suffix ``.v2``); other
    values are returned as paths, for the plan to decide file or folder."""
    if text is None:
        return None
    raw = os.fspath(text)
    path = Path(raw)
    if raw.endswith(("/", os.sep)):
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            reason = (exc.strerror or type(exc).__name__).lower()
            raise SaliencyCamError(
                f"-o {raw}: cannot create that folder ({reason}): choose another place"
            ) from exc
    return path


def natural_key(path: Path) -> list[object]:
    """Sort ``img2`` before ``img10`` (case-insensitive)."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


@dataclass
class InputList:
    """Expanded inputs, in order and without duplicates, plus the arguments that named
    nothing usable (``(argument, message)``: reported as failures, not fatal)."""

    paths: list[Path] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)


def expand_inputs(
    sources: Iterable[str | os.PathLike[str]], suffixes: Collection[str]
) -> InputList:
    """Expand files, folders and globs into a list of files.

    A file named explicitly is always taken (if it is not media, reading it fails with a
    per-file error later); folders and globs contribute only files whose extension is in
    ``suffixes``, in natural order. Missing files and empty folders/patterns become
    entries of :attr:`InputList.problems`.
    """
    wanted = {s.lower() for s in suffixes}
    result = InputList()
    seen: set[Path] = set()

    def add(path: Path) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            result.paths.append(path)

    kinds = ", ".join(sorted(wanted))
    for source in sources:
        text = os.path.expanduser(str(source))
        path = Path(text)
        if path.is_file():
            add(path)
        elif path.is_dir():
            found = _media_in(path.iterdir(), wanted)
            if not found:
                result.problems.append((str(source), f"no files with {kinds} in this folder"))
            for item in found:
                add(item)
        elif _GLOB_CHARS & set(text):
            found = _media_in((Path(p) for p in glob.glob(text, recursive=True)), wanted)
            if not found:
                result.problems.append((str(source), f"pattern matches no {kinds} files"))
            for item in found:
                add(item)
        else:
            result.problems.append((str(source), "no such file or folder"))
    return result


def _media_in(paths: Iterable[Path], wanted: set[str]) -> list[Path]:
    # hidden files include our own half-written ".name.partial.ext" temporaries
    found = [
        p
        for p in paths
        if p.suffix.lower() in wanted and not p.name.startswith(".") and p.is_file()
    ]
    return sorted(found, key=natural_key)


def output_stems(inputs: Sequence[Path]) -> dict[Path, str]:
    """A distinct output stem per input: the file's stem, or ``stem_ext`` for inputs
    whose stems clash (``a.jpg`` and ``a.png`` → ``a_jpg``, ``a_png``); inputs from
    different folders with the same name get their folder's name in front as well."""
    by_stem: dict[str, list[Path]] = {}
    for path in inputs:
        by_stem.setdefault(path.stem, []).append(path)
    stems: dict[Path, str] = {}
    for stem, group in by_stem.items():
        if len(group) == 1:
            stems[group[0]] = stem
            continue
        for path in group:
            name = f"{stem}_{path.suffix.lstrip('.').lower()}"
            if sum(1 for p in group if p.suffix.lower() == path.suffix.lower()) > 1:
                name = f"{path.parent.name}_{name}"
            stems[path] = name
    if len(set(stems.values())) != len(stems):
        raise SaliencyCamError(
            "several inputs would write the same output name: run them separately "
            "or give each folder its own -o"
        )
    return stems


def plan_outputs(
    inputs: Sequence[Path],
    output: Path | None,
    tag: str,
    default_suffix: str,
    *,
    allow_file: bool = True,
) -> dict[Path, Path]:
    """The main output path of each input.

    - ``output`` None: next to the input, ``<stem><tag><default_suffix>``;
    - ``output`` a single file name (has a suffix, is not an existing folder, one input,
      ``allow_file``): exactly that path;
    - otherwise ``output`` is a folder: ``output/<stem><tag><default_suffix>``.
    """
    stems = output_stems(inputs)
    as_file = (
        allow_file
        and output is not None
        and len(inputs) == 1
        and output.suffix != ""
        and not output.is_dir()
    )
    plan: dict[Path, Path] = {}
    for path in inputs:
        if as_file:
            assert output is not None
            plan[path] = output
        else:
            folder = path.parent if output is None else output
            plan[path] = folder / f"{stems[path]}{tag}{default_suffix}"
    return plan


def refuse_overwriting_inputs(
    inputs: Iterable[Path], outputs: Iterable[Path], *, hint: str = "choose another -o"
) -> None:
    """Raise :class:`InputError` if any output is (or links to) one of the inputs;
    ``hint`` says what to change."""
    resolved = {p.resolve(): p for p in inputs}
    for out in outputs:
        clash = resolved.get(out.resolve())
        if clash is None and out.exists():
            clash = next((p for p in resolved.values() if _same_file(p, out)), None)
        if clash is not None:
            raise InputError(
                f"output {out} is the input {clash}: {hint} (inputs are never overwritten)"
            )


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def skip_own_outputs(
    inputs: Sequence[Path],
    outputs_of: Callable[[Sequence[Path]], Iterable[Path]],
    *,
    named: Iterable[str | os.PathLike[str]] = (),
) -> tuple[list[Path], list[Path]]:
    """Split ``inputs`` into ``(to process, skipped)``: an input that is one of the
    outputs the command would write for the *other* inputs (``outputs_of(inputs)``)
    is the command's own earlier result, found again when a folder is rerun. Files
    given by name in ``named`` (the command's arguments) are always processed.

    >>> skip_own_outputs([Path("a.jpg"), Path("a_saliency.png")], image_outputs)  # doctest: +SKIP
    ([PosixPath('a.jpg')], [PosixPath('a_saliency.png')])
    """
    own = {p.resolve() for p in outputs_of(inputs)}
    own -= {Path(os.path.expanduser(str(n))).resolve() for n in named}
    skipped = [p for p in inputs if p.resolve() in own]
    if not skipped:
        return list(inputs), []
    return [p for p in inputs if p not in skipped], skipped
