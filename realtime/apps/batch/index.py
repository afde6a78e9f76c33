"""The index of finished outputs: one JSON line per file done, appended (and fsynced) as
each finishes, so a rerun skips them and a killed run resumes where it stopped.

A file counts as done when its line's key matches (same source bytes by size and
mtime, same job settings, same model checksum) *and* every output it listed still
exists. Outputs themselves are written atomically by the task, so an output that
exists is whole.

>>> index = DoneIndex(Path("out/.saliency-cam-done.jsonl"))   # doctest: +SKIP
>>> index.is_done(task)                                        # doctest: +SKIP
False
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterable
from pathlib import Path

INDEX_NAME = ".saliency-cam-done.jsonl"


def task_key(kind: str, source: Path, settings: str, model_sha256: str) -> str:
    """A digest of what makes an output: the job kind and settings, the source file's
    identity (resolved path, size, mtime) and the model."""
    stat = source.stat()
    text = json.dumps(
        [kind, str(source.resolve()), stat.st_size, stat.st_mtime_ns, settings, model_sha256]
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class DoneIndex:
    """Keys of finished files, stored as JSON lines in ``path`` (thread-safe appends)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._done: dict[str, list[str]] = {}
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:  # a line cut by a kill is skipped: that file simply runs again
                    entry = json.loads(line)
                    self._done[entry["key"]] = list(entry.get("outputs", []))
                except (ValueError, KeyError, TypeError):
                    continue

    def is_done(self, key: str) -> bool:
        outputs = self._done.get(key)
        return outputs is not None and all(Path(p).exists() for p in outputs)

    def record(self, key: str, source: Path, outputs: Iterable[Path]) -> None:
        """Append one finished file (flushed and fsynced before returning)."""
        names = [str(p) for p in outputs]
        line = json.dumps({"key": key, "source": str(source), "outputs": names}) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
            self._done[key] = names
