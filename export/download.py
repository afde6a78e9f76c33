"""Fetch published MSI-Net weights into the user cache, safely.

The one import point for the download layer (implementations live in
:mod:`saliency_cam.export.fetchers`, one module per source):

- :func:`fetch_hf_savedmodel` — the SALICON SavedModel from Hugging Face (pinned revision).
- :func:`fetch_tfjs_model` — the browser demo's TF.js graph model for one quality preset.
- :func:`fetch_drive_graph` — a zip of the original frozen graphs from Google Drive (gdown).
- :func:`download_file` — one URL to one file: resumable, verified, never a half file
  under the final name.
- :func:`extract_zip_safely` — unpack an archive without letting entries escape.

Every failure is a :class:`~saliency_cam.models.errors.DownloadError` (or ``WeightsError``
for a damaged archive) whose one line says what to do, usually: download by hand and
pass the file with ``--weights-path``. Base URLs can be overridden (``HF_ENDPOINT``,
``SALIENCY_CAM_TFJS_BASE_URL``, ``SALIENCY_CAM_DRIVE_BASE_URL``) for mirrors and tests;
they are read at call time. Everything lands under ``weights_cache_dir()``
(``$SALIENCY_CAM_CACHE_DIR`` overrides).

>>> model_dir = fetch_tfjs_model("very-low")  # doctest: +SKIP
>>> sorted(p.name for p in model_dir.iterdir())  # doctest: +SKIP
['.complete', 'group1-shard1of1.bin', 'model.json']
"""

from __future__ import annotations

from saliency_cam.export.fetchers.archive import extract_zip_safely
from saliency_cam.export.fetchers.drive import DRIVE_BASE_URL_ENV, fetch_drive_graph
from saliency_cam.export.fetchers.hf import HF_ALLOW_PATTERNS, fetch_hf_savedmodel
from saliency_cam.export.fetchers.http_download import download_file
from saliency_cam.export.fetchers.tfjs import COMPLETE_STAMP, TFJS_BASE_URL_ENV, fetch_tfjs_model

__all__ = [
    "COMPLETE_STAMP",
    "DRIVE_BASE_URL_ENV",
    "HF_ALLOW_PATTERNS",
    "TFJS_BASE_URL_ENV",
    "download_file",
    "extract_zip_safely",
    "fetch_drive_graph",
    "fetch_hf_savedmodel",
    "fetch_tfjs_model",
]
