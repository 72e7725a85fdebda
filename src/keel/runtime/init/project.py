"""What ``keel init`` learns about the project it runs in, without importing any of it.

The settings may need variables that are not set where ``keel init`` runs, so nothing is
imported: the settings module comes from ``manage.py`` (as ``keel`` itself reads it), the
WSGI and ASGI entry points from the settings file and the package's ``wsgi.py`` /
``asgi.py``, and how dependencies are installed from the files beside ``manage.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from keel.conf import project_settings_module

#: How the image installs the project's dependencies, by the file that says what they are.
DEPENDENCY_FILES = (("uv", "uv.lock"), ("pip", "requirements.txt"))

_WSGI_SETTING = re.compile(r"""^WSGI_APPLICATION\s*=\s*["']([\w.]+)["']""", re.MULTILINE)


class NotAProject(Exception):
    """``keel init`` was run where it cannot tell which Django project to set up."""


@dataclass(frozen=True, kw_only=True)
class Project:
    root: Path
    #: A name for stacks and physical resources: lowercase letters, digits and dashes.
    name: str
    settings_module: str
    wsgi_application: str | None
    asgi_application: str | None
    #: "uv" (uv.lock) or "pip" (requirements.txt).
    dependencies: str


def detect(root: Path) -> Project:
    """Read the project in ``root`` (the directory holding ``manage.py``)."""
    if not (root / "manage.py").is_file():
        raise NotAProject(
            f"no manage.py in {root}: run keel init in the directory that holds your "
            "Django project's manage.py."
        )
    settings_module = project_settings_module(str(root))
    if settings_module is None:
        raise NotAProject(
            "manage.py does not name a settings module (os.environ.setdefault("
            '"DJANGO_SETTINGS_MODULE", ...)); add that line, as django-admin startproject '
            "writes it."
        )
    settings_file = root / (settings_module.replace(".", "/") + ".py")
    if not settings_file.is_file():
        settings_file = root / settings_module.replace(".", "/") / "__init__.py"
    if not settings_file.is_file():
        raise NotAProject(f"the settings module {settings_module} is not a file under {root}.")
    package = settings_module.rsplit(".", 1)[0] if "." in settings_module else settings_module
    found_wsgi = _WSGI_SETTING.search(settings_file.read_text(encoding="utf-8"))
    wsgi = found_wsgi.group(1) if found_wsgi else _entry_point(root, package, "wsgi")
    dependencies = next(
        (manager for manager, marker in DEPENDENCY_FILES if (root / marker).is_file()), None
    )
    if dependencies is None:
        raise NotAProject(
            "keel init writes an image that installs the project's dependencies from "
            "uv.lock (uv) or requirements.txt (pip), and found neither; add one (with keel "
            "in it) and run keel init again."
        )
    return Project(
        root=root,
        name=_stack_name(root, package),
        settings_module=settings_module,
        wsgi_application=wsgi,
        asgi_application=_entry_point(root, package, "asgi"),
        dependencies=dependencies,
    )


def _entry_point(root: Path, package: str, kind: str) -> str | None:
    module = root / package.replace(".", "/") / f"{kind}.py"
    if module.is_file() and re.search(r"^application\s*=", module.read_text(), re.MULTILINE):
        return f"{package}.{kind}.application"
    return None


def _stack_name(root: Path, package: str) -> str:
    """A Pulumi project and resource prefix: the top package's name, made DNS-safe."""
    name = re.sub(r"[^a-z0-9]+", "-", package.split(".")[0].lower()).strip("-")
    if not name or not name[0].isalpha():
        name = re.sub(r"[^a-z0-9]+", "-", root.name.lower()).strip("-") or "app"
    return name[:20]
