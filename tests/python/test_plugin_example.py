"""examples/plugin-scheduler builds out of tree against an installed mksim (find_package(mksim)) and its test passes:
scripts/plugin_example.sh installs this build into a temporary prefix, configures, builds and runs the example's test,
which loads the plugin into the installed `mksim run` and checks that its scheduler ran."""

import shutil
import subprocess

import pytest

from conftest import BUILD, ROOT


@pytest.mark.skipif(shutil.which("ninja") is None, reason="the example is built with Ninja")
def test_plugin_example_builds_out_of_tree_and_passes_its_test():
    r = subprocess.run(["bash", str(ROOT / "scripts" / "plugin_example.sh"), str(BUILD)], capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "sticky-fifo ran:" in r.stdout
    assert "100% tests passed" in r.stdout
