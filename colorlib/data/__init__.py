"""Photos in, arrays out: finding and reading images (images), augmentation, the parallel input
pipeline (inputs), the demo dataset, and the on-disk cache of encoder features (features, featurestore,
featureindex, featuredata).
"""
