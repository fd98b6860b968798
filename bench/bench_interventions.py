"""Milliseconds per image for every local intervention at 0.5, 2 and 8 megapixels, one process.

Images are synthetic but photo-like (multi-scale "cloud" noise for soft structure, hard-edged
shapes, thin lines and sensor-like grain), generated in code so the benchmark needs no files. Each
cell is the median of a few runs after one warm-up. The last columns give images/second at 2 MP,
for the intervention alone and for the full job (decode JPEG, intervene, encode WebP).

Run: ``python -m bench.bench_interventions [--runs N] [--only NAME ...]``
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import time
from collections.abc import Callable

from PIL import Image, ImageDraw, ImageFilter

from imaging.decode import decode_image, encode_image
from imaging.interventions import INTERVENTIONS, apply

SIZES_MP = (0.5, 2.0, 8.0)
ASPECT = 3 / 2


def size_for(megapixels: float) -> tuple[int, int]:
    height = round((megapixels * 1_000_000 / ASPECT) ** 0.5)
    return round(height * ASPECT), height


def photo_like(width: int, height: int, seed: int = 1) -> Image.Image:
    rng = random.Random(seed)
    # Fractal noise: random colour grids at several scales, smoothly enlarged and blended.
    img = Image.new("RGB", (width, height), (120, 130, 110))
    for cells, weight in ((3, 0.6), (8, 0.35), (24, 0.25), (80, 0.15)):
        grid = Image.frombytes("RGB", (cells, cells), rng.randbytes(cells * cells * 3))
        img = Image.blend(img, grid.resize((width, height), Image.Resampling.BICUBIC), weight)
    draw = ImageDraw.Draw(img)
    for _ in range(40):  # objects with hard edges
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(max(4, width // 40), max(5, width // 8))
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x - r, y - r, x + r, y + r), fill=colour)
    for _ in range(300):  # fine detail: twigs, wires, text strokes
        x, y = rng.randrange(width), rng.randrange(height)
        draw.line((x, y, x + rng.randrange(-60, 60), y + rng.randrange(-60, 60)), fill=(30, 30, 30), width=2)
    grain = Image.effect_noise((width, height), 40).convert("RGB")
    return Image.blend(img.filter(ImageFilter.SMOOTH), grain, 0.08)


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm-up: first-call costs (font loading, allocator growth) are not per-image costs
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per cell (8 MP uses max(3, runs//2))")
    parser.add_argument("--intensity", type=int, default=3)
    parser.add_argument("--only", nargs="*", default=None, help="intervention names")
    args = parser.parse_args()
    names = args.only or list(INTERVENTIONS)
    images = {mp: photo_like(*size_for(mp)) for mp in SIZES_MP}
    jpeg_2mp = io.BytesIO()
    images[2.0].save(jpeg_2mp, "JPEG", quality=88)
    jpeg_bytes = jpeg_2mp.getvalue()

    header = ["intervention", *(f"{mp:g} MP ms" for mp in SIZES_MP), "2 MP img/s", "2 MP job img/s"]
    print(
        "image sizes: " + ", ".join(f"{mp:g} MP = {w}x{h}" for mp, (w, h) in ((mp, images[mp].size) for mp in SIZES_MP))
    )
    print(
        f"intensity {args.intensity}, whole image, median of {args.runs} runs; job = decode JPEG + "
        "intervene + encode WebP"
    )
    print(" | ".join(f"{h:>15}" for h in header))
    print("-" * (18 * len(header)))
    for name in names:
        cells: list[str] = [name]
        per_mp: dict[float, float] = {}
        for mp in SIZES_MP:
            img = images[mp]
            runs = args.runs if mp < 8 else max(3, args.runs // 2)
            per_mp[mp] = median_ms(
                lambda img=img, name=name: apply(
                    name, img, boxes=None, filter_text="spiders", intensity=args.intensity, options={}
                ),
                runs,
            )
            cells.append(f"{per_mp[mp]:.1f}")

        def job(name: str = name) -> None:
            decoded = decode_image(jpeg_bytes, max_pixels=40_000_000)
            out = apply(name, decoded, boxes=None, filter_text="spiders", intensity=args.intensity, options={})
            encode_image(out)

        job_ms = median_ms(job, args.runs)
        cells.append(f"{1000 / per_mp[2.0]:.1f}")
        cells.append(f"{1000 / job_ms:.1f}")
        print(" | ".join(f"{c:>15}" for c in cells), flush=True)

    decode_ms = median_ms(lambda: decode_image(jpeg_bytes, max_pixels=40_000_000), args.runs)
    encode_ms = median_ms(lambda: encode_image(images[2.0]), args.runs)
    print(f"\n2 MP fixed costs: decode JPEG {decode_ms:.1f} ms, encode WebP {encode_ms:.1f} ms")


if __name__ == "__main__":
    main()
