import pytest
import torch

import nst_helpers as nh


def test_small_transfer_lowers_style_loss_tenfold(content64, style64):
    result = nh.style_transfer(content64, style64, steps=20, seed=0, progress=False, device="cpu")
    style = result.history["style"]
    assert set(result.history) == {"total", "content", "style", "tv"}
    assert len(style) == 20
    assert style[-1] < style[0] / 10
    assert result.image.shape == content64.shape
    assert result.image.min() >= 0 and result.image.max() <= 1
    assert not torch.allclose(result.image, content64, atol=0.05), "the image must actually change"


def test_same_seed_same_result(content64, style64):
    kwargs = dict(steps=5, init="noise", seed=3, progress=False, device="cpu", precision="fp32")
    a = nh.style_transfer(content64, style64, **kwargs).image
    b = nh.style_transfer(content64, style64, **kwargs).image
    c = nh.style_transfer(content64, style64, **{**kwargs, "seed": 4}).image
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_each_init_starts_the_run_from_its_own_image(content64, style64):
    starts = {init: nh.initial_image(init, content64, style64, seed=0) for init in ("content", "noise", "style")}
    assert torch.equal(starts["content"], content64)
    assert torch.equal(starts["style"], nh.resize(style64, tuple(content64.shape[-2:])))
    assert torch.equal(starts["noise"], nh.initial_image("noise", content64, style64, seed=0))
    assert not torch.equal(starts["noise"], nh.initial_image("noise", content64, style64, seed=1))
    assert abs(starts["noise"].mean().item() - 0.5) < 0.05  # uniform noise in [0, 1]
    for init in starts:  # two small steps later, each result is still nearest its own start
        image = nh.style_transfer(content64, style64, steps=2, init=init, progress=False, device="cpu",
                                  precision="fp32").image
        distance = {other: (image - start).abs().mean().item() for other, start in starts.items()}
        assert min(distance, key=distance.get) == init, distance


def test_per_layer_weights_weigh_each_layer_and_styles_may_differ_in_size(content64):
    style = torch.rand(1, 3, 40, 72)  # another size and aspect than the content

    def first_style_loss(style_layers):  # the loss at the start image (the content), before any step
        return nh.style_transfer(content64, style, steps=1, progress=False, device="cpu", precision="fp32",
                                 style_layers=style_layers, content_layers=["conv4_2"]).history["style"][0]

    only_1 = first_style_loss({"relu1_1": 1.0, "relu3_1": 0.0})
    only_3 = first_style_loss({"relu1_1": 0.0, "relu3_1": 1.0})
    assert only_1 == pytest.approx(first_style_loss(["relu1_1"]), rel=1e-5)  # a zero weight drops the layer
    assert only_3 == pytest.approx(first_style_loss(["relu3_1"]), rel=1e-5)
    assert first_style_loss({"relu1_1": 2.0, "relu3_1": 3.0}) == pytest.approx(2 * only_1 + 3 * only_3, rel=1e-4)
    assert first_style_loss(["relu1_1", "relu3_1"]) == pytest.approx((only_1 + only_3) / 2, rel=1e-4)


#: Final losses of this 64 px transfer (fp32, CPU, seed 0, 50 steps), measured before the package
#: was split into layers (commit 1fefa97). Moving code must not change what it computes.
PINNED_LOSS = {"content": 83853.546875, "noise": 93976.828125}


@pytest.mark.parametrize("init", sorted(PINNED_LOSS))
def test_the_64px_fp32_transfer_keeps_its_pinned_loss(content64, style64, init):
    result = nh.style_transfer(content64, style64, steps=50, init=init, seed=0, precision="fp32", device="cpu",
                               progress=False)
    assert result.best_loss == pytest.approx(PINNED_LOSS[init], rel=0.01)


@pytest.mark.parametrize("kwargs, match", [
    ({"style_weight": -1.0}, "style_weight must be a finite number >= 0"),
    ({"content_weight": float("nan")}, "content_weight must be a finite number >= 0"),
    ({"tv_weight": float("inf")}, "tv_weight must be a finite number >= 0"),
    ({"steps": 0}, "steps must be a positive integer"),
    ({"style_layers": ["relu9_9"]}, "style_layers: unknown layer 'relu9_9'; valid names are"),
    ({"style_layers": []}, "style_layers: give at least one layer"),
    ({"init": "zeros"}, "init must be one of"),
    ({"init": torch.rand(1, 3, 10, 10)}, "init: expected shape|too small"),
    ({"optimizer": "sgd"}, "optimizer must be one of"),
])
def test_bad_parameters_are_clear_errors(content64, style64, kwargs, match):
    with pytest.raises(ValueError, match=match):
        nh.style_transfer(content64, style64, progress=False, device="cpu", **kwargs)


