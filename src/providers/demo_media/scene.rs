//! The demo picture, drawn with integer maths only from SHA-256 of (prompt, seed).

use sha2::{Digest, Sha256};
use std::ops::RangeInclusive;

/// 5x7 glyphs for `A`..=`Z` then `0`..=`9`: one byte per row, top row first, bit 4 leftmost.
#[rustfmt::skip]
const FONT: [u64; 36] = [
    0x0E_11_11_1F_11_11_11, 0x1E_11_11_1E_11_11_1E, 0x0E_11_10_10_10_11_0E, 0x1E_11_11_11_11_11_1E,
    0x1F_10_10_1E_10_10_1F, 0x1F_10_10_1E_10_10_10, 0x0E_11_10_17_11_11_0F, 0x11_11_11_1F_11_11_11,
    0x0E_04_04_04_04_04_0E, 0x07_02_02_02_02_12_0C, 0x11_12_14_18_14_12_11, 0x10_10_10_10_10_10_1F,
    0x11_1B_15_15_11_11_11, 0x11_11_19_15_13_11_11, 0x0E_11_11_11_11_11_0E, 0x1E_11_11_1E_10_10_10,
    0x0E_11_11_11_15_12_0D, 0x1E_11_11_1E_14_12_11, 0x0F_10_10_0E_01_01_1E, 0x1F_04_04_04_04_04_04,
    0x11_11_11_11_11_11_0E, 0x11_11_11_11_11_0A_04, 0x11_11_11_15_15_15_0A, 0x11_11_0A_04_0A_11_11,
    0x11_11_11_0A_04_04_04, 0x1F_01_02_04_08_10_1F, 0x0E_11_13_15_19_11_0E, 0x04_0C_04_04_04_04_0E,
    0x0E_11_01_02_04_08_1F, 0x1F_02_04_02_01_11_0E, 0x02_06_0A_12_1F_02_02, 0x1F_10_1E_01_01_11_0E,
    0x06_08_10_1E_11_11_0E, 0x1F_01_02_04_08_08_08, 0x0E_11_11_0E_11_11_0E, 0x0E_11_11_0F_01_02_0C,
];

pub(super) type Rgb = [u8; 3];

/// An RGB24 picture.
#[derive(Clone)]
pub(super) struct Canvas {
    pub(super) width: u32,
    pub(super) height: u32,
    pub(super) rgb: Vec<u8>,
}

impl Canvas {
    /// Blends `color` over pixel (x, y) with `alpha` in 0..=256; outside pixels are ignored.
    fn blend(&mut self, x: i64, y: i64, color: Rgb, alpha: i64) {
        if x < 0 || y < 0 || x >= i64::from(self.width) || y >= i64::from(self.height) {
            return;
        }
        let at = (y as usize * self.width as usize + x as usize) * 3;
        if let Some(pixel) = self.rgb.get_mut(at..at + 3) {
            pixel[0] = mix(pixel[0], color[0], alpha);
            pixel[1] = mix(pixel[1], color[1], alpha);
            pixel[2] = mix(pixel[2], color[2], alpha);
        }
    }

    /// `lo..=hi` clipped to the canvas's rows (or columns when `!rows`).
    fn clip(&self, lo: i64, hi: i64, rows: bool) -> RangeInclusive<i64> {
        let size = if rows { self.height } else { self.width };
        lo.max(0)..=hi.min(i64::from(size) - 1)
    }

    fn fill_rect(&mut self, x: i64, y: i64, side: i64, color: Rgb) {
        for py in y..y + side {
            for px in x..x + side {
                self.blend(px, py, color, 256);
            }
        }
    }
}

/// SplitMix64, seeded from the prompt's hash.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `lo..=hi` (requires `lo <= hi`).
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }

    fn sign(&mut self) -> i64 {
        if self.next() & 1 == 0 { 1 } else { -1 }
    }
}

/// A moving shape: position at time zero, speed in pixels per second, half extents.
struct Shape {
    round: bool,
    color: Rgb,
    start: (i64, i64),
    speed: (i64, i64),
    half: (i64, i64),
}

impl Shape {
    fn random(rng: &mut Rng, hue: i64, width: i64, height: i64) -> Self {
        let short = width.min(height);
        let round = !rng.next().is_multiple_of(3);
        let rx = (short * rng.range(7, 20) / 100).max(2);
        let ry = (short * rng.range(5, 16) / 100).max(2);
        let ry = if round { rx } else { ry };
        let (hue, sat) = (hue + rng.range(60, 300), rng.range(140, 230));
        let color = hsv(hue, sat, rng.range(200, 255));
        Self {
            round,
            color,
            start: (rng.range(0, width - 1), rng.range(0, height - 1)),
            speed: (rng.sign() * width * rng.range(8, 30) / 100, rng.sign() * height * rng.range(8, 30) / 100),
            half: (rx, ry),
        }
    }

