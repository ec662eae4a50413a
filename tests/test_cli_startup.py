"""The `atlas` command starts without the atlas, figure and scipy stacks: building the parser
(what `atlas --help` and every command do first) imports none of them."""

import subprocess
import sys


def test_building_the_parser_imports_no_heavy_stack():
    code = ("import sys; from atlas_core.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('atlas_core.atlas.build', 'atlas_core.atlas.product', "
            "'matplotlib', 'scipy.signal', 'scipy.stats', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


def test_lazy_choices_still_refuse_a_bad_value(capsys):
    import pytest

    from atlas_core.cli import build_parser

    with pytest.raises(SystemExit):
        build_parser().parse_args(["export", "atlas_dir", "--plane", "qq"])
    assert "invalid choice: 'qq' (choose from 'xy', 'xz', 'yz')" in capsys.readouterr().err
