"""Draws examples/render/logo.png, the example canon's logo (our own drawing, CC0):
python examples/render/make_logo.py"""

from pathlib import Path

from PIL import Image, ImageDraw

RED, NAVY, WHITE = (210, 38, 48, 255), (31, 58, 147, 255), (255, 255, 255, 255)
S = 4  # drawn 4x, then reduced: smooth edges
W, H = 480, 160

im = Image.new("RGBA", (W * S, H * S), (0, 0, 0, 0))
d = ImageDraw.Draw(im)
d.rounded_rectangle((0, 0, W * S - 1, H * S - 1), radius=28 * S, fill=RED)
d.ellipse((22 * S, 22 * S, 138 * S, 138 * S), fill=WHITE)
d.polygon([(62 * S, 50 * S), (62 * S, 110 * S), (112 * S, 80 * S)], fill=RED)
for i, length in enumerate((300, 240, 270)):
    y = (36 + i * 34) * S
    d.rounded_rectangle((160 * S, y, (160 + length) * S, y + 20 * S), radius=10 * S, fill=WHITE)
d.rectangle((160 * S, 138 * S, 300 * S, 146 * S), fill=NAVY)
im = im.resize((W, H), Image.Resampling.LANCZOS)
im.save(Path(__file__).with_name("logo.png"), optimize=True)
