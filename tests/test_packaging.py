"""The compiled catalogs ship in the package, built by the packaging step: a fresh `pip install .` in a
throwaway venv has them, and so does an editable install (beside their sources). Real pip, real venvs."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(600)
ROOT = Path(__file__).parents[1]
LANGUAGES = ("en", "hi", "tr")
PROBE = ("import gettext, sys; t = gettext.translation('presswatch', sys.argv[1], languages=['tr']);"
         " print(t.gettext('First seen'))")


def source_copy(target: Path) -> Path:
    """The repository's tracked files (no compiled catalog among them) in ``target``."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=False)
    names = [name for name in listed.stdout.decode().split("\0") if name] if listed.returncode == 0 else []
    if not names:  # not a git checkout: everything but build products
        names = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file()
                 and not {".git", ".venv", "build", "__pycache__"} & set(p.relative_to(ROOT).parts)]
    for name in names:
        if name.endswith(".mo") or not (ROOT / name).is_file():
            continue
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target / name)
    assert not list(target.rglob("*.mo"))
    return target


@pytest.fixture(scope="module")
def python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=True).create(home)
    return home / "bin" / "python"


def pip_install(python: Path, *args: str) -> None:
    result = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", *args],
                            capture_output=True, text=True, timeout=540, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def site_packages(python: Path) -> Path:
    found = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                           capture_output=True, text=True, check=True)
    return Path(found.stdout.strip())


def translated(python: Path, locales: Path) -> str:
    return subprocess.run([str(python), "-c", PROBE, str(locales)], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_a_fresh_pip_install_has_the_compiled_catalogs(python: Path, tmp_path: Path) -> None:
    pip_install(python, str(source_copy(tmp_path / "src")))
    locales = site_packages(python) / "bot" / "locales"
    for code in LANGUAGES:
        assert (locales / code / "LC_MESSAGES" / "presswatch.mo").is_file(), code
    assert translated(python, locales) == "İlk görülme"


def test_an_editable_install_compiles_them_beside_their_sources(python: Path, tmp_path: Path) -> None:
    source = source_copy(tmp_path / "src")
    pip_install(python, "-e", str(source))
    for code in LANGUAGES:
        assert (source / "bot" / "locales" / code / "LC_MESSAGES" / "presswatch.mo").is_file(), code
    assert translated(python, source / "bot" / "locales") == "İlk görülme"
    assert sys.executable != str(python)
