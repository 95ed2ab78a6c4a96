"""Scoring colorized photos against the originals: PSNR, SSIM, colorfulness and AuC (metrics), and
the gray and mean-ab baselines every model is compared with (baselines).
"""
