"""Fetchers of published MSI-Net weights, one module per source, plus the shared
download and archive tools. Import them from :mod:`saliency_cam.export.download`."""
