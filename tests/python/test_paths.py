"""The one path rule: a file a workload reads (an ops trace, a scheduler trace, a Genode config) resolves against the
scenario's base folder (Params::input_path: the config file's folder, or mksim.run(..., base_dir=) for a dict), like
machine.hwloc; never against the current folder."""

import json
import shutil
from pathlib import Path

import pytest

import mksim

ROOT = Path(__file__).resolve().parents[2]


def replay_config():
    doc = json.loads((ROOT / "configs" / "ops-replay.json").read_text())
    assert doc["workload"]["file"] == "ops-pingpong-forkjoin.jsonl"
    return doc


def test_a_dict_config_finds_its_trace_in_base_dir(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(ROOT / "configs" / "ops-pingpong-forkjoin.jsonl", data)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the current folder has no trace: only base_dir can find it
    res = mksim.run(replay_config(), base_dir=data)
    assert res.metrics["ops"] > 0
    with pytest.raises(mksim.InputError, match="ops-pingpong-forkjoin.jsonl"):
        mksim.run(replay_config(), base_dir=elsewhere)


def test_a_config_file_finds_its_trace_beside_it_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = mksim.run(ROOT / "configs" / "ops-replay.json")
    assert res.metrics["ops"] > 0
