"""constraints.txt (the versions the suite passed with) agrees with pyproject.toml (what
the code needs): every requirement is pinned, to a version its lower bound allows."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)$")


def _pins() -> dict[str, Version]:
    pins = {}
    for number, line in enumerate((ROOT / "constraints.txt").read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"constraints.txt:{number}: not an exact pin: {line!r}"
        name = canonicalize_name(match.group(1))
        assert name not in pins, f"constraints.txt:{number}: {name} pinned twice"
        pins[name] = Version(match.group(2))
    return pins


def _requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted += extra
    return [Requirement(text) for text in wanted]


def test_every_requirement_is_pinned_to_a_version_it_allows():
    pins = _pins()
    for requirement in _requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in constraints.txt (make lock)"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {name}=={pins[name]}, pyproject.toml asks {requirement}"
        )
        if "hiredis" in requirement.extras:
            assert "hiredis" in pins, "redis[hiredis]: hiredis is not in constraints.txt"


def test_the_project_itself_is_not_pinned():
    assert "fengchao" not in _pins()  # installed from the checkout, never from a registry


def test_every_install_uses_the_pins():
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install --quiet -c constraints.txt -e '.[test,bench]'" in makefile
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "pip install -c constraints.txt ." in dockerfile
    assert "constraints.txt" in dockerfile.split("COPY pyproject.toml", 1)[1].splitlines()[0]
    guide = (ROOT / "deploy" / "README.md").read_text()
    installs = [line for line in guide.splitlines() if "bin/pip install" in line]
    assert installs and all("-c " in line and "constraints.txt" in line for line in installs)
