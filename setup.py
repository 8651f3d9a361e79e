"""The packaging step that compiles the message catalogs: bot/locales/*/LC_MESSAGES/presswatch.po -> .mo.

Everything else is declared in pyproject.toml. The compiled catalogs are never committed and never built by
hand: a wheel gets them in its build folder, an editable install (``pip install -e .``) beside their sources.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from setuptools import Command, setup
from setuptools.command.build import build

LOCALES = Path("bot") / "locales"
DOMAIN = "presswatch"


class compile_catalogs(Command):
    """Compile every .po of bot/locales with Babel; a catalog with errors fails the build."""

    description = "compile the gettext catalogs (Babel)"
    user_options: ClassVar[list[tuple[str, str | None, str]]] = []

    def initialize_options(self) -> None:
        self.build_lib: str | None = None
        self.editable_mode = False

    def finalize_options(self) -> None:
        self.set_undefined_options("build_py", ("build_lib", "build_lib"))

    def _sources(self) -> list[Path]:
        return sorted(LOCALES.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))

    def _target(self, source: Path) -> Path:
        # An editable install imports bot/ from the source tree: the catalogs must sit there.
        root = Path(".") if self.editable_mode else Path(self.build_lib or "build/lib")
        return root / source.with_suffix(".mo")

    def run(self) -> None:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for source in self._sources():
            with source.open("rb") as file:
                catalog = read_po(file, locale=source.parts[-3])
            problems = [f"{source}: {message.id!r}: {error}" for message, errors in catalog.check()
                        for error in errors]
            if problems:
                raise SystemExit("\n".join(problems))
            target = self._target(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("wb") as file:
                write_mo(file, catalog)

    def get_outputs(self) -> list[str]:
        return [str(self._target(source)) for source in self._sources()]

    def get_source_files(self) -> list[str]:
        return [str(source) for source in self._sources()]

    def get_output_mapping(self) -> dict[str, str]:
        return {str(self._target(source)): str(source) for source in self._sources()}


class build_with_catalogs(build):
    sub_commands: ClassVar = [*build.sub_commands, ("compile_catalogs", None)]


setup(cmdclass={"build": build_with_catalogs, "compile_catalogs": compile_catalogs})
