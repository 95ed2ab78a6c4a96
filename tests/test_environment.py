"""environment.yml and pyproject.toml pin the same libraries at the same versions."""

from __future__ import annotations

import re
import sys
from importlib import metadata

import pytest
import tomllib
import yaml
from packaging.specifiers import SpecifierSet

from colorlib.core.config import project_root

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][A-Za-z0-9.+!-]*)$")
#: The one pip line of environment.yml that is not a pin: colorlib itself, editable.
EDITABLE_SELF = "-e ."


def normalized(requirement: str) -> tuple[str, str]:
    """``Name==1.2`` -> ``("name", "1.2")``, with the package name normalized as pip does."""
    match = PIN.match(requirement.strip())
    assert match, f"{requirement!r} is not pinned as name==version"
    return re.sub(r"[-_.]+", "-", match[1]).lower(), match[2]


@pytest.fixture(scope="module")
def pyproject() -> dict:
    with open(project_root() / "pyproject.toml", "rb") as handle:
        return tomllib.load(handle)


@pytest.fixture(scope="module")
def environment() -> dict:
    return yaml.safe_load((project_root() / "environment.yml").read_text())


@pytest.fixture(scope="module")
def project_pins(pyproject: dict) -> list[str]:
    project = pyproject["project"]
    return [*project["dependencies"], *project["optional-dependencies"]["dev"]]


def pip_section(environment: dict) -> list[str]:
    sections = [entry["pip"] for entry in environment["dependencies"] if isinstance(entry, dict)]
    assert len(sections) == 1, "environment.yml needs exactly one `pip:` section"
    return sections[0]


def test_environment_is_conda_forge_python_311_with_pip(environment: dict, pyproject) -> None:
    assert environment["name"] == "colorlib"
    assert environment["channels"] == ["conda-forge"]
    conda_packages = [entry for entry in environment["dependencies"] if isinstance(entry, str)]
    assert "python=3.11" in conda_packages and "pip" in conda_packages
    assert "3.11" in SpecifierSet(pyproject["project"]["requires-python"])


def test_every_dependency_is_pinned_exactly_once(project_pins: list[str]) -> None:
    names = [normalized(pin)[0] for pin in project_pins]
    assert len(names) == len(set(names))


def test_environment_pins_equal_pyproject_pins(environment: dict, project_pins) -> None:
    entries = pip_section(environment)
    pins = [entry for entry in entries if entry != EDITABLE_SELF]
    assert len(entries) - len(pins) <= 1
    from_environment = sorted(normalized(pin) for pin in pins)
    assert len(from_environment) == len(set(from_environment))
    assert from_environment == sorted(normalized(pin) for pin in project_pins)


def test_this_environment_has_the_pinned_versions(project_pins: list[str]) -> None:
    # The tolerances measured in the other tests hold for these versions.
    wrong = []
    for pin in project_pins:
        name, version = normalized(pin)
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = "not installed"
        if installed != version:
            wrong.append(f"{name}: installed {installed}, pinned {version}")
    assert not wrong, (
        "This environment differs from the pins (reinstall with `pip install -e .[dev]` or "
        "`conda env create -f environment.yml`): " + "; ".join(wrong)
    )
    assert sys.version_info[:2] >= (3, 10)
