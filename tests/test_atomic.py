"""cnnlab.atomic: JSON files carry no float32 noise."""

import json

import torch


def test_json_files_carry_no_float32_noise(tmp_path):
    from cnnlab.atomic import atomic_write_json
    loss = float(torch.tensor(1.4254876))  # 1.4254876375198364: what float() of a float32 tensor gives
    atomic_write_json(tmp_path / "m.json", {"loss": loss, "acc": [float(torch.tensor(0.412))], "exact": 0.1 + 0.2})
    text = (tmp_path / "m.json").read_text()
    assert '"loss": 1.4254876,' in text and "0.412" in text and "0.41200000047683716" not in text
    assert json.loads(text)["exact"] == 0.1 + 0.2  # a float64 result keeps every digit
