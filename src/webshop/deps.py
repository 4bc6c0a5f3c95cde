"""Install the dbt packages of package-lock.yml: from the dbt Hub, or from a local mirror.

Online, `dbt deps` does the work. Air-gapped (CI, trains, locked-down laptops), the
locked versions are cloned from a mirror directory that holds one git repository per
package, named by package name (`dbt_utils`, `dbt_expectations`, `dbt_date`), with the
locked version as a tag. Package code is never committed to this repository.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import yaml

MARKER = ".installed-lock"


class DepsError(RuntimeError):
    """The packages could not be installed either way."""


def default_mirror() -> Path:
    return Path(os.environ.get("DBT_PACKAGES_MIRROR", "~/.cache/dbt-mirror")).expanduser()


def locked_packages(project_dir: Path) -> list[tuple[str, str]]:
    """(name, version) of every package in package-lock.yml, dependencies included."""
    lock = yaml.safe_load((project_dir / "package-lock.yml").read_text())
    return [(str(p["name"]), str(p["version"])) for p in lock["packages"]]


def install(project_dir: Path, mirror: Path, *, try_hub: bool = True) -> str:
    """Install the locked packages into dbt_packages/; return where they came from."""
    target = project_dir / "dbt_packages"
    lock_hash = hashlib.sha256((project_dir / "package-lock.yml").read_bytes()).hexdigest()
    marker = target / MARKER
    if marker.exists() and marker.read_text() == lock_hash:
        return "already installed"
    source = "the dbt Hub"
    if not (try_hub and _dbt_deps(project_dir)):
        source = f"the mirror {mirror}"
        _install_from_mirror(project_dir, mirror, target)
    marker.write_text(lock_hash)
    return source


def _dbt_deps(project_dir: Path) -> bool:
    try:
        proc = subprocess.run(
            ["dbt", "deps", "--project-dir", str(project_dir), "--profiles-dir", str(project_dir)],
            capture_output=True,
            text=True,
            timeout=180,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def _install_from_mirror(project_dir: Path, mirror: Path, target: Path) -> None:
    packages = locked_packages(project_dir)
    missing = [
        f"{name} {version}" for name, version in packages if not _has_tag(mirror / name, version)
    ]
    if missing:
        raise DepsError(
            "cannot install dbt packages: the dbt Hub did not answer and the mirror "
            f"{mirror} lacks {', '.join(missing)}. Either let `dbt deps` reach hub.getdbt.com, "
            "or set DBT_PACKAGES_MIRROR to a directory holding one git repository per package "
            "(dbt_utils, dbt_expectations, dbt_date) with the locked versions as tags."
        )
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir()
    for name, version in packages:
        subprocess.run(
            [
                "git",
                "clone",
                "--quiet",
                "--depth",
                "1",
                "--branch",
                version,
                f"file://{(mirror / name).resolve()}",
                str(target / name),
            ],
            check=True,
            capture_output=True,
        )
        shutil.rmtree(target / name / ".git")


def _has_tag(repo: Path, tag: str) -> bool:
    if not repo.exists():
        return False
    proc = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}"],
        capture_output=True,
    )
    return proc.returncode == 0
