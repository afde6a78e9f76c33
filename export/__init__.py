"""Export: read published MSI-Net weights and write ONNX variants (needs the export extra)."""

import sys
import types
from typing import Any

# TensorFlow's C++ log level is set where every import starts: the saliency_cam package.
from saliency_cam.models.install import EXPORT_MODULES, missing_modules  # noqa: E402

__all__ = ["EXPORT_MODULES", "missing_export_modules", "require_export_extra"]


def missing_export_modules() -> list[str]:
    """Modules of the export extra that are not installed (empty when export works)."""
    return missing_modules(EXPORT_MODULES)


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


class _ExportPackage(types.ModuleType):
    """This package, callable: ``saliency_cam.export(quality=[...])`` is
    :func:`saliency_cam.export.run.export`. Python binds a subpackage as an attribute of
    its parent when imported, so ``saliency_cam.export`` is always this module; making the
    module callable keeps the public call and the package under one name."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from saliency_cam.export.run import export

        return export(*args, **kwargs)


sys.modules[__name__].__class__ = _ExportPackage
