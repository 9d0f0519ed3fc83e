#!/usr/bin/env python3
"""Render a tmux `capture-pane -e -p` dump (text + SGR colour escapes) to a PNG.

    python3 screenshots/render.py IN.ansi OUT.png [--cols 160] [--rows 45]

Handles 16-colour, 256-colour and truecolour fg/bg, bold, dim, italic, underline,
reverse, strikethrough and resets. Box-drawing and block characters are drawn as
shapes so that borders join up exactly; everything else is drawn with DejaVu Sans
Mono (falling back to DejaVu Sans for glyphs the monospace face lacks, then to
PIL's built-in font if no TTF is installed).
"""
import argparse
import os
import re
import sys
import unicodedata

from PIL import Image, ImageDraw, ImageFont

BG = (0x1E, 0x1E, 0x1E)
FG = (0xCC, 0xCC, 0xCC)
PAD = 10
FONT_SIZE = 15

# VS Code's dark terminal palette: readable on #1e1e1e.
PALETTE16 = [
    (0x00, 0x00, 0x00), (0xCD, 0x31, 0x31), (0x0D, 0xBC, 0x79), (0xE5, 0xE5, 0x10),
    (0x24, 0x72, 0xC8), (0xBC, 0x3F, 0xBC), (0x11, 0xA8, 0xCD), (0xE5, 0xE5, 0xE5),
    (0x66, 0x66, 0x66), (0xF1, 0x4C, 0x4C), (0x23, 0xD1, 0x8B), (0xF5, 0xF5, 0x43),
    (0x3B, 0x8E, 0xEA), (0xD6, 0x70, 0xD6), (0x29, 0xB8, 0xDB), (0xFF, 0xFF, 0xFF),
]


