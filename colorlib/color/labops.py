"""CIE LAB -> sRGB and colorfulness as ``keras.ops``: differentiable, so losses can see RGB.

:func:`colorlib.color.lab.lab_to_rgb` (scikit-image, NumPy) is the reference; this is the
same conversion (D65 white, the sRGB matrix and transfer function) written with Keras ops,
so gradients flow from an RGB loss (perceptual, colorfulness) back to the predicted ab::

    l_norm   (..., H, W, 1)  float32 in [0, 1]    CIE L / 100
    ab_norm  (..., H, W, 2)  float32 in [-1, 1]   CIE (a, b) / 128
    -> rgb   (..., H, W, 3)  float32 in [0, 1]    sRGB, clipped to the gamut
"""

from __future__ import annotations

from keras import ops

from colorlib.core.config import AB_SCALE, L_MAX

#: D65 reference white (X, Y, Z), as scikit-image's default.
D65_WHITE = (0.95047, 1.0, 1.08883)
#: Linear sRGB from XYZ (the inverse of the sRGB primaries' matrix), rows R, G, B.
RGB_FROM_XYZ = (
    (3.2404542, -1.5371385, -0.4985314),
    (-0.9692660, 1.8760108, 0.0415560),
    (0.0556434, -0.2040259, 1.0572252),
)
#: CIE f⁻¹: ``t³`` above ``CIE_DELTA``, else ``3 δ² (t − 4/29)``.
CIE_DELTA = 6.0 / 29.0
CIE_OFFSET = 4.0 / 29.0
#: fx = fy + a / A_DIVISOR, fz = fy − b / B_DIVISOR; fy = (L + 16) / 116.
A_DIVISOR, B_DIVISOR = 500.0, 200.0
L_OFFSET, L_DIVISOR = 16.0, 116.0
#: sRGB transfer function.
SRGB_LINEAR_LIMIT, SRGB_SLOPE, SRGB_A, SRGB_GAMMA = 0.0031308, 12.92, 0.055, 2.4
#: Keeps the power's gradient finite at 0.
POWER_FLOOR = 1e-8
#: Hasler & Süsstrunk (2003): the weight of the mean's length against the spread's.
COLORFULNESS_MEAN_WEIGHT = 0.3


def _finv(t):
    return ops.where(
        ops.greater(t, CIE_DELTA), ops.power(t, 3.0), 3.0 * CIE_DELTA**2 * ops.subtract(t, CIE_OFFSET)
    )


def lab_to_rgb(l_norm, ab_norm):
    """Normalized L ``(..., 1)`` and ab ``(..., 2)`` -> sRGB ``(..., 3)`` in [0, 1] (see the module)."""
    lightness = ops.multiply(ops.cast(l_norm, "float32"), L_MAX)
    ab = ops.multiply(ops.cast(ab_norm, "float32"), AB_SCALE)
    fy = ops.divide(ops.add(lightness, L_OFFSET), L_DIVISOR)
    fx = ops.add(fy, ops.divide(ab[..., :1], A_DIVISOR))
    fz = ops.subtract(fy, ops.divide(ab[..., 1:], B_DIVISOR))
    xyz = ops.concatenate(
        [_finv(fx) * D65_WHITE[0], _finv(fy) * D65_WHITE[1], _finv(fz) * D65_WHITE[2]], axis=-1
    )
    linear = ops.clip(ops.matmul(xyz, ops.transpose(ops.convert_to_tensor(RGB_FROM_XYZ))), 0.0, 1.0)
    curved = (1.0 + SRGB_A) * ops.power(ops.maximum(linear, POWER_FLOOR), 1.0 / SRGB_GAMMA) - SRGB_A
    return ops.clip(ops.where(linear <= SRGB_LINEAR_LIMIT, SRGB_SLOPE * linear, curved), 0.0, 1.0)


def colorfulness(rgb):
    """Hasler–Süsstrunk colorfulness of each image, ``(B, H, W, 3)`` in [0, 1] -> ``(B,)``.

    ``rg = |R − G|``, ``yb = |(R + G) / 2 − B|``; ``σ = √(σ_rg² + σ_yb²)``, ``μ = √(μ_rg² + μ_yb²)``;
    colorfulness ``σ + 0.3 μ``: the absolute-value form of DDColor's code, on [0, 1] RGB as its loss
    computes it. × 255 it is :func:`colorlib.evaluation.metrics.colorfulness` (on 0–255 values).
    """
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    rg = ops.abs(ops.subtract(red, green))
    yb = ops.abs(ops.subtract(0.5 * ops.add(red, green), blue))
    axes = (1, 2)
    spread = ops.sqrt(ops.var(rg, axis=axes) + ops.var(yb, axis=axes) + POWER_FLOOR)
    centre = ops.sqrt(ops.square(ops.mean(rg, axis=axes)) + ops.square(ops.mean(yb, axis=axes)) + POWER_FLOOR)
    return spread + COLORFULNESS_MEAN_WEIGHT * centre
