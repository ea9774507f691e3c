"""The course API `Model`, the re-exported blocks, inference on any size, bad inputs, training and resume."""

from __future__ import annotations

import signal
import threading

import pytest
import torch
import torch.nn.functional as torch_F

import tinygrad_n2n as tn
from tinygrad_n2n.n2n import SGD, Adam, Conv2d, Model, MSELoss, ReLU, Sequential, Sigmoid, Upsampling, data, models
from tinygrad_n2n.n2n.inference import InputError
from tinygrad_n2n.n2n.train import TrainConfig, Trainer, TrainingInterrupted
from tinygrad_n2n.tape import tape_length


def test_course_block_test():
    """The course's own check: our Parameters work inside torch.nn.functional (via __torch_function__)."""
    x = torch.randn(1, 3, 32, 32)
    conv, sigmoid = Conv2d(3, 3, 3), Sigmoid()
    assert torch.allclose(conv.forward(x).data, torch_F.conv2d(x, conv.weight, conv.bias), atol=1e-6)
    assert torch.allclose(sigmoid.forward(x).data, torch.sigmoid(x))
    block = Sequential(conv, sigmoid)
    assert torch.allclose(block.forward(x).data, torch.sigmoid(torch_F.conv2d(x, conv.weight, conv.bias)), atol=1e-6)
    # the rest of the course's names are the engine's own classes, not look-alikes
    assert (ReLU, Upsampling, MSELoss) == (tn.nn.ReLU, tn.nn.Upsampling, tn.nn.MSELoss)
    assert (SGD, Adam) == (tn.optim.SGD, tn.optim.Adam)


@pytest.mark.parametrize("arch", ["default", "course"])
def test_predict_shapes_ranges_and_no_tape_growth(arch):
    model = Model(arch, device="cpu")
    images = torch.randint(0, 256, (3, 3, 30, 45), dtype=torch.uint8)  # not a multiple of 4: padded and cropped
    before = tape_length()
    out = model.predict(images)
    assert tape_length() == before
    assert type(out) is torch.Tensor and out.dtype == torch.float32 and out.shape == images.shape
    assert out.min() >= 0 and out.max() <= 255
    assert torch.equal(out, model.predict(images.float()))  # uint8 and float inputs agree


def test_predict_a_large_image_with_the_pretrained_model():
    model = Model(device="cpu")
    model.load_pretrained_model()
    clean = data.skimage_image("chelsea")[None, :, :256, :256]
    noisy = data.add_noise(clean, data.Noise(), torch.Generator().manual_seed(0))
    out = model.predict(noisy)
    assert out.shape == (1, 3, 256, 256)
    error = lambda x: ((x.float() - clean.float()) ** 2).mean()  # noqa: E731
    assert error(out) < error(noisy) / 4  # at least +6 dB on a photo it never saw


def test_predict_512_by_512():
    out = Model(device="cpu").predict(torch.rand(1, 3, 512, 512) * 255)
    assert out.shape == (1, 3, 512, 512)


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (torch.rand(3, 32, 32) * 255, "4-D"),
        (torch.rand(2, 1, 32, 32) * 255, "3 channels"),
        (torch.rand(2, 3, 8, 8) * 300, r"\[0, 255\]"),
        (-torch.rand(2, 3, 8, 8), r"\[0, 255\]"),
        (torch.empty(0, 3, 8, 8), "empty"),
        (torch.full((1, 3, 8, 8), float("nan")), "NaN"),
        ([[1, 2, 3]], "torch.Tensor"),
    ],
)
def test_predict_rejects_bad_input(images, message):
    with pytest.raises(InputError, match=message):
        Model("course", device="cpu").predict(images)


def test_train_rejects_pairs_of_different_shapes():
    model = Model("course", device="cpu")
    with pytest.raises(InputError, match="same shape"):
        model.train(torch.zeros(4, 3, 32, 32), torch.zeros(4, 3, 16, 16), 1)
    with pytest.raises(InputError, match="num_epochs"):
        model.train(torch.zeros(4, 3, 32, 32), torch.zeros(4, 3, 32, 32), 0)


def test_short_training_beats_the_noisy_input():
    a, b = data.default_train(512, seed=0)
    noisy, clean = data.default_val(200)
    model = Model("default", lr=3e-3, batch_size=16, device="cpu")
    history = model.train(a, b, 3)
    assert len(history) == 3 and history[-1]["train_loss"] < history[0]["train_loss"]
    gain = _psnr(model.predict(noisy), clean) - _psnr(noisy, clean)
    assert gain > 1.0


def _psnr(x: torch.Tensor, y: torch.Tensor) -> float:
    return -10 * torch.log10(((x.double() - y.double()) / 255).pow(2).mean()).item()


def _tiny_trainer(steps_per_epoch: int) -> Trainer:
    torch.manual_seed(0)
    net = models.UNet(width=4).double()
    config = TrainConfig(epochs=3, batch_size=8, lr=1e-2, seed=5)
    return Trainer(net, config, steps_per_epoch, dtype=torch.float64)


def test_resume_equals_uninterrupted_training(tmp_path):
    a, b = data.default_train(40, seed=1)  # 5 steps per epoch, 15 in all
    reference = _tiny_trainer(5)
    reference.fit(a, b, progress=False)
    interrupted = _tiny_trainer(5)
    interrupted.fit(a, b, progress=False, max_steps=7)  # stops mid-epoch 2
    assert (interrupted.epoch, interrupted.step) == (1, 2)
    tn.save(interrupted.state_dict(), tmp_path / "checkpoint.tn")
    resumed = _tiny_trainer(5)
    resumed.load_state_dict(tn.load(tmp_path / "checkpoint.tn"))
    resumed.fit(a, b, progress=False)
    for (name, want), got in zip(reference.net.state_dict().items(), resumed.net.state_dict().values()):
        assert torch.equal(want, got), name
    assert [row["train_loss"] for row in reference.history] == [row["train_loss"] for row in resumed.history]


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
def test_ctrl_c_stops_after_a_whole_step(monkeypatch):
    a, b = data.default_train(40, seed=1)
    trainer = _tiny_trainer(5)
    original, calls = trainer.train_step, []

    def step_then_interrupt(x, y):
        calls.append(1)
        loss = original(x, y)
        if len(calls) == 3:
            signal.raise_signal(signal.SIGINT)
        return loss

    monkeypatch.setattr(trainer, "train_step", step_then_interrupt)
    before = signal.getsignal(signal.SIGINT)  # Python's default handler, or SIG_IGN under `nohup ... &`
    with pytest.raises(TrainingInterrupted):
        trainer.fit(a, b, progress=False)
    assert (trainer.epoch, trainer.step) == (0, 3)
    assert signal.getsignal(signal.SIGINT) is before  # the handler was restored