    /// Centre at `millis`, bouncing inside the frame.
    fn centre(&self, millis: i64, width: i64, height: i64) -> (i64, i64) {
        let axis = |start: i64, speed: i64, half: i64, size: i64| half + bounce(start - half + speed * millis / 1000, size - 2 * half);
        let x = axis(self.start.0, self.speed.0, self.half.0, width);
        (x, axis(self.start.1, self.speed.1, self.half.1, height))
    }

    fn draw(&self, canvas: &mut Canvas, millis: i64) {
        let (cx, cy) = self.centre(millis, canvas.width.into(), canvas.height.into());
        let (rx, ry) = self.half;
        for y in canvas.clip(cy - ry, cy + ry, true) {
            for x in canvas.clip(cx - rx, cx + rx, false) {
                let (dx, dy) = (x - cx, y - cy);
                let shade = if self.round {
                    let r2 = rx * rx;
                    if dx * dx + dy * dy > r2 {
                        continue;
                    }
                    let (lx, ly) = (dx + rx / 3, dy + ry / 3);
                    255 - (lx * lx + ly * ly) * 60 / r2
                } else {
                    150 + 105 * (rx - dx + ry - dy) / (2 * (rx + ry))
                };
                canvas.blend(x, y, shaded(self.color, shade.clamp(0, 255)), 224);
            }
        }
    }
}

/// `color` darkened by `shade` in 0..=255.
fn shaded(color: Rgb, shade: i64) -> Rgb {
    let scale = |c: u8| (i64::from(c) * shade / 255) as u8;
    [scale(color[0]), scale(color[1]), scale(color[2])]
}

/// `src` over `dst` with `alpha` in 0..=256.
fn mix(dst: u8, src: u8, alpha: i64) -> u8 {
    ((i64::from(src) * alpha + i64::from(dst) * (256 - alpha)) >> 8) as u8
}

/// `travel` folded back and forth into `0..=span`, like a ball bouncing between two walls.
fn bounce(travel: i64, span: i64) -> i64 {
    let span = span.max(1);
    let m = travel.rem_euclid(2 * span);
    if m > span { 2 * span - m } else { m }
}

/// Integer HSV to RGB; hue in degrees, saturation and value in 0..=255.
fn hsv(hue: i64, sat: i64, val: i64) -> Rgb {
    let hue = hue.rem_euclid(360);
    let f = (hue % 60) * 255 / 60;
    let p = val * (255 - sat) / 255;
    let q = val * (255 - sat * f / 255) / 255;
    let t = val * (255 - sat * (255 - f) / 255) / 255;
    let (r, g, b) = match hue / 60 {
        0 => (val, t, p),
        1 => (q, val, p),
        2 => (p, val, t),
        3 => (p, q, val),
        4 => (t, p, val),
        _ => (val, p, q),
    };
    [r, g, b].map(|c| c.clamp(0, 255) as u8)
}

/// Fixed per-pixel grain in -4..=3, so no area is one flat colour.
fn grain(x: u32, y: u32) -> i64 {
    let mut h = x.wrapping_mul(0x9E37_79B1) ^ y.wrapping_mul(0x85EB_CA77);
    h ^= h >> 15;
    h = h.wrapping_mul(0x2C1B_3C6D);
    i64::from((h >> 12) & 7) - 4
}

/// Everything a frame is drawn from, derived from SHA-256 of (prompt, seed).
pub(super) struct Scene {
    glow: Shape,
    shapes: Vec<Shape>,
    caption: Vec<u8>,
    backdrop: Canvas,
}