def color256(n):
    if n < 16:
        return PALETTE16[n]
    if n < 232:
        n -= 16
        levels = (0, 95, 135, 175, 215, 255)
        return (levels[n // 36], levels[(n // 6) % 6], levels[n % 6])
    v = 8 + 10 * (n - 232)
    return (v, v, v)


FONT_DIRS = [
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu",
    "/usr/share/fonts/TTF",
    "/usr/local/share/fonts",
]


def find_font(name):
    for d in FONT_DIRS:
        p = os.path.join(d, name)
        if os.path.exists(p):
            return p
    return None


class Fonts:
    def __init__(self, size):
        reg = find_font("DejaVuSansMono.ttf")
        bold = find_font("DejaVuSansMono-Bold.ttf")
        obl = find_font("DejaVuSansMono-Oblique.ttf")
        boldobl = find_font("DejaVuSansMono-BoldOblique.ttf")
        fallback = find_font("DejaVuSans.ttf")
        if reg:
            self.regular = ImageFont.truetype(reg, size)
            self.bold = ImageFont.truetype(bold, size) if bold else self.regular
            self.italic = ImageFont.truetype(obl, size) if obl else self.regular
            self.bolditalic = ImageFont.truetype(boldobl, size) if boldobl else self.bold
            self.fallback = ImageFont.truetype(fallback, size) if fallback else None
            ascent, descent = self.regular.getmetrics()
            self.cell_w = int(round(self.regular.getlength("M")))
            self.cell_h = ascent + descent
            self.truetype = True
        else:
            print("render.py: DejaVu Sans Mono not found, using PIL's default font",
                  file=sys.stderr)
            try:
                f = ImageFont.load_default(size=size)  # Pillow >= 10.1
            except TypeError:
                f = ImageFont.load_default()
            self.regular = self.bold = self.italic = self.bolditalic = f
            self.fallback = None
            self.truetype = hasattr(f, "getmetrics")
            if self.truetype:
                ascent, descent = f.getmetrics()
                self.cell_w = int(round(f.getlength("M")))
                self.cell_h = ascent + descent
            else:
                l, t, r, b = f.getbbox("M")
                self.cell_w, self.cell_h = max(r, 6), max(b + 3, 11)
        self._missing = None
        self._cache = {}

    def face(self, bold, italic):
        if bold and italic:
            return self.bolditalic
        if bold:
            return self.bold
        if italic:
            return self.italic
        return self.regular

    def has_glyph(self, font, ch):
        """True unless `ch` renders as the font's .notdef box."""
        if not self.truetype:
            return True
        key = (id(font), ch)
        if key in self._cache:
            return self._cache[key]
        def sig(c):
            m = font.getmask(c)
            return (m.size, bytes(m))
        if self._missing is None or self._missing[0] != id(font):
            self._missing = (id(font), sig("\U0010FFFD"))
        ok = sig(ch) != self._missing[1]
        self._cache[key] = ok
        return ok


class Cell:
    __slots__ = ("ch", "fg", "bg", "bold", "dim", "italic", "ul", "rev", "strike", "wide")

    def __init__(self):
        self.ch = " "
        self.fg = None
        self.bg = None
        self.bold = self.dim = self.italic = self.ul = self.rev = self.strike = False
        self.wide = False


class State:
    def __init__(self):
        self.reset()

    def reset(self):
        self.fg = None
        self.bg = None
        self.bold = self.dim = self.italic = self.ul = self.rev = self.strike = False


def parse_extended(params, i):
    """params[i] is 38 or 48; returns (colour or None, next index)."""
    if i + 1 < len(params):
        mode = params[i + 1]
        if mode == 5 and i + 2 < len(params):
            return color256(params[i + 2] % 256), i + 3
        if mode == 2 and i + 4 < len(params):
            r, g, b = params[i + 2:i + 5]
            return (r % 256, g % 256, b % 256), i + 5
    return None, len(params)


def apply_sgr(st, raw):
    if raw == "":
        st.reset()
        return
    # Colon sub-parameters (38:2::r:g:b / 38:5:n / 4:3) -> flatten.
    params = []
    for part in raw.split(";"):
        if ":" in part:
            sub = [int(x) if x else 0 for x in part.split(":")]
            if sub[0] in (38, 48, 58) and len(sub) >= 2 and sub[1] == 2 and len(sub) == 6:
                sub = [sub[0], 2] + sub[3:]  # drop colour-space id
            if sub[0] == 4:
                sub = [4 if (len(sub) < 2 or sub[1] != 0) else 24]
            params.extend(sub)
        else:
            params.append(int(part) if part.isdigit() else 0)
    i = 0
    while i < len(params):
        p = params[i]
        if p == 0:
            st.reset()
        elif p == 1:
            st.bold = True
        elif p == 2:
            st.dim = True
        elif p == 3:
            st.italic = True
        elif p in (4, 21):
            st.ul = True
        elif p == 7:
            st.rev = True
        elif p == 9:
            st.strike = True
        elif p == 22:
            st.bold = st.dim = False
        elif p == 23:
            st.italic = False
        elif p == 24:
            st.ul = False
        elif p == 27:
            st.rev = False
        elif p == 29:
            st.strike = False
        elif 30 <= p <= 37:
            st.fg = PALETTE16[p - 30]
        elif p == 38:
            c, i = parse_extended(params, i)
            st.fg = c
            continue
        elif p == 39:
            st.fg = None
        elif 40 <= p <= 47:
            st.bg = PALETTE16[p - 40]
        elif p == 48:
            c, i = parse_extended(params, i)
            st.bg = c
            continue
        elif p == 49:
            st.bg = None
        elif p == 58:
            _, i = parse_extended(params, i)
            continue
        elif 90 <= p <= 97:
            st.fg = PALETTE16[p - 90 + 8]
        elif 100 <= p <= 107:
            st.bg = PALETTE16[p - 100 + 8]
        # 5/6 blink, 8 hidden, 53 overline...: ignored
        i += 1


ESC_RE = re.compile(
    r"\x1b\[([0-9;:?<=>]*)([ -/]*)([@-~])"   # CSI
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"     # OSC (e.g. hyperlinks)
    r"|\x1b[PX^_][^\x1b]*\x1b\\"              # DCS/SOS/PM/APC
    r"|\x1b[()][0-9A-Za-z]"                   # charset designation
    r"|\x1b[@-Z\\-_]"                         # other 2-byte escapes
)


def char_width(ch):
    if unicodedata.combining(ch):
        return 0
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 2
    return 1


def parse(text, cols, rows):
    grid = [[Cell() for _ in range(cols)] for _ in range(rows)]
    st = State()  # tmux carries attributes across lines, so does this
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for y, line in enumerate(lines[:rows]):
        x = 0
        pos = 0
        for m in ESC_RE.finditer(line):
            seg = line[pos:m.start()]
            x = put_text(grid[y], x, seg, st, cols)
            if m.group(3) == "m" and not m.group(2):
                apply_sgr(st, m.group(1))
            pos = m.end()
        put_text(grid[y], x, line[pos:], st, cols)
    return grid


def put_text(row, x, seg, st, cols):
    for ch in seg:
        if ch in "\r\x07":
            continue
        if ch == "\t":
            nx = min((x // 8 + 1) * 8, cols)
            while x < nx:
                put_char(row, x, " ", st)
                x += 1
            continue
        if ord(ch) < 0x20:
            continue
        w = char_width(ch)
        if w == 0:
            if x > 0:
                row[x - 1].ch += ch
            continue
        if x + w > cols:
            break
        put_char(row, x, ch, st)
        row[x].wide = w == 2
        if w == 2:
            put_char(row, x + 1, "", st)
        x += w
    return x


def put_char(row, x, ch, st):
    c = row[x]
    c.ch = ch
    c.fg, c.bg = st.fg, st.bg
    c.bold, c.dim, c.italic = st.bold, st.dim, st.italic
    c.ul, c.rev, c.strike = st.ul, st.rev, st.strike
    c.wide = False


def blend(a, b, t):
    return tuple(int(round(a[i] * (1 - t) + b[i] * t)) for i in range(3))


# Box drawing: (up, right, down, left) with 1 = light, 2 = heavy, 3 = double.
BOX = {}


def _box(chars, spec):
    for ch, s in zip(chars, spec):
        BOX[ch] = s


_box("─━│┃", [(0, 1, 0, 1), (0, 2, 0, 2), (1, 0, 1, 0), (2, 0, 2, 0)])
_box("┌┏┐┓└┗┘┛", [(0, 1, 1, 0), (0, 2, 2, 0), (0, 0, 1, 1), (0, 0, 2, 2),
                   (1, 1, 0, 0), (2, 2, 0, 0), (1, 0, 0, 1), (2, 0, 0, 2)])
_box("├┣┤┫┬┳┴┻┼╋", [(1, 1, 1, 0), (2, 2, 2, 0), (1, 0, 1, 1), (2, 0, 2, 2),
                     (0, 1, 1, 1), (0, 2, 2, 2), (1, 1, 0, 1), (2, 2, 0, 2),
                     (1, 1, 1, 1), (2, 2, 2, 2)])
_box("═║╔╗╚╝╠╣╦╩╬", [(0, 3, 0, 3), (3, 0, 3, 0), (0, 3, 3, 0), (0, 0, 3, 3),
                      (3, 3, 0, 0), (3, 0, 0, 3), (3, 3, 3, 0), (3, 0, 3, 3),
                      (0, 3, 3, 3), (3, 3, 0, 3), (3, 3, 3, 3)])
_box("╴╵╶╷╸╹╺╻", [(0, 0, 0, 1), (1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0),
                   (0, 0, 0, 2), (2, 0, 0, 0), (0, 2, 0, 0), (0, 0, 2, 0)])
ARCS = {"╭": ("down", "right"), "╮": ("down", "left"), "╯": ("up", "left"), "╰": ("up", "right")}


def draw_box(d, ch, x0, y0, w, h, fg):
    light = max(1, w // 9)
    heavy = light * 2 + 1
    cx = x0 + (w - light) // 2  # left edge of a light vertical stroke
    cy = y0 + (h - light) // 2  # top edge of a light horizontal stroke
    if ch in ARCS:
        vert, horiz = ARCS[ch]
        r = max(2, min(w, h) // 2)
        # Arc centre is offset from the cell centre toward the open quadrant.
        ax = cx + light // 2 + (r if horiz == "right" else -r)
        ay = cy + light // 2 + (r if vert == "down" else -r)
        start = {("down", "right"): 180, ("down", "left"): 270,
                 ("up", "left"): 0, ("up", "right"): 90}[(vert, horiz)]
        d.arc([ax - r, ay - r, ax + r, ay + r], start, start + 90, fill=fg, width=light)
        if horiz == "right":
            d.rectangle([ax, cy, x0 + w - 1, cy + light - 1], fill=fg)
        else:
            d.rectangle([x0, cy, ax, cy + light - 1], fill=fg)
        if vert == "down":
            d.rectangle([cx, ay, cx + light - 1, y0 + h - 1], fill=fg)
        else:
            d.rectangle([cx, y0, cx + light - 1, ay], fill=fg)
        return
    up, right, down, left = BOX[ch]
    mx = cx + light // 2
    my = cy + light // 2

    def hseg(xa, xb, weight):
        if weight == 3:
            g = light + 1
            d.rectangle([xa, my - g, xb, my - g + light - 1], fill=fg)
            d.rectangle([xa, my + g, xb, my + g + light - 1], fill=fg)
        else:
            t = light if weight == 1 else heavy
            top = my - t // 2
            d.rectangle([xa, top, xb, top + t - 1], fill=fg)

    def vseg(ya, yb, weight):
        if weight == 3:
            g = light + 1
            d.rectangle([mx - g, ya, mx - g + light - 1, yb], fill=fg)
            d.rectangle([mx + g, ya, mx + g + light - 1, yb], fill=fg)
        else:
            t = light if weight == 1 else heavy
            lft = mx - t // 2
            d.rectangle([lft, ya, lft + t - 1, yb], fill=fg)

    ext = heavy // 2 + (light + 1 if 3 in (up, right, down, left) else 0)
    if left:
        hseg(x0, mx + (ext if (up or down) else 0), left)
    if right:
        hseg(mx - (ext if (up or down) else 0), x0 + w - 1, right)
    if up:
        vseg(y0, my + (ext if (left or right) else 0), up)
    if down:
        vseg(my - (ext if (left or right) else 0), y0 + h - 1, down)


def draw_block(d, ch, x0, y0, w, h, fg, bg):
    o = ord(ch)
    x1, y1 = x0 + w - 1, y0 + h - 1
    if ch == "█":
        d.rectangle([x0, y0, x1, y1], fill=fg)
    elif ch == "▀":
        d.rectangle([x0, y0, x1, y0 + h // 2 - 1], fill=fg)
    elif ch == "▔":
        d.rectangle([x0, y0, x1, y0 + max(1, h // 8) - 1], fill=fg)
    elif ch == "▐":
        d.rectangle([x0 + w // 2, y0, x1, y1], fill=fg)
    elif ch == "▕":
        d.rectangle([x1 - max(1, w // 8) + 1, y0, x1, y1], fill=fg)
    elif 0x2581 <= o <= 0x2588:  # lower n/8 blocks
        n = o - 0x2580
        d.rectangle([x0, y1 - round(h * n / 8) + 1, x1, y1], fill=fg)
    elif 0x2589 <= o <= 0x258F:  # left n/8 blocks (▉ = 7/8 ... ▏ = 1/8)
        n = 0x2590 - o
        d.rectangle([x0, y0, x0 + max(1, round(w * n / 8)) - 1, y1], fill=fg)
    elif ch in "░▒▓":
        t = {"░": 0.25, "▒": 0.5, "▓": 0.75}[ch]
        d.rectangle([x0, y0, x1, y1], fill=blend(bg, fg, t))
    else:
        return False
    return True


def render(grid, fonts, out):
    rows, cols = len(grid), len(grid[0])
    cw, ch_ = fonts.cell_w, fonts.cell_h
    img = Image.new("RGB", (cols * cw + 2 * PAD, rows * ch_ + 2 * PAD), BG)
    d = ImageDraw.Draw(img)
    for y, row in enumerate(grid):
        for x, c in enumerate(row):
            if c.ch == "":
                continue  # right half of a wide character
            fg = c.fg if c.fg is not None else FG
            bg = c.bg if c.bg is not None else BG
            if c.rev:
                fg, bg = bg, fg
            if c.dim:
                fg = blend(fg, bg, 0.45)
            span = 2 if c.wide else 1
            px, py = PAD + x * cw, PAD + y * ch_
            if bg != BG:
                d.rectangle([px, py, px + span * cw - 1, py + ch_ - 1], fill=bg)
            glyph = c.ch
            if glyph != " ":
                if glyph in BOX or glyph in ARCS:
                    draw_box(d, glyph, px, py, cw, ch_, fg)
                elif not draw_block(d, glyph, px, py, cw, ch_, fg, bg):
                    font = fonts.face(c.bold, c.italic)
                    if fonts.fallback and not fonts.has_glyph(font, glyph[0]):
                        font = fonts.fallback
                    if fonts.truetype:
                        # Centre narrower/wider glyphs (fallback face) in the cell.
                        adv = font.getlength(glyph)
                        off = (span * cw - adv) / 2 if font is fonts.fallback else 0
                        d.text((px + off, py), glyph, font=font, fill=fg)
                    else:
                        d.text((px, py + 1), glyph, font=font, fill=fg)
            if c.ul:
                uy = py + ch_ - max(2, ch_ // 9)
                d.rectangle([px, uy, px + span * cw - 1, uy], fill=fg)
            if c.strike:
                sy = py + ch_ // 2
                d.rectangle([px, sy, px + span * cw - 1, sy], fill=fg)
    img.save(out, optimize=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--cols", type=int, default=160)
    ap.add_argument("--rows", type=int, default=45)
    ap.add_argument("--font-size", type=int, default=FONT_SIZE)
    a = ap.parse_args()
    with open(a.input, encoding="utf-8", errors="replace") as f:
        text = f.read()
    grid = parse(text, a.cols, a.rows)
    render(grid, Fonts(a.font_size), a.output)


if __name__ == "__main__":
    main()
