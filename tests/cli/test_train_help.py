"""`mantissa train --help` lists every --set key with its type and default."""

import re

from click.testing import CliRunner

from mantissa.cli.cmd_train import base_config, command
from mantissa.config import config_keys


def test_train_help_lists_every_set_key():
    out = CliRunner().invoke(command, ["--help"], terminal_width=80)
    assert out.exit_code == 0, out.output
    assert "Keys for --set KEY=VALUE (type, default):" in out.output
    for key in config_keys(base_config()):
        assert re.search(rf"^  {re.escape(key)} +\S", out.output, re.M), key
    assert re.search(r"^  model\.n_layer +int, default 2$", out.output, re.M)
    assert re.search(r"^  train\.lr +float, default 0\.001$", out.output, re.M)
    # the command starts from ckpt_every=100, not the dataclass default
    assert re.search(r"^  train\.ckpt_every +int, default 100$", out.output, re.M)
