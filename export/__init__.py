"""Export: read published MSI-Net weights and write ONNX variants (needs the export extra)."""

# TensorFlow's C++ log level is set where every import starts: the saliency_cam package.

#: What exporting needs beyond the runtime (the export extra).
EXPORT_MODULES: tuple[str, ...] = ("tensorflow", "tf2onnx", "onnx", "requests")


def missing_export_modules() -> list[str]:
    """Modules of the export extra that are not installed (empty when export works)."""
    import importlib.util

    return [name for name in EXPORT_MODULES if importlib.util.find_spec(name) is None]


def require_export_extra(purpose: str = "export") -> None:
    """Raise one clear error naming the install command when the export extra is missing.

    >>> require_export_extra("the demo")  # doctest: +SKIP
    """
    from saliency_cam.models.errors import SaliencyCamError
    from saliency_cam.models.install import install_command

    missing = missing_export_modules()
    if missing:
        raise SaliencyCamError(
            f"{purpose} needs {', '.join(missing)} (not installed): " + install_command("export")
        )
