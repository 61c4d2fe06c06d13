"""The jemalloc settings reach polars' allocator, and an operator's own value wins."""

import os
import subprocess
import sys

PROBE = "import gdi_pipelines, polars, os; print(os.environ['_RJEM_MALLOC_CONF'])"


def _conf(env: dict[str, str]) -> list[str]:
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().split(",")


def test_background_purging_is_configured_before_polars_loads() -> None:
    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    conf = _conf(env)
    # polars appends the value it found to its defaults: later options win in jemalloc
    assert conf[-2:] == ["background_thread:true", "muzzy_decay_ms:0"]


def test_an_operators_setting_is_kept() -> None:
    conf = _conf(os.environ | {"_RJEM_MALLOC_CONF": "dirty_decay_ms:0"})
    assert conf[-1] == "dirty_decay_ms:0" and "background_thread:true" not in conf
