"""colorlib: grayscale photo colorization in CIE LAB.

The model sees the lightness channel L and predicts the two colour channels ab.
The output photo is the original L plus the predicted ab, converted back to RGB.

Its folders name the parts, bottom layer first; a module imports only from its own part
and the parts below it (``tests/test_layout.py`` checks it; ``docs/layout.md`` says more):

- :mod:`colorlib.core`        constants, run parameters, step records, file helpers
- :mod:`colorlib.color`       RGB <-> LAB, and the ab colour classes
- :mod:`colorlib.losses`      the training losses, chosen by name
- :mod:`colorlib.archs`       the networks: encoders, decoders, discriminator, the colorizer
- :mod:`colorlib.data`        reading and augmenting photos, the input pipeline, the feature cache
- :mod:`colorlib.training`    the training schemes (one class each) and the loop, callbacks, the GAN trainer
- :mod:`colorlib.colorize`    colorizing photo files at their own resolution
- :mod:`colorlib.evaluation`  metrics and the gray and mean-ab baselines
- :mod:`colorlib.reports`     figures, charts, sliders and HTML pages
- :mod:`colorlib.workflow`    the steps of a run (notebooks 01-05), the papermill chain, comparisons
- :mod:`colorlib.cli`         the ``colorlib`` command
"""

__version__ = "0.1.0"
