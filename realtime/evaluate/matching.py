"""Step 1 of ``saliency-cam evaluate``: pair the files of a predictions (or stimuli)
folder with the ground-truth folders by name (the path relative to its folder, without
extension), and list everything that does not pair up (nothing is silently skipped).

>>> m = match_folders(predictions=Path("preds"), fixations=Path("fix"))  # doctest: +SKIP
>>> m.items[0].key, m.missing_source                                      # doctest: +SKIP
('img_001', [])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.groundtruth import (
    DEFAULT_STRIP,
    FIXATION_SUFFIXES,
    IMAGE_SUFFIXES,
    MAP_SUFFIXES,
    FolderIndex,
    index_folder,
)


@dataclass(frozen=True)
class Item:
    """One image to score: its prediction (or stimulus) and its ground-truth files."""

    key: str
    source: Path
    fixations: Path | None = None
    saliency_map: Path | None = None


@dataclass
class Matching:
    """Matched items and every file that did not pair up (nothing is silently skipped)."""

    items: list[Item]
    #: ground-truth keys with no prediction / stimulus
    missing_source: list[str] = field(default_factory=list)
    #: prediction / stimulus keys with no ground truth at all
    missing_ground_truth: list[str] = field(default_factory=list)
    #: keys with fixations but no saliency map, or the reverse, when both were given
    incomplete: list[str] = field(default_factory=list)
    #: "key: a.png, a.npy (used a.png)" lines
    duplicates: list[str] = field(default_factory=list)
    #: files skipped for their extension
    ignored: list[str] = field(default_factory=list)


def match(
    sources: FolderIndex,
    fixations: FolderIndex | None = None,
    maps: FolderIndex | None = None,
) -> Matching:
    """Pair ``sources`` (predictions or stimuli) with ground truth by key."""
    if fixations is None and maps is None:
        raise SaliencyCamError("no ground truth: pass --fixations DIR and/or --maps DIR")
    fix_files = fixations.files if fixations else {}
    map_files = maps.files if maps else {}
    truth_keys = set(fix_files) | set(map_files)
    items = [
        Item(key, path, fix_files.get(key), map_files.get(key))
        for key, path in sorted(sources.files.items())
        if key in truth_keys
    ]
    incomplete: list[str] = []
    if fixations is not None and maps is not None:
        incomplete = sorted(set(fix_files) ^ set(map_files))
    duplicates: list[str] = []
    ignored: list[str] = []
    for index in (sources, fixations, maps):
        if index is None:
            continue
        for key, paths in sorted(index.duplicates.items()):
            names = ", ".join(p.name for p in paths)
            duplicates.append(f"{index.folder}/{key}: {names} (used {paths[0].name})")
        ignored.extend(str(p) for p in index.ignored)
    return Matching(
        items=items,
        missing_source=sorted(truth_keys - set(sources.files)),
        missing_ground_truth=sorted(set(sources.files) - truth_keys),
        incomplete=incomplete,
        duplicates=duplicates,
        ignored=ignored,
    )


def match_folders(
    *,
    predictions: Path | None = None,
    stimuli: Path | None = None,
    fixations: Path | None = None,
    maps: Path | None = None,
    strip: Sequence[str] = DEFAULT_STRIP,
) -> Matching:
    """Pair the files of ``predictions`` (maps to score) or ``stimuli`` (images to run a
    model on) with ground truth in ``fixations`` and/or ``maps`` by name. Raises
    :class:`SaliencyCamError` with what to do when the folders do not fit together.

    >>> m = match_folders(predictions=Path("preds"), fixations=Path("fix"))  # doctest: +SKIP
    >>> len(m.items)                                                          # doctest: +SKIP
    300
    """
    if (predictions is None) == (stimuli is None):
        raise SaliencyCamError(
            "give exactly one of --predictions DIR (maps to score) or --stimuli DIR "
            "(images to run the model on)"
        )
    if fixations is None and maps is None:
        raise SaliencyCamError("no ground truth: pass --fixations DIR and/or --maps DIR")
    source_dir = predictions if predictions is not None else stimuli
    assert source_dir is not None
    strip = tuple(strip)
    suffixes = MAP_SUFFIXES if predictions is not None else IMAGE_SUFFIXES
    sources = index_folder(source_dir, suffixes, strip)
    fix_index = index_folder(fixations, FIXATION_SUFFIXES, strip) if fixations else None
    map_index = index_folder(maps, MAP_SUFFIXES, strip) if maps else None
    matching = match(sources, fix_index, map_index)
    if not matching.items:
        example = ""
        truth_index = fix_index or map_index
        if sources.files and truth_index is not None:
            truth = next(iter(truth_index.files), None)
            example = f" (e.g. {next(iter(sources.files))!r} vs {truth!r})"
        raise SaliencyCamError(
            f"nothing to evaluate: none of the {len(sources.files)} files in {source_dir} "
            f"matches a ground-truth file by name{example}; names must agree without "
            "extension (use --strip-suffix for endings like _fixMap)"
        )
    return matching
