"""Builds the `mksim` Python package with CMake, for `pip install .` (see pyproject.toml and docs/python.md).

The pure-Python sources come from python/mksim; CMake builds the `_mksim` extension and the `mksim` command, which
are put into the package (the command as mksim/bin/mksim, also on PATH as `mksim`), so an installed package needs
neither the source tree nor a build folder. The CMake build folder is `build-pip/` in the source tree (kept, so a
second install only rebuilds what changed), or MKSIM_PIP_BUILD_DIR to reuse a tree already configured by
scripts/setup.sh. When ccache is on PATH it is used (CCACHE_BASEDIR set to the source tree and the build folder left
out of the hash, so objects compiled for build/ are reused). MKSIM_JOBS sets the build jobs (default: all cores).
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
(ROOT / "build-pip").mkdir(exist_ok=True)  # setuptools writes its egg-info and build folders there


def version():
    text = (ROOT / "CMakeLists.txt").read_text(encoding="utf-8")
    m = re.search(r"project\(mksim\s+VERSION\s+([0-9.]+)", text)
    if not m:
        raise RuntimeError("CMakeLists.txt: no `project(mksim VERSION x.y.z ...)` line")
    return m.group(1)


class CMakeBuild(build_ext):
    """Runs CMake instead of compiling the extension itself."""

    def build_extension(self, ext):
        build_dir = Path(os.environ.get("MKSIM_PIP_BUILD_DIR") or ROOT / "build-pip")
        if not build_dir.is_absolute():
            build_dir = ROOT / build_dir
        env = dict(os.environ)
        if shutil.which("ccache"):
            env.setdefault("CCACHE_BASEDIR", str(ROOT))
            env.setdefault("CCACHE_NOHASHDIR", "1")
        if not (build_dir / "CMakeCache.txt").exists():
            args = ["cmake", "-S", str(ROOT), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release",
                    "-DMKSIM_BUILD_TESTS=OFF", "-DMKSIM_BUILD_BENCH=OFF", f"-DPython3_EXECUTABLE={sys.executable}"]
            if shutil.which("ninja"):
                args += ["-G", "Ninja"]
            if shutil.which("ccache") and "CMAKE_CXX_COMPILER_LAUNCHER" not in env:
                args.append("-DCMAKE_CXX_COMPILER_LAUNCHER=ccache")
            subprocess.run(args, check=True, env=env)
        jobs = os.environ.get("MKSIM_JOBS") or str(os.cpu_count() or 2)
        subprocess.run(["cmake", "--build", str(build_dir), "-j", jobs, "--target", "_mksim", "mksim"], check=True,
                       env=env)

        package = build_dir / "python" / "mksim"
        built = sorted(package.glob("_mksim*.so"))
        if len(built) != 1:
            raise RuntimeError(f"{package}: expected one _mksim extension, found {[p.name for p in built]}")
        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built[0], target)
        # The command line program, beside the package's modules (mksim._cli runs it), and what build_info() says.
        (target.parent / "bin").mkdir(exist_ok=True)
        shutil.copy2(build_dir / "mksim", target.parent / "bin" / "mksim")
        (target.parent / "_build.py").write_text(
            "# Written by setup.py: an installed package. Its command is bin/mksim beside this file; SOURCE_DIR is\n"
            "# the tree it was built from (build_info() reports it only while it still exists).\n"
            f"SOURCE_DIR = {str(ROOT)!r}\nBUILD_DIR = None\nMKSIM_BINARY = None\n",
            encoding="utf-8")


setup(
    version=version(),
    packages=["mksim"],
    package_dir={"": "python"},
    ext_modules=[Extension("mksim._mksim", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    options={"build": {"build_base": "build-pip/setuptools"}, "egg_info": {"egg_base": "build-pip"}},
    zip_safe=False,
)
