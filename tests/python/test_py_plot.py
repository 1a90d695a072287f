"""mksim.plot: the standard figures return matplotlib Figures drawn from the data they are given."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import mksim  # noqa: E402
from mksim import plot  # noqa: E402


def test_metric_vs_cores_draws_one_line_per_architecture_with_seed_means():
    table = pd.DataFrame({
        "architecture": ["a"] * 4 + ["b"] * 4 + ["c"],
        "cores": [1, 1, 2, 2, 1, 1, 2, 2, 4],
        "seed": [1, 2] * 4 + [1],
        "makespan_s": [1.0, 3.0, 2.0, 2.0, 5.0, 5.0, 6.0, 6.0, 9.0],
        "ok": [True] * 8 + [False],  # a failed run is left out
    })
    fig = plot.metric_vs_cores(table, "makespan_s")
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {"a", "b"}
    assert list(lines["a"].get_xdata()) == [1, 2] and list(lines["a"].get_ydata()) == [2.0, 2.0]
    assert len(ax.collections) == 1  # the min-max band of "a", whose seeds differ
    assert ax.get_xlabel() == "cores" and ax.get_ylabel() == "makespan_s"
    with pytest.raises(KeyError, match="no column 'latency'"):
        plot.metric_vs_cores(table, "latency")


def test_latency_cdf_curves_end_at_one():
    fig = plot.latency_cdf({"fast": [1, 2, 3, 4], "slow": np.array([10.0, 20.0, np.nan])}, xlabel="latency (ns)")
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["fast", "slow"]
    assert list(lines[0].get_ydata()) == [0.25, 0.5, 0.75, 1.0]
    assert list(lines[1].get_ydata()) == [0.5, 1.0]  # NaN samples dropped
    df = pd.DataFrame({"lat": [1, 2, 3, 4, 5, 6], "arch": list("aabbbb")})
    fig2 = plot.latency_cdf(df, value="lat", by="arch")
    assert [len(line.get_xdata()) for line in fig2.axes[0].get_lines()] == [2, 4]


def test_utilisation_heat_maps_from_a_trace_and_from_several_runs(compute_config):
    compute_config["workload"]["threads"] = 3  # one core stays idle
    res = mksim.run(compute_config, trace=True)
    grid = plot.utilisation_over_time(res, bins=10)
    assert grid.shape == (4, 10) and list(grid.index) == ["core 0", "core 1", "core 2", "core 3"]
    assert ((grid >= 0) & (grid <= 1)).all().all()
    # busy fractions over time agree with each core's utilisation
    for core in range(4):
        assert grid.iloc[core].mean() == pytest.approx(res.cores.loc[core, "utilisation"], abs=0.02)
    assert grid.iloc[:, :-1].sum().sum() == pytest.approx(3 * 9, rel=0.02)
    fig = plot.utilisation_heatmap(res, bins=10)
    image = fig.axes[0].get_images()[0]
    assert image.get_array().shape == (4, 10)

    runs = {"three": res, "four": mksim.run(compute_config, **{"workload.threads": 4})}
    fig = plot.utilisation_heatmap(runs)
    data = fig.axes[0].get_images()[0].get_array()
    assert data.shape == (2, 4)
    assert data[1].min() > 0.9 and data[0].min() < 0.1
