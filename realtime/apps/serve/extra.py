"""What ``saliency-cam serve`` needs beyond the core (the serve extra), checked before
anything imports it, so a missing package is one line naming the pip command instead of
a ModuleNotFoundError from deep inside FastAPI's import. Imports nothing optional."""

from __future__ import annotations

from saliency_cam.models.install import missing_modules

#: Modules the server cannot start without (the serve extra; swagger-ui-bundle is optional:
#: /docs falls back to the CDN copy).
SERVE_MODULES: tuple[str, ...] = ("fastapi", "uvicorn", "python_multipart")


def missing_serve_modules() -> list[str]:
    """Modules of the serve extra that are not installed (empty when serving works)."""
    return missing_modules(SERVE_MODULES)


def require_serve_extra(purpose: str = "saliency-cam serve") -> None:
    """Raise one clear error naming the install command when the serve extra is missing.

    >>> require_serve_extra()  # doctest: +SKIP
    """
    from saliency_cam.models.errors import SaliencyCamError
    from saliency_cam.models.install import install_command

    missing = missing_serve_modules()
    if missing:
        raise SaliencyCamError(
            f"{purpose} needs the serve extra ({', '.join(missing)} not installed): "
            + install_command("serve")
        )
