"""``chainrule lab list``: run times for the data this machine will actually use."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from chainrule.data import sources
from chainrule.lab import cli, registry


@dataclass
class _Config:
    dataset: str = "mnist"


@pytest.fixture
def timed():
    registry.load_all()
    registry.register("toy-timed", question="How long on which data?", config=_Config,
                      runtime={"quick": "3 s", "full": "2 min 5 s", "quick-5k": "1 s",
                               "full-5k": "9 s"})(lambda cfg, ctx: None)
    registry.register("toy-untimed", question="Never measured?", config=_Config,
                      runtime={"quick": "2 s"})(lambda cfg, ctx: None)
    yield
    for name in ("toy-timed", "toy-untimed"):
        registry._REGISTRY.pop(name, None)


def _fake_resolve(available: set[str]):
    def resolve(name, split="train", **_kw):
        ok = name in available
        return SimpleNamespace(ok=ok, source=f"$CHAINRULE_DATA/{name}" if ok else "")
    return resolve


def _line(out: str, name: str) -> list[str]:
    [line] = [ln for ln in out.splitlines() if ln.startswith(name + " ")]
    return line.split("   ")


@pytest.mark.parametrize("available,quick,full,says", [
    ({"mnist", "mnist-5k"}, "3 s", "2 min 5 s", "full MNIST resolves from $CHAINRULE_DATA/mnist"),
    ({"mnist-5k"}, "1 s (5k)", "9 s (5k)", ("the 5,000-image mnist-5k subset from "
                                           "$CHAINRULE_DATA/mnist-5k; times marked 5k")),
])
def test_list_picks_the_times_for_this_machines_data(timed, monkeypatch, capsys, available,
                                                     quick, full, says):
    monkeypatch.setattr(sources, "resolve", _fake_resolve(available))
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert says in out.splitlines()[0]
    cells = [c.strip() for c in _line(out, "toy-timed") if c.strip()]
    assert cells == ["toy-timed", quick, full, "How long on which data?"]
    untimed = [c.strip() for c in _line(out, "toy-untimed") if c.strip()]
    assert untimed[:3] == ["toy-untimed", "2 s", "?"]


def test_list_says_when_no_mnist_resolves(timed, monkeypatch, capsys):
    monkeypatch.setattr(sources, "resolve", _fake_resolve(set()))
    cli.main(["list"])
    assert "the MNIST experiments will be skipped" in capsys.readouterr().out


def test_runtime_keys_are_checked_and_picked():
    exp = registry.Experiment("x", "q?", _Config, lambda c, x: None,
                              runtime={"full": "1 min", "full-5k": "5 s"})
    assert exp.runtime_for("full", full_mnist=False) == ("5 s", "full-5k")
    assert exp.runtime_for("full", full_mnist=True) == ("1 min", "full")
    assert exp.runtime_for("quick", full_mnist=False) == ("?", "quick")
    with pytest.raises(ValueError, match="unknown runtime keys"):
        registry.register("toy-badkey", question="?", config=_Config, runtime={"slow": "1 s"})
