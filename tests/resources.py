"""Data sets and programs some tests need, and what a missing one means.

``require(name)`` is how a test asks for one: it returns what was found (a dataset name's
``Resolution`` source, or a program's path) and otherwise either

* **fails**, when ``name`` is listed in ``$CHAINRULE_EXPECT`` — ``make setup`` lists there what
  it could provision on this machine (datasets found beside the repository, Debian packages it
  could install as root), so a missing one is a set-up bug, never a silent pass; or
* **skips** with the reason and the command that would fix it, when nobody promised it (a
  plain ``pytest`` on a machine without the data).

Names: a dataset of the registry (both of its splits must resolve; ``cifar10-jpeg`` means the
CIFAR-10 JPEG copy), a program (``chromium``, ``espeak-ng``, ``flite``) or Debian's recorded
Asterisk prompts and music (``asterisk-sounds``).
"""

from __future__ import annotations

import os
import shutil

import pytest

HOWTO = {
    "chromium": "apt-get install chromium (make setup does it as root)",
    "espeak-ng": "apt-get install espeak-ng (make setup does it as root)",
    "flite": "apt-get install flite (make setup does it as root)",
    "asterisk-sounds": "apt-get install asterisk-core-sounds-en-wav asterisk-moh-opsound-wav "
                       "(make setup does it as root)",
    "fashion-mnist": "apt-get install dataset-fashion-mnist (make setup does it as root)",
    "mnist": "point CHAINRULE_DATA at a folder with mnist/ (make sets ../shared/data), or "
             "`chainrule data download mnist`",
    "notmnist": "point CHAINRULE_DATA at a folder with notmnist/ (make sets ../shared/data)",
    "cifar10-jpeg": "point CHAINRULE_DATA at a folder with cifar10-jpeg/ (make sets "
                    "../shared/data)",
    "glove": "point CHAINRULE_DATA at a folder with glove/ (make sets ../shared/data)",
    "vader": "point CHAINRULE_DATA at a folder with vader/ (make sets ../shared/data)",
    "hapt": "point CHAINRULE_DATA at a folder with hapt/ (make sets ../shared/data)",
    "fsdd": "point CHAINRULE_DATA at a folder with fsdd/ (make sets ../shared/data)",
}

# Debian's asterisk-core-sounds-en-wav (one speaker's prompts) and asterisk-moh-opsound-wav.
ASTERISK_DIRS = ("/usr/share/asterisk/sounds/en_US_f_Allison", "/usr/share/asterisk/moh")


def expected() -> set[str]:
    """The resources ``make setup`` promised on this machine (``$CHAINRULE_EXPECT``)."""
    return set(os.environ.get("CHAINRULE_EXPECT", "").split())


def find(name: str) -> str | None:
    """Where ``name`` is on this machine, or ``None``."""
    if name == "chromium":
        for p in (os.environ.get("CHROMIUM"), shutil.which("chromium"),
                  shutil.which("chromium-browser"), "/usr/bin/chromium"):
            if p and os.path.exists(p):
                return p
        return None
    if name in ("espeak-ng", "flite"):
        return shutil.which(name)
    if name == "asterisk-sounds":
        found = [d for d in ASTERISK_DIRS if os.path.isdir(d) and os.listdir(d)]
        return found[0] if len(found) == len(ASTERISK_DIRS) else None
    from chainrule import data

    spec = data.sources.get_spec(name)
    res = [data.resolve(name, split) for split in spec.splits]
    return res[0].source if all(r.ok for r in res) else None


def missing_expected() -> list[str]:
    """Promised resources that are not there (the session check in conftest fails on them)."""
    return sorted(n for n in expected() if find(n) is None)


def require(name: str) -> str:
    """What ``find(name)`` found; else fail (promised by set-up) or skip (not promised)."""
    found = find(name)
    if found is not None:
        return found
    how = HOWTO.get(name, f"provide {name}")
    if name in expected():
        pytest.fail(f"set-up bug: {name} was provisioned by `make setup` but is missing ({how})")
    pytest.skip(f"needs {name}: {how}")
