"""C++ plugins (sim/api/plugin.hpp, sim/plugins.cpp): the test plugins of tests/plugins/, built beside the tests into
BUILD/test-plugins, loaded by a config, by --plugin and from Python; and every way a plugin can be unusable, each a
clear error naming the file (exit status 2), never a crash."""

import csv
import json
import subprocess

import pytest

import mksim
from conftest import BUILD, MKSIM_BIN, SMALL_COMPUTE

PLUGINS = BUILD / "test-plugins"
GOOD = PLUGINS / "libplugin_good.so"


def cli(*args, cwd=None):
    return subprocess.run([str(MKSIM_BIN), *map(str, args)], capture_output=True, text=True, cwd=cwd)


def fifo_config(**kernel):
    cfg = json.loads(json.dumps(SMALL_COMPUTE))
    cfg["workload"]["threads"] = 8  # more threads than cores: the scheduler's queue decides who runs
    cfg["kernel"].update({"scheduler": "test-fifo", **kernel})
    return cfg


@pytest.fixture
def plugin_dir(tmp_path):
    """A config folder with the good plugin copied into a subfolder, named relative to the config."""
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / GOOD.name).write_bytes(GOOD.read_bytes())
    return tmp_path


def test_config_loads_plugin_relative_to_its_folder(plugin_dir):
    cfg = fifo_config()
    cfg["plugins"] = ["plugins/libplugin_good.so"]
    (plugin_dir / "c.json").write_text(json.dumps(cfg))
    r = cli("run", plugin_dir / "c.json", "-q", "-o", plugin_dir / "out", cwd="/")
    assert r.returncode == 0, r.stderr
    res = json.loads((plugin_dir / "out" / "results.json").read_text())
    assert res["summary"]["scheduler"] == "test-fifo"
    assert res["summary"]["events_by_kind"]["test-fifo.pick"] > 0
    assert res["config"]["plugins"] == ["plugins/libplugin_good.so"]
    assert res["config"]["kernel"]["test-fifo"]["time_slice_us"] == 2000


def test_cli_plugin_option_before_or_after_the_command(tmp_path):
    (tmp_path / "c.json").write_text(json.dumps(fifo_config()))
    for args in (["--plugin", GOOD, "run", tmp_path / "c.json"], ["run", tmp_path / "c.json", "--plugin", GOOD]):
        r = cli(*args, "-q", "-o", tmp_path / "out")
        assert r.returncode == 0, r.stderr
        assert json.loads((tmp_path / "out" / "results.json").read_text())["summary"]["scheduler"] == "test-fifo"
    r = cli("run", tmp_path / "c.json", "-q", "-o", tmp_path / "out")
    assert r.returncode == 2 and "unknown scheduler 'test-fifo'" in r.stderr


def test_list_and_docs_show_plugin_components():
    r = cli("--plugin", GOOD, "list", "schedulers")
    assert r.returncode == 0, r.stderr
    line = next(ln for ln in r.stdout.splitlines() if ln.strip().startswith("test-fifo"))
    assert str(GOOD.resolve()) in line
    assert "time_slice_us" in r.stdout
    r = cli("--plugin", GOOD, "docs", "config")
    assert "#### `test-fifo`" in r.stdout and "#### `test-last-node`" in r.stdout
    assert "| `kernel.test-fifo.time_slice_us` |" in r.stdout
    assert "test-fifo" not in cli("docs", "config").stdout


def test_plugin_parameters_are_checked_and_errors_name_the_plugin(tmp_path):
    (tmp_path / "c.json").write_text(json.dumps(fifo_config(**{"test-fifo": {"time_slice_us": -1}})))
    r = cli("--plugin", GOOD, "validate", tmp_path / "c.json")
    assert r.returncode == 2
    assert "kernel.test-fifo.time_slice_us" in r.stderr and str(GOOD.resolve()) in r.stderr
    (tmp_path / "c.json").write_text(json.dumps(fifo_config(**{"test-fifo": {"slice": 1}})))
    r = cli("--plugin", GOOD, "validate", tmp_path / "c.json")
    assert r.returncode == 2 and "did you mean 'time_slice_us'" in r.stderr and str(GOOD.resolve()) in r.stderr


