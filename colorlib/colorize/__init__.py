"""Colorizing photo files: which inputs and where outputs go (photofiles), ab predicted small and
joined to the photo's own L (fullres), predicting at each photo's own size (ownsize), the folder
pipeline behind ``colorlib colorize`` (colorize), and the colorizer that ships with colorlib
(pretrained).
"""
