"""The networks, one per ``*_arch.py`` file: the encoders (VGG16, EfficientNet-Lite0 with its
ImageNet weights), the decoders (seed, U-Net), the PatchGAN discriminator, and the colorizer that joins
an encoder and a decoder (colorizer_arch).
"""