def test_plugin_in_a_sweep(plugin_dir):
    cfg = fifo_config()
    cfg["plugins"] = ["plugins/libplugin_good.so"]
    (plugin_dir / "c.json").write_text(json.dumps(cfg))
    (plugin_dir / "s.json").write_text(json.dumps({"base": "c.json", "grid": {"kernel.test-fifo.time_slice_us": [500, 4000]},
                                                   "metrics": ["events.test-fifo.pick", "sim_time_s"]}))
    r = cli("sweep", plugin_dir / "s.json", "-j", "2", "-q", "-o", plugin_dir / "sw")
    assert r.returncode == 0, r.stdout + r.stderr
    with open(plugin_dir / "sw" / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["ok"].lower() for r in rows] == ["true", "true"], rows
    assert all(float(r["events.test-fifo.pick"]) > 0 for r in rows), rows


@pytest.mark.parametrize("name, message", [
    ("libmissing.so", "does not exist"),
    ("notelf.so", "is not a shared library (no ELF header)"),
    ("libplugin_no_macro.so", "does not define mksim_plugin_contract_version"),
    ("libplugin_wrong_version.so", "was built against mksim 0.0.1 with contract version 999, but this mksim"),
    ("libplugin_undefined.so", "cannot be loaded: " ),
    ("libplugin_empty.so", "registers no component"),
    ("libplugin_duplicate.so", "registers memory_policy 'first-touch', but a memory_policy of that name is already "
                               "built into mksim"),
])
def test_broken_plugins_are_refused_with_a_clear_error(tmp_path, name, message):
    path = PLUGINS / name
    if name == "notelf.so":
        path = tmp_path / name
        path.write_text("not a library\n")
    r = cli("--plugin", path, "list", "schedulers")
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stderr.startswith("mksim: error: <command line>: --plugin: plugin "), r.stderr
    assert str(path) in r.stderr and message in r.stderr, r.stderr
    if name == "libplugin_undefined.so":
        assert "undefined symbol" in r.stderr
    if name == "libplugin_duplicate.so":  # refused whole: its other component is not registered either
        assert "test-dup-fresh" not in cli("list", "memory_policies").stdout


def test_config_plugin_errors_name_the_json_path(tmp_path):
    cfg = fifo_config()
    cfg["plugins"] = ["nowhere/libx.so"]
    (tmp_path / "c.json").write_text(json.dumps(cfg))
    r = cli("validate", tmp_path / "c.json")
    assert r.returncode == 2
    assert f"{tmp_path / 'c.json'}: plugins[0]: plugin {tmp_path / 'nowhere/libx.so'} does not exist" in r.stderr
    cfg["plugins"] = "libx.so"
    (tmp_path / "c.json").write_text(json.dumps(cfg))
    r = cli("validate", tmp_path / "c.json")
    assert r.returncode == 2 and "plugins: found \"libx.so\", expected a list of plugin files" in r.stderr


def test_python_loads_plugins(tmp_path, plugin_dir):
    with pytest.raises(mksim.InputError, match="contract version 999"):
        mksim.load_plugin(PLUGINS / "libplugin_wrong_version.so")
    mksim.load_plugin(GOOD)
    mksim.load_plugin(GOOD)  # again: nothing happens
    assert str(GOOD.resolve()) in mksim.loaded_plugins()
    assert "test-fifo" in mksim.components("scheduler")
    info = next(c for c in mksim.components("scheduler", details=True) if c["name"] == "test-fifo")
    assert info["origin"] == str(GOOD.resolve())
    res = mksim.run(fifo_config())
    assert res.summary["scheduler"] == "test-fifo" and res.summary["events_by_kind"]["test-fifo.pick"] > 0
    table = mksim.sweep(fifo_config(), grid={"kernel.test-fifo.time_slice_us": [500, 4000]}, jobs=2)
    assert list(table["ok"]) == [True, True]
    # A config (dict) naming the plugin relative to base_dir: a copy of the same file is the same plugin only if it is
    # the same path, so this is a second plugin registering the same names: refused, naming both.
    cfg = fifo_config()
    cfg["plugins"] = ["plugins/libplugin_good.so"]
    with pytest.raises(mksim.InputError, match="already registered by " + str(GOOD.resolve())):
        mksim.run(cfg, base_dir=plugin_dir)