impl Scene {
    pub(super) fn new(prompt: &str, seed: u64, width: u32, height: u32) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"reelvault demo media v1\0");
        hasher.update((prompt.len() as u64).to_le_bytes());
        hasher.update(prompt.as_bytes());
        hasher.update(seed.to_le_bytes());
        let digest = hasher.finalize();
        let mut rng = Rng(digest.iter().fold(0, |acc, &b| acc.rotate_left(8) ^ u64::from(b)));
        let (w, h) = (i64::from(width), i64::from(height));
        let hue = rng.range(0, 359);
        let top = hsv(hue, rng.range(120, 220), rng.range(40, 90));
        let (hue2, sat2) = (hue + rng.range(20, 80), rng.range(120, 220));
        let bottom = hsv(hue2, sat2, rng.range(150, 220));
        let mut glow = Shape::random(&mut rng, hue, w, h);
        glow.half = (w.min(h) / 2, w.min(h) / 2);
        let count = rng.range(4, 6);
        let shapes = (0..count).map(|_| Shape::random(&mut rng, hue, w, h)).collect();
        let caption = caption(prompt, max_chars(width, text_scale(height)));
        let backdrop = background(width, height, top, bottom);
        Self { glow, shapes, caption, backdrop }
    }

    /// The picture at `millis` into the clip.
    pub(super) fn frame(&self, millis: u64) -> Canvas {
        let millis = i64::try_from(millis).unwrap_or(i64::MAX / 1000);
        let mut canvas = self.backdrop.clone();
        self.draw_glow(&mut canvas, millis);
        for shape in &self.shapes {
            shape.draw(&mut canvas, millis);
        }
        self.draw_caption(&mut canvas);
        canvas
    }

    /// A large soft light wandering over the background.
    fn draw_glow(&self, canvas: &mut Canvas, millis: i64) {
        let (cx, cy) = self.glow.centre(millis, canvas.width.into(), canvas.height.into());
        let r = self.glow.half.0.max(1);
        for y in canvas.clip(cy - r, cy + r, true) {
            for x in canvas.clip(cx - r, cx + r, false) {
                let d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
                if d2 < r * r {
                    let near = 255 - d2 * 255 / (r * r);
                    canvas.blend(x, y, self.glow.color, near * near / 255 * 140 / 255);
                }
            }
        }
    }

    /// The prompt's first words in white with a dark shadow, bottom left.
    fn draw_caption(&self, canvas: &mut Canvas) {
        let scale = text_scale(canvas.height);
        let (x0, y0) = (3 * scale, i64::from(canvas.height) - 10 * scale);
        for (offset, color) in [((scale + 1) / 2, [12, 12, 20]), (0, [245, 245, 240])] {
            for (i, ch) in self.caption.iter().enumerate() {
                let left = x0 + offset + i as i64 * 6 * scale;
                draw_glyph(canvas, *ch, left, y0 + offset, scale, color);
            }
        }
    }
}

/// Diagonal gradient from `top` to `bottom` with a fixed grain.
fn background(width: u32, height: u32, top: Rgb, bottom: Rgb) -> Canvas {
    let mut rgb = Vec::with_capacity(width as usize * height as usize * 3);
    for y in 0..height {
        for x in 0..width {
            let mix = i64::from(x * 255 / (width - 1) + y * 255 / (height - 1)) / 2;
            let noise = grain(x, y);
            for (a, b) in top.into_iter().zip(bottom) {
                let (a, b) = (i64::from(a), i64::from(b));
                rgb.push((a + (b - a) * mix / 255 + noise).clamp(0, 255) as u8);
            }
        }
    }
    Canvas { width, height, rgb }
}

fn draw_glyph(canvas: &mut Canvas, ch: u8, left: i64, top: i64, scale: i64, color: Rgb) {
    let index = match ch {
        b'A'..=b'Z' => usize::from(ch - b'A'),
        b'0'..=b'9' => 26 + usize::from(ch - b'0'),
        _ => return,
    };
    for row in 0..7i64 {
        for col in 0..5i64 {
            if (FONT[index] >> (8 * (6 - row) + 4 - col)) & 1 == 1 {
                canvas.fill_rect(left + col * scale, top + row * scale, scale, color);
            }
        }
    }
}

fn text_scale(height: u32) -> i64 {
    i64::from(height / 90).clamp(1, 4)
}

fn max_chars(width: u32, scale: i64) -> usize {
    usize::try_from((i64::from(width) - 6 * scale) / (6 * scale)).unwrap_or(0)
}

/// Up to four of the prompt's first words, upper-cased, letters and digits only, cut to `limit`.
pub(super) fn caption(prompt: &str, limit: usize) -> Vec<u8> {
    let mut text = Vec::new();
    let words = prompt
        .split_whitespace()
        .map(|word| word.bytes().filter(u8::is_ascii_alphanumeric).map(|b| b.to_ascii_uppercase()).collect::<Vec<u8>>());
    for word in words.filter(|word| !word.is_empty()).take(4) {
        let needed = word.len() + usize::from(!text.is_empty());
        if text.len() + needed > limit {
            if text.is_empty() {
                text.extend(word.iter().take(limit));
            }
            break;
        }
        if !text.is_empty() {
            text.push(b' ');
        }
        text.extend(word);
    }
    text
}