def test_bad_images_are_clear_errors(content64):
    with pytest.raises(ValueError, match=r"style: expected shape \(1, 3, H, W\)"):
        nh.style_transfer(content64, torch.rand(3, 64, 64), progress=False)
    with pytest.raises(ValueError, match="content: contains NaN"):
        nh.style_transfer(content64 * float("nan"), content64, progress=False)
    with pytest.raises(ValueError, match="style: expected an image tensor"):
        nh.style_transfer(content64, "data/style/starry_night.jpg", progress=False)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_cuda_transfer_matches_the_cpu(content64, style64):
    kwargs = dict(steps=30, precision="fp32", progress=False)
    gpu = nh.style_transfer(content64, style64, device="cuda", **kwargs)
    cpu = nh.style_transfer(content64, style64, device="cpu", **kwargs)
    assert gpu.image.device.type == "cuda"
    assert gpu.history["total"][-1] == pytest.approx(cpu.history["total"][-1], rel=0.03)
    assert (gpu.image.cpu() - cpu.image).abs().mean() < 0.02


FAST = dict(steps=8, device="cpu", precision="fp32", progress=False)


def test_fourier_parameterization_and_a_given_one(content64, style64):
    fourier = nh.style_transfer(content64, style64, parameterization="fourier", **FAST)
    assert fourier.image.shape == content64.shape
    assert fourier.history["total"][-1] < fourier.history["total"][0]
    pixels = nh.PixelImage(content64)
    given = nh.style_transfer(content64, style64, parameterization=pixels, init="noise", **FAST)
    assert torch.allclose(given.image, pixels(), atol=1e-6)  # the given parameterization was optimized
    with pytest.raises(ValueError, match="parameterization must be one of"):
        nh.style_transfer(content64, style64, parameterization="wavelet", **FAST)


def test_transform_runs_every_step_and_turns_the_guard_off(content64, style64):
    calls = []

    def shift(image):
        calls.append(1)
        return torch.roll(image, shifts=len(calls) % 5, dims=-1)

    result = nh.style_transfer(content64, style64, transform=shift, **FAST)
    assert len(calls) >= 8 and result.steps == 8
    with pytest.raises(ValueError, match="transform must be a function"):
        nh.style_transfer(content64, style64, transform="jitter", **FAST)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")
def test_a_cpu_parameterization_runs_on_the_gpu(content64, style64):
    pixels = nh.PixelImage(content64)  # made on the CPU
    result = nh.style_transfer(content64, style64, parameterization=pixels, steps=5, device="cuda", progress=False)
    assert result.history["total"][-1] < result.history["total"][0]


def test_style_transfer_is_the_sum_of_its_objectives(content64, style64, vgg):
    """The README's composition by hand gives style_transfer's run, step for step."""
    O = nh.objectives
    with torch.no_grad():
        targets = vgg.features(content64, nh.GATYS_CONTENT_LAYERS)
        grams = {k: nh.gram_matrix(v) for k, v in vgg.features(style64, nh.GATYS_STYLE_LAYERS).items()}
    objective = O.content(targets) + 100 * O.gram_style(grams) + 3e4 * O.tv()
    by_hand = nh.optimize(objective, content64, steps=5, extractor=vgg, progress=False)
    library = nh.style_transfer(content64, style64, steps=5, device="cpu", precision="fp32", progress=False)
    for term in ("content", "style", "tv"):
        assert by_hand.history[term] == pytest.approx(library.history[term], rel=1e-4), term


@pytest.mark.parametrize("changes, match", [
    ({"style_weight": -1.0}, "style_weight must be a finite number >= 0"),
    ({"content_layers": ["relu9_9"]}, "content_layers: unknown layer 'relu9_9'"),
    ({"pooling": "mean"}, "pooling must be one of"),
    ({"precision": "fp16"}, "precision must be one of"),
    ({"optimizer": "sgd"}, "optimizer must be one of"),
    ({"init": "zeros"}, "init must be one of"),
    ({"lr": -1.0}, "lr must be a positive number"),
    ({"seed": -3}, "seed must be an integer >= 0"),
])
def test_transfer_settings_are_checked_once_when_made(changes, match):
    with pytest.raises(ValueError, match=match):
        nh.TransferSettings(**changes)
    with pytest.raises(ValueError, match=match):
        nh.TransferSettings().replace(**changes)


def test_style_transfer_and_transfer_with_settings_are_the_same_run(content64, style64):
    settings = nh.TransferSettings(style_weight=1e3, init="noise", seed=2, device="cpu", precision="fp32")
    by_settings = nh.transfer_with(settings, content64, style64, steps=4, progress=False)
    by_keywords = nh.style_transfer(content64, style64, style_weight=1e3, init="noise", seed=2, device="cpu",
                                    precision="fp32", steps=4, progress=False)
    assert torch.equal(by_settings.image, by_keywords.image)
    with pytest.raises(ValueError, match="settings: expected a TransferSettings"):
        nh.transfer_with({"style_weight": 1e3}, content64, style64, steps=1)
