"""imaging.interventions: every local intervention, whole-image and box variants."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PIL import Image, ImageChops, ImageStat

from imaging.interventions import INTERVENTIONS, UnknownIntervention, apply
from imaging.interventions.base import clip_boxes, pad_box
from imaging.interventions.obscure import NEUTRAL, warning_label

NAMES = sorted(INTERVENTIONS)
BOX_NAMES = sorted(name for name, i in INTERVENTIONS.items() if i.uses_boxes)
BOX = (100, 60, 220, 160)


def _run(
    name: str,
    img: Image.Image,
    *,
    boxes: list | None = None,
    intensity: int = 3,
    text: str = "spiders",
    **options: object,
) -> Image.Image:
    return apply(name, img, boxes=boxes, filter_text=text, intensity=intensity, options=options)


def _mean_diff(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute per-channel difference, 0..255."""
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean) / 3


def _count_at_least(img: Image.Image, level: int) -> int:
    """Pixels whose darkest channel is >= level."""
    r, g, b = img.convert("RGB").split()
    return sum(ImageChops.darker(ImageChops.darker(r, g), b).histogram()[level:])


def _count_below(img: Image.Image, level: int) -> int:
    return sum(img.convert("L").histogram()[:level])


def _same(a: Image.Image, b: Image.Image) -> bool:
    return a.mode == b.mode and ImageChops.difference(a, b).getbbox() is None


def _outside_unchanged(out: Image.Image, src: Image.Image, box: tuple[int, int, int, int]) -> bool:
    patched = out.convert("RGB")
    patched.paste(src.crop(box), box[:2])
    return ImageChops.difference(patched, src).getbbox() is None


def test_registry_has_the_local_interventions() -> None:
    assert set(NAMES) == {
        "blur",
        "pixelate",
        "occlusion",
        "overlay",
        "shrink",
        "cartoonish",
        "pointillism",
        "impressionism",
    }


@pytest.mark.parametrize("intensity", [1, 3, 5])
@pytest.mark.parametrize("name", NAMES)
def test_whole_image_same_size_and_visibly_changed(name: str, intensity: int, photo: Image.Image) -> None:
    out = _run(name, photo, intensity=intensity)
    assert out.size == photo.size
    assert out.mode == "RGB"
    assert _mean_diff(out, photo) > 3, name


@pytest.mark.parametrize("name", BOX_NAMES)
def test_box_variants_change_only_the_box(name: str, photo: Image.Image) -> None:
    out = _run(name, photo, boxes=[BOX], intensity=1)  # intensity 1: no occlusion padding
    assert out.size == photo.size
    assert _outside_unchanged(out, photo, BOX), name
    assert _mean_diff(out.crop(BOX), photo.crop(BOX)) > 3, name


@pytest.mark.parametrize("name", BOX_NAMES)
def test_several_sloppy_boxes(name: str, photo: Image.Image) -> None:
    # Reversed corners, partly outside, empty and fully outside boxes: detectors produce all of these.
    boxes: list = [
        (220, 160, 100, 60),
        (-50, -50, 40, 30),
        (10, 10, 10, 50),
        (900, 900, 1000, 1000),
        ("a", 1, 2, 3),
        (1, 2, 3),
        None,
        [10.4, 200, 30.6, 230],
    ]
    out = _run(name, photo, boxes=boxes, intensity=1)
    assert out.size == photo.size
    patched = out.copy()
    for box in clip_boxes(boxes, photo.size):
        patched.paste(photo.crop(box), box[:2])
    assert ImageChops.difference(patched, photo).getbbox() is None
    assert clip_boxes(boxes, photo.size) == (BOX, (0, 0, 40, 30), (10, 200, 31, 230))


@pytest.mark.parametrize("name", ["blur", "pixelate", "shrink", "overlay"])
def test_intensity_increases_strength(name: str, photo: Image.Image) -> None:
    weak, strong = _run(name, photo, intensity=1), _run(name, photo, intensity=5)
    assert _mean_diff(strong, photo) > _mean_diff(weak, photo) + 1


def test_intensity_is_clamped(photo: Image.Image) -> None:
    assert _same(_run("blur", photo, intensity=99), _run("blur", photo, intensity=5))
    assert _same(_run("blur", photo, intensity=-3), _run("blur", photo, intensity=1))
    assert _same(_run("blur", photo, intensity=None), _run("blur", photo, intensity=3))  # type: ignore[arg-type]


