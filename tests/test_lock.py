"""requirements.lock, pyproject.toml and environment.yml agree, and `make setup` installs the lock.

Stored notebook outputs are compared exactly, so `make setup` and CI install the versions they were
made with: requirements.lock, a constraints file written by `make lock` (uv pip compile).
pyproject.toml and environment.yml keep ranges for people who install otherwise.
"""

import os
import re
import tomllib
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from autograder.course import ROOT

LOCK = ROOT / "requirements.lock"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)$")
# setuptools builds packages and stores no output; torch, which .ci/run installs after `make setup`,
# raises it (torch 2.13 requires setuptools>=77), so the running environment may differ there.
MAY_DIFFER_WHEN_RUNNING = {"setuptools"}


def locked():
    """{canonical name: version}; every line must be a plain pin that `pip install -c` accepts."""
    pins = {}
    for n, line in enumerate(LOCK.read_text().splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        m = PIN.match(text)
        assert m, (f"requirements.lock:{n}: {text!r} is not a plain `name==version` pin "
                   "(a constraints file takes no extras, markers, hashes, URLs or -e)")
        name = canonicalize_name(m.group(1))
        assert name not in pins, f"requirements.lock:{n}: {name} is pinned twice"
        pins[name] = m.group(2)
    return pins


def direct_requirements():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(s) for s in project["dependencies"] + project["optional-dependencies"]["dev"]]


def conda_requirements():
    lines = (ROOT / "environment.yml").read_text().splitlines()
    start = lines.index("dependencies:") + 1
    specs = [ln.strip()[2:] for ln in lines[start:] if re.match(r"^  - [a-z]", ln)]
    return [Requirement(s) for s in specs if not re.match(r"^(python|pip)\b(?![-_])", s)]


def test_lock_pins_each_package_once_and_not_the_project():
    pins = locked()
    assert len(pins) > 50, "requirements.lock should pin the whole environment, not only the direct dependencies"
    assert canonicalize_name("rnn-course") not in pins, "the course itself is installed editable, not pinned"


def test_lock_pins_every_direct_dependency_within_pyproject_range():
    pins = locked()
    for req in direct_requirements():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} (pyproject.toml) is missing from requirements.lock: run `make lock`"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name]}, outside pyproject.toml's {req}: run `make lock`")


def test_environment_yml_lists_the_same_packages_and_its_ranges_hold_the_locked_versions():
    pins = locked()
    conda = {canonicalize_name(r.name): r for r in conda_requirements()}
    direct = {canonicalize_name(r.name) for r in direct_requirements()}
    assert set(conda) == direct, (f"environment.yml lacks {sorted(direct - set(conda))}, "
                                  f"has extra {sorted(set(conda) - direct)}")
    for name, req in conda.items():
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"environment.yml's {req} excludes the locked {name}=={pins[name]}")
    assert "requirements.lock" in (ROOT / "environment.yml").read_text(), \
        "environment.yml should point conda users to requirements.lock for the exact versions"


def test_make_setup_installs_with_the_lock():
    makefile = (ROOT / "Makefile").read_text()
    stamp = re.search(r"^\$\(STAMP\):(.*)\n((?:\t.*\n)+)", makefile, re.M)
    assert stamp, "Makefile has no $(STAMP) rule"
    assert "requirements.lock" in stamp.group(1).split(), "$(STAMP) should depend on requirements.lock"
    assert "-c requirements.lock" in stamp.group(2), "$(STAMP) should pip-install with -c requirements.lock"
    assert re.search(r"^lock:", makefile, re.M), "Makefile has no `lock` target"


def test_running_environment_matches_the_lock():
    differ = []
    for name, version in sorted(locked().items()):
        if name in MAY_DIFFER_WHEN_RUNNING:
            continue
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed is None or Version(installed) != Version(version):
            differ.append(f"{name} {installed or 'missing'} (locked {version})")
    if differ:
        reason = (f"{len(differ)} installed package(s) differ from requirements.lock, e.g. "
                  f"{', '.join(differ[:4])}: `make setup` installs the locked versions")
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail(reason)
        pytest.skip(reason)
