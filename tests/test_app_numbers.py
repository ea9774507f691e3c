"""The denoiser app's numbers, pinned: PSNR by hand, the noise's statistics, predict's padding, cropping and
[0, 255] scaling, the shipped model's PSNR on fixed held-out sets, and the README's table against its artifact.

Statistical checks draw 10⁶ values from a seeded generator, so they are deterministic and their bounds sit
several standard errors away from the truth (the relative standard error of a sample std over 10⁶ draws is
0.07 %; the bounds are 0.5 %).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as torch_F

try:  # imported here, not in the test: mutation testing forks its workers after collection, with this loaded
    from skimage import restoration

    restoration.denoise_nl_means  # noqa: B018  (scikit-image loads its submodules lazily)
except ImportError:
    restoration = None

import tinygrad_n2n as tn
from tinygrad_n2n import nn
from tinygrad_n2n.n2n import Model, data
from tinygrad_n2n.n2n.extras import MissingExtraError
from tinygrad_n2n.n2n.inference import InputError, denoise_batches, to_unit
from tinygrad_n2n.n2n.metrics import nl_means, psnr
from tinygrad_n2n.n2n.model_file import PRETRAINED, load_model

ROOT = Path(__file__).resolve().parents[1]
SIGMA = 25 / 255
MILLION = (1000, 1, 10, 100)  # 10⁶ values as (N, C, H, W)


# ---------------------------------------------------------------- PSNR, by hand


def test_psnr_of_known_inputs_computed_by_hand():
    clean = torch.zeros(2, 3, 4, 4)
    assert psnr(clean + 25.5, clean) == pytest.approx(20.0, abs=1e-9)  # error 0.1 of the range: MSE 1e-2
    assert psnr(clean + 2.55, clean) == pytest.approx(40.0, abs=1e-6)  # 2.55 in float32: 2.5499999523
    assert psnr(clean + 0.1, clean, max_value=1.0) == pytest.approx(20.0, abs=1e-6)
    assert psnr(clean + 255, clean) == pytest.approx(0.0, abs=1e-9)
    one_pixel = clean.clone()
    one_pixel[1, 2, 3, 0] = 255  # one pixel of 96 wrong by the whole range: MSE 1/96
    assert psnr(one_pixel, clean) == pytest.approx(10 * math.log10(96), abs=1e-9)
    assert psnr(clean, one_pixel) == pytest.approx(10 * math.log10(96), abs=1e-9)


def test_psnr_is_one_mse_over_the_set_not_a_mean_of_per_image_psnrs():
    clean = torch.zeros(2, 3, 4, 4)
    denoised = torch.stack([torch.full((3, 4, 4), 25.5), torch.full((3, 4, 4), 51.0)])  # MSE 0.01 and 0.04
    assert psnr(denoised, clean) == pytest.approx(-10 * math.log10(0.025), abs=1e-9)  # 16.02, not 16.99


def test_psnr_of_uint8_images_does_not_wrap_around():
    clean = torch.full((1, 3, 2, 2), 110, dtype=torch.uint8)
    denoised = torch.full((1, 3, 2, 2), 100, dtype=torch.uint8)  # 100 - 110 wraps to 246 in uint8
    assert psnr(denoised, clean) == pytest.approx(10 * math.log10(255**2 / 100), abs=1e-9)  # 28.13 dB


def test_psnr_of_identical_images_is_capped_at_120_db_and_shapes_must_match():
    images = torch.rand(2, 3, 5, 5) * 255
    assert psnr(images, images.clone()) == pytest.approx(120.0, abs=1e-9)
    with pytest.raises(ValueError, match=r"psnr: shapes \(2, 3, 5, 5\) and \(2, 3, 5, 4\) differ"):
        psnr(images, images[..., :4])


def test_nl_means_is_scikit_images_with_the_documented_settings():
    """Patch 5×5, search 13×13, h = 0.8σ, fast mode, colour on the last axis; [0, 255] in and out."""
    if restoration is None:
        pytest.skip("needs scikit-image")
    rows, columns = torch.meshgrid(torch.arange(24.0), torch.arange(28.0), indexing="ij")
    clean = torch.stack([rows * 8, columns * 6, (rows + columns) * 4]).clamp(0, 255).to(torch.uint8)[None]
    noisy = data.add_noise(clean.expand(2, -1, -1, -1), data.Noise(), torch.Generator().manual_seed(4))
    out = nl_means(noisy, SIGMA)
    assert out.dtype == torch.float32 and out.shape == noisy.shape
    assert psnr(out, clean.expand(2, -1, -1, -1)) > psnr(noisy, clean.expand(2, -1, -1, -1)) + 3
    for image, result in zip(noisy, out):
        expected = restoration.denoise_nl_means(
            image.double().numpy().transpose(1, 2, 0) / 255,
            h=0.8 * SIGMA,
            sigma=SIGMA,
            patch_size=5,
            patch_distance=6,
            fast_mode=True,
            channel_axis=-1,
        )
        torch.testing.assert_close(result, torch.from_numpy(expected.transpose(2, 0, 1) * 255).float())


def test_nl_means_without_scikit_image_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "skimage.restoration", None)
    with pytest.raises(MissingExtraError, match=r"^non-local means \(--nlmeans\) needs scikit-image: pip install"):
        nl_means(torch.zeros(1, 3, 8, 8), SIGMA)


# ---------------------------------------------------------------- noise


def test_default_noise_is_gaussian_with_sigma_25_over_255():
    assert data.Noise() == data.Noise("gaussian", SIGMA, SIGMA) == data.Noise.parse("gaussian:25")
    assert data.Noise().sigma == SIGMA and data.DataSpec().noise == "gaussian:25"
    clean = torch.full(MILLION, 0.5)  # 5σ from both clipping bounds: clipping changes nothing measurable
    noise = data.Noise().apply(clean, torch.Generator().manual_seed(0)) - clean
    assert abs(noise.std().item() / SIGMA - 1) < 0.005
    assert abs(noise.mean().item()) < 5 * SIGMA / 1000  # 5 standard errors


def test_default_noise_in_uint8_is_rounded_not_truncated():
    clean = torch.full(MILLION, 128, dtype=torch.uint8)
    noisy = data.add_noise(clean, data.Noise(), torch.Generator().manual_seed(1)).double()
    assert abs(noisy.std().item() / 25 - 1) < 0.005  # rounding adds 1/12 to the variance: 25.002
    assert abs(noisy.mean().item() - 128) < 0.15  # truncating instead of rounding would give 127.5


def test_noise_is_drawn_4096_images_at_a_time():
    """The chunk size orders the random draws, so the default pairs (the shipped model's training data) hang on it."""
    clean = torch.full((4100, 1, 1, 1), 128, dtype=torch.uint8)
    noisy = [data.add_noise(clean, data.Noise(), torch.Generator().manual_seed(8), *chunk) for chunk in ((), (4096,))]
    assert torch.equal(*noisy)
    assert not torch.equal(noisy[0], data.add_noise(clean, data.Noise(), torch.Generator().manual_seed(8), 4097))


def test_default_levels_of_the_noise_specs():
    assert data.Noise.parse("gaussian") == data.Noise("gaussian", SIGMA, SIGMA)
    assert data.Noise.parse("poisson") == data.Noise("poisson", 30.0, 30.0)
    assert data.Noise.parse("gaussian:10-40") == data.Noise("gaussian", 10 / 255, 40 / 255)


def test_default_pairs_are_the_readmes_20000_and_1000_from_seeds_0_and_1(monkeypatch):
    made = []

    def make_pairs(images, count, noise, seed):  # records what the defaults ask for, instead of making it
        made.append((len(images), count, noise, seed))
        return None, None, None

    monkeypatch.setattr(data, "make_pairs", make_pairs)
    data.default_train()
    data.default_val()
    assert made == [(11, 20_000, data.Noise(), 0), (2, 1_000, data.Noise(), 1 + 10_007)]


def test_default_pairs_use_the_default_noise():
    assert all(torch.equal(a, b) for a, b in zip(data.default_train(50), data.default_train(50, data.Noise())))
    assert all(torch.equal(a, b) for a, b in zip(data.default_val(50), data.default_val(50, data.Noise())))
    assert not torch.equal(data.default_train(50)[0], data.default_train(50, data.Noise.parse("gaussian:27"))[0])


def test_noise_is_clipped_to_the_range():
    """At black, half the draws clip to 0: the mean is σ/√(2π) (at white, 1 - σ/√(2π))."""
    generator = torch.Generator().manual_seed(2)
    dark = data.Noise().apply(torch.zeros(MILLION), generator)
    bright = data.Noise().apply(torch.ones(MILLION), generator)
    assert dark.min() == 0 and bright.max() == 1
    assert abs(dark.mean().item() / (SIGMA / math.sqrt(2 * math.pi)) - 1) < 0.01
    assert abs((1 - bright.mean().item()) / (SIGMA / math.sqrt(2 * math.pi)) - 1) < 0.01
    assert abs((dark == 0).double().mean().item() - 0.5) < 0.005


def test_poisson_noise_has_the_photon_count_statistics():
    """poisson:30 at grey 0.5: 15 photons on average, so std √15/30 and mean 0.5."""
    noisy = data.Noise.parse("poisson:30").apply(torch.full(MILLION, 0.5), torch.Generator().manual_seed(3))
    assert abs(noisy.std().item() / (math.sqrt(15) / 30) - 1) < 0.005
    assert abs(noisy.mean().item() - 0.5) < 0.001
    assert data.Noise.parse("poisson:50").sigma == pytest.approx(math.sqrt(0.5 / 50))


@pytest.mark.parametrize("spec", ["gaussian:25", "gaussian:10-40", "poisson:30", "poisson:5-50"])
def test_noise_draws_only_from_the_generator_it_is_given(spec):
    clean, noise = torch.full((4, 3, 8, 8), 0.5), data.Noise.parse(spec)
    first = noise.apply(clean, torch.Generator().manual_seed(9))
    torch.manual_seed(123)  # the global generator plays no part
    assert torch.equal(first, noise.apply(clean, torch.Generator().manual_seed(9)))


@pytest.mark.parametrize(
    ("kind", "low", "high"),
    [
        ("gaussian", 0.1, math.inf),
        ("gaussian", math.nan, 0.1),
        ("gaussian", 0.2, 0.1),
        ("gaussian", -0.1, 0.1),
        ("poisson", 0.0, 5.0),
        ("uniform", 0.1, 0.1),
    ],
)
def test_noise_levels_must_be_finite_and_ordered(kind, low, high):
    with pytest.raises(data.DataError):
        data.Noise(kind, low, high)


def test_noise_levels_at_the_bounds_are_accepted():
    assert data.Noise("gaussian", 0.0, 0.0).sigma == 0.0  # no noise
    assert data.Noise("poisson", 0.5, 0.5).sigma == 1.0  # half a photon at white


def test_blind_noise_draws_one_sigma_per_image_uniformly_in_the_range():
    clean = torch.full((2000, 1, 32, 32), 0.5)
    noisy = data.Noise.parse("gaussian:10-40").apply(clean, torch.Generator().manual_seed(4))
    sigmas = (noisy - clean).std(dim=(1, 2, 3)) * 255  # each within ~2 % of its image's σ
    deciles = sigmas.quantile(torch.tensor([0.1, 0.5, 0.9])).tolist()
    assert all(abs(got - want) < 1 for got, want in zip(deciles, [13, 25, 37])), deciles
    assert 8 < sigmas.min() < 11 and 39 < sigmas.max() < 43
    assert data.Noise.parse("gaussian:10-40").sigma == pytest.approx(25 / 255)


def test_training_pairs_are_two_independent_draws_around_one_clean_patch():
    generator = torch.Generator().manual_seed(5)
    clean = torch.full((250, 3, 32, 32), 128, dtype=torch.uint8)
    first, second = data.add_noise(clean, data.Noise(), generator), data.add_noise(clean, data.Noise(), generator)
    difference = first.double() - second.double()
    assert abs(difference.std().item() / (25 * math.sqrt(2)) - 1) < 0.005  # independent: variances add
    noisy_a, noisy_b, patches = data.make_pairs([data.skimage_image("camera")], 8, data.Noise(), seed=0)
    assert not torch.equal(noisy_a, noisy_b)
    for noisy in (noisy_a, noisy_b):
        error = (noisy.double() - patches.double()).abs()
        assert 10 < error.mean() < 25  # noisy copies of these patches, not of other ones


def test_random_patches_are_uniform_crops_of_uniformly_drawn_images():
    def coded(height: int, width: int, tag: int) -> torch.Tensor:  # channels: row, column, which image
        rows = torch.arange(height)[:, None].expand(height, width)
        columns = torch.arange(width)[None, :].expand(height, width)
        return torch.stack([rows, columns, torch.full((height, width), tag)]).to(torch.uint8)

    sizes = [(40, 50), (8, 60), (12, 8), (6, 6), (7, 50), (50, 7)]  # the last three are too small for 8×8 crops
    images = [coded(height, width, tag) for tag, (height, width) in enumerate(sizes, start=1)]
    patches = data.random_patches(images, 2000, torch.Generator().manual_seed(6), size=8).long()
    assert patches.shape == (2000, 3, 8, 8)
    tags, tops, lefts = patches[:, 2, 0, 0], patches[:, 0, 0, 0], patches[:, 1, 0, 0]
    assert set(tags.tolist()) == {1, 2, 3} and abs((tags == 1).double().mean().item() - 1 / 3) < 0.05
    for patch, tag, top, left in zip(patches, tags, tops, lefts):
        assert torch.equal(patch, images[tag - 1][:, top : top + 8, left : left + 8].long())
    for tag, (height, width) in enumerate(sizes[:3], start=1):  # every position, up to the last one
        assert set(tops[tags == tag].tolist()) == set(range(height - 7))
        assert set(lefts[tags == tag].tolist()) == set(range(width - 7))
    for seed in range(8):  # one patch: the images not drawn are skipped, and the one drawn is cropped
        (patch,) = data.random_patches(images, 1, torch.Generator().manual_seed(seed), size=8).long()
        tag, top, left = patch[2, 0, 0], patch[0, 0, 0], patch[1, 0, 0]
        assert tag in (1, 2, 3) and torch.equal(patch, images[tag - 1][:, top : top + 8, left : left + 8].long())
    with pytest.raises(data.DataError, match="no image is at least 8×8"):
        data.random_patches(images[3:], 1, torch.Generator(), size=8)


# ---------------------------------------------------------------- predict: padding, cropping, scaling


class Constant(nn.Module):
    """A 'network' whose output is `value` everywhere."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def forward(self, x: tn.Tensor) -> tn.Tensor:
        return tn.Tensor(torch.full_like(x.data, self.value))


def model_with(net: nn.Module) -> Model:
    model = Model("course", device="cpu")
    model.net = net
    return model


@pytest.mark.parametrize("size", [(32, 32), (30, 45), (126, 127), (5, 7), (5, 2), (2, 3), (1, 1)])
def test_predict_with_the_identity_network_returns_its_input(size):
    """[0, 255] -> [0, 1] -> [0, 255] loses nothing, whatever padding the size needs."""
    images = torch.randint(0, 256, (2, 3, *size), generator=torch.Generator().manual_seed(7), dtype=torch.uint8)
    out = model_with(nn.Identity()).predict(images)
    torch.testing.assert_close(out, images.float(), atol=1e-4, rtol=0)


@pytest.mark.parametrize(("value", "expected"), [(0.5, 127.5), (1.0, 255.0), (0.25, 63.75), (1.7, 255.0), (-3, 0)])
def test_predict_scales_the_networks_unit_range_to_255_exactly_and_clamps(value, expected):
    out = model_with(Constant(value)).predict(torch.zeros(1, 3, 9, 6))
    assert out.dtype == torch.float32 and torch.equal(out, torch.full((1, 3, 9, 6), expected))


class Recording(nn.Module):
    """The identity, remembering the shape of every batch it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[tuple[int, ...]] = []
        self.modes: list[tuple[bool, bool]] = []  # (training, recording on the tape)

    def forward(self, x: tn.Tensor) -> tn.Tensor:
        self.batches.append(tuple(x.shape))
        self.modes.append((self.training, tn.is_grad_enabled()))
        return x


@pytest.mark.parametrize(
    ("count", "size", "batch_size", "batches"),
    [
        (100, (32, 32), None, [64, 36]),  # at most 64 images
        (40, (40, 52), None, [31, 9]),  # about 64 32×32 patches' worth of pixels: 65,536 // 2,080 = 31
        (3, (300, 300), None, [1, 1, 1]),  # one image at a time when one is bigger than that
        (12, (32, 32), 5, [5, 5, 2]),
        (2, (512, 6), None, [2]),  # as tall as a window: still batched, not window by window
    ],
)
def test_batches_bound_memory(count, size, batch_size, batches):
    net = Recording()
    images = torch.zeros(count, 3, *size)
    out = denoise_batches(net, images) if batch_size is None else denoise_batches(net, images, batch_size)
    assert net.batches == [(n, 3, -(-size[0] // 4) * 4, -(-size[1] // 4) * 4) for n in batches]
    assert out.shape == images.shape and out.device.type == "cpu"
    assert set(net.modes) == {(False, False)}  # eval mode, no tape...
    assert net.training  # ...and back to the mode it had afterwards
    net.eval()
    denoise_batches(net, images[:1])
    assert not net.training


class Placed(nn.Module):
    """Zeros on the CPU, remembering the device and dtype of every batch it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.placed: list[tuple[str, torch.dtype]] = []

    def forward(self, x: tn.Tensor) -> tn.Tensor:
        self.placed.append((x.data.device.type, x.data.dtype))
        return tn.Tensor(torch.zeros(x.shape))


@pytest.mark.parametrize("size", [(8, 6), (520, 6)])  # batched, and window by window
def test_the_network_runs_on_the_device_and_dtype_asked_for(size):
    """'meta' stands in for a GPU: the images reach the network there, in float64, whichever path they take."""
    net = Placed()
    out = denoise_batches(net, torch.zeros(2, 3, *size, dtype=torch.uint8), device="meta", dtype=torch.float64)
    assert out.shape == (2, 3, *size) and out.device.type == "cpu"
    assert net.placed and set(net.placed) == {("meta", torch.float64)}
    unit = to_unit(torch.tensor([0, 51, 255], dtype=torch.uint8).reshape(1, 3, 1, 1), "cpu", torch.float64)
    assert unit.dtype == torch.float64 and unit.flatten().tolist() == [0.0, 0.2, 1.0]


def test_predict_runs_the_network_on_the_models_device_and_names_itself_in_errors():
    model = model_with(Placed())
    model.device = torch.device("meta")  # stands in for a GPU
    assert model.predict(torch.zeros(2, 3, 8, 8, dtype=torch.uint8)).device.type == "cpu"
    assert model.net.placed == [("meta", torch.float32)]
    with pytest.raises(InputError, match=r"^predict: "):
        model.predict(torch.zeros(2, 4, 8, 8))


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_predict_returns_on_the_device_of_its_input():
    model = Model("course", device="cuda")
    images = torch.zeros(1, 3, 8, 8, dtype=torch.uint8)
    assert model.predict(images).device.type == "cpu" and model.predict(images.cuda()).device.type == "cuda"


def test_predict_runs_64_images_at_a_time():
    net = Recording()
    model_with(net).predict(torch.zeros(100, 3, 8, 8, dtype=torch.uint8))
    assert [shape[0] for shape in net.batches] == [64, 36]


def test_empty_batches_keep_their_shape():
    for size in ((10, 12), (600, 20)):  # batched, and window by window
        assert denoise_batches(nn.Identity(), torch.zeros(0, 3, *size)).shape == (0, 3, *size)


def reference_predict(net: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """predict's documented recipe, written out: reflect-pad right and bottom to a multiple of 4, run, crop the
    top-left H×W, clamp to [0, 1], scale to [0, 255]."""
    height, width = images.shape[-2:]
    x = torch_F.pad(images.float() / 255, (0, -width % 4, 0, -height % 4), mode="reflect")
    net.eval()
    with tn.no_grad():
        y = net(tn.Tensor(x)).data
    return y[..., :height, :width].clamp(0, 1) * 255


@pytest.fixture(scope="module")
def shipped() -> Model:
    model = Model("default", device="cpu")
    model.load_pretrained_model()
    return model


@pytest.fixture(scope="module")
def photo() -> tuple[torch.Tensor, torch.Tensor]:
    """A held-out 126×127 crop of chelsea (neither side a multiple of 4) and its seeded noisy copy."""
    clean = data.skimage_image("chelsea")[None, :, 100:226, 200:327]
    return data.add_noise(clean, data.Noise(), torch.Generator().manual_seed(0)), clean


@pytest.mark.parametrize("size", [(126, 127), (30, 45), (33, 36), (7, 5)])
def test_predict_on_sizes_not_multiples_of_4_is_the_network_on_the_padded_image_cropped(shipped, photo, size):
    noisy = photo[0][..., : size[0], : size[1]]
    torch.testing.assert_close(shipped.predict(noisy), reference_predict(shipped.net, noisy), atol=1e-4, rtol=0)


def test_predict_on_an_image_taller_than_a_window_equals_the_untiled_network(shipped, photo):
    """Taller than tiling.WINDOW: denoised window by window, equal to the whole image's result (blend ≤ 1e-5)."""
    noisy = photo[0][..., :12].repeat(1, 1, 5, 1)
    assert noisy.shape == (1, 3, 630, 12)
    torch.testing.assert_close(shipped.predict(noisy), reference_predict(shipped.net, noisy), atol=0.01, rtol=0)


def test_shipped_model_on_a_126_by_127_photo(shipped, photo):
    """+10.13 dB; cropping the bottom-right instead of the top-left of the padded output scores 24.98 dB."""
    noisy, clean = photo
    assert psnr(noisy, clean) == pytest.approx(20.350, abs=0.005)
    assert psnr(shipped.predict(noisy), clean) == pytest.approx(30.480, abs=0.005)


# ---------------------------------------------------------------- the shipped model's numbers


def test_shipped_model_psnr_on_200_held_out_patches(shipped):
    """`data.default_val(200)`: 200 32×32 patches of the held-out photos, σ = 25/255 (a few seconds)."""
    noisy, clean = data.default_val(200)
    assert psnr(noisy, clean) == pytest.approx(20.528, abs=0.005)
    assert psnr(shipped.predict(noisy), clean) == pytest.approx(30.684, abs=0.005)


def test_shipped_weights_are_the_ones_the_results_file_scored():
    results = json.loads((ROOT / "results" / "denoiser.json").read_text())
    assert hashlib.sha256(PRETRAINED.read_bytes()).hexdigest() == results["weights_sha256"]
    net, payload = load_model(PRETRAINED)
    assert payload["arch"] == "default" and net.num_parameters() == 72_547


def readme_table() -> dict[str, tuple[str, str, str]]:
    """The README's results table: {method: (PSNR, over noisy, reproduce command)}, as written."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (.+?) \| \**([0-9.]+)\** \| \**([^|]+?)\** \| `(.+?)` \|$", text, flags=re.M)
    return {method.strip("* "): (value, gain, command) for method, value, gain, command in rows}


def test_readme_denoiser_numbers_match_the_results_file():
    """Every README number that results/denoiser.json records is the number recomputed there."""
    results = json.loads((ROOT / "results" / "denoiser.json").read_text())
    table = readme_table()
    recorded = {row["readme_row"]: row for row in results["rows"]}
    assert recorded, "results/denoiser.json records no rows"
    for method, row in recorded.items():
        assert method in table, f"README has no results row {method!r}"
        value, gain, command = table[method]
        assert value == f"{row['psnr_db']:.2f}", method
        assert gain == ("–" if method == "noisy input" else f"{row['over_noisy_db']:+.2f}"), method
        assert command == row["readme_command"], method