def test_occlusion(photo: Image.Image) -> None:
    whole = _run("occlusion", photo, color="#ff8800")
    assert whole.getcolors() == [(photo.width * photo.height, (255, 136, 0))]
    boxed = _run("occlusion", photo, boxes=[BOX], intensity=5)
    padded = pad_box(BOX, 0.08, photo.size)
    assert boxed.crop(padded).getcolors() == [((padded[2] - padded[0]) * (padded[3] - padded[1]), (0, 0, 0))]
    assert _outside_unchanged(boxed, photo, padded)


def test_overlay_draws_a_readable_label(photo: Image.Image) -> None:
    out = _run("overlay", photo, text="spiders")
    centre = out.crop((photo.width // 4, photo.height // 3, 3 * photo.width // 4, 2 * photo.height // 3))
    assert _count_at_least(centre, 230) > 50  # white glyphs on the dark panel
    assert _mean_diff(out, _run("overlay", photo, text="a much longer and different label")) > 0.5


def test_warning_label_text() -> None:
    assert warning_label("Spiders.") == "Content warning: Spiders"
    assert warning_label("") == "Content warning"
    assert warning_label("a\x00b\nc\x1b[31m") == "Content warning: a b c [31m"
    assert len(warning_label("x" * 500)) == 90
    assert warning_label("ignored", "Heads up") == "Heads up"


def test_overlay_label_fits_tiny_and_huge_images(make_photo: Callable[..., Image.Image]) -> None:
    for size in ((40, 30), (2000, 120), (120, 900)):
        out = _run("overlay", make_photo(*size), text="graphic violence and other things " * 3)
        assert out.size == size


def test_shrink_centres_on_neutral_canvas(photo: Image.Image) -> None:
    out = _run("shrink", photo, intensity=3)
    assert out.getpixel((2, 2)) == NEUTRAL
    assert out.getpixel((photo.width - 3, photo.height - 3)) == NEUTRAL
    assert _mean_diff(out.crop((140, 100, 180, 140)), Image.new("RGB", (40, 40), NEUTRAL)) > 10


def test_cartoonish_has_ink_and_flat_colours(photo: Image.Image) -> None:
    out = _run("cartoonish", photo)
    assert _count_below(out, 45) > 100  # outlines
    # Fewer distinct colours than the noisy source, even after smooth upscaling.
    assert len(out.getcolors(1 << 20) or []) < len(photo.getcolors(1 << 20) or [])


def test_pointillism_shows_the_canvas(photo: Image.Image) -> None:
    out = _run("pointillism", photo, intensity=5)
    assert _count_at_least(out, 226) > 100


def test_stylizers_are_deterministic(photo: Image.Image) -> None:
    for name in ("pointillism", "impressionism", "cartoonish"):
        assert _same(_run(name, photo), _run(name, photo))


@pytest.mark.parametrize("name", NAMES)
def test_alpha_handling(name: str, photo: Image.Image) -> None:
    src = photo.convert("RGBA")
    src.putalpha(Image.linear_gradient("L").resize(photo.size))
    out = _run(name, src)
    assert out.size == photo.size
    if INTERVENTIONS[name].keeps_alpha:
        assert out.mode == "RGBA"
        assert ImageChops.difference(out.getchannel("A"), src.getchannel("A")).getbbox() is None
    else:
        assert out.mode == "RGB"  # hiding interventions must stay opaque


@pytest.mark.parametrize("mode", ["L", "P", "CMYK", "1"])
def test_other_input_modes(mode: str, photo: Image.Image) -> None:
    out = _run("cartoonish", photo.convert(mode))
    assert out.size == photo.size and out.mode == "RGB"


def test_bad_options_fall_back_to_defaults(photo: Image.Image) -> None:
    out = _run("blur", photo, radius="lots")
    assert _same(out, _run("blur", photo))
    assert _run("occlusion", photo, color="not-a-colour").getpixel((0, 0)) == (0, 0, 0)


def test_unknown_intervention(photo: Image.Image) -> None:
    with pytest.raises(UnknownIntervention):
        _run("inpainting", photo)


def test_tiny_images(make_photo: Callable[..., Image.Image]) -> None:
    for size in ((1, 1), (3, 2), (2, 300)):
        img = make_photo(*size) if min(size) > 1 else Image.new("RGB", size, (10, 200, 30))
        for name in NAMES:
            assert _run(name, img, boxes=[(0, 0, 1, 1)]).size == size, name
