"""Imported first by the benchmarks: TensorFlow imported without its C++ start-up lines, as colorlib's
command does (:func:`colorlib.core.quiet.import_tensorflow_quietly`), before Keras imports it."""

from colorlib.core import quiet

quiet.import_tensorflow_quietly()
