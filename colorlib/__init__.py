"""colorlib: grayscale photo colorization in CIE LAB.

The model sees the lightness channel L and predicts the two colour channels ab.
The output photo is the original L plus the predicted ab, converted back to RGB.

Modules, one concern each:

- :mod:`colorlib.config`     named constants and the original project's defaults
- :mod:`colorlib.lab`        RGB <-> LAB and the normalization of L and ab
- :mod:`colorlib.data`       finding datasets and loading images robustly
- :mod:`colorlib.augment`    seeded rotation and flips
- :mod:`colorlib.models`     the frozen encoder (VGG16 or Lite0), the decoders, the full model
- :mod:`colorlib.unet`       the U-Net decoder (skip connections, optional self-attention)
- :mod:`colorlib.encoders`   EfficientNet-Lite0: ImageNet classifier and gray-input encoder
- :mod:`colorlib.efficientnet` the Lite0 network and its converted ImageNet weights
- :mod:`colorlib.torchweights` reading PyTorch's legacy .pth files safely
- :mod:`colorlib.inputs`     parallel image loading and batching (the input pipeline)
- :mod:`colorlib.featurestore` the on-disk cache of encoder features (content-addressed shards)
- :mod:`colorlib.features`   extracting encoder features into the cache; run indexes
- :mod:`colorlib.featuredata` streaming cached features to training
- :mod:`colorlib.steps`      "already done, skip it": step records keyed on their inputs
- :mod:`colorlib.training`   Keras callbacks: BackupAndRestore, CSV log, early stopping
- :mod:`colorlib.colorize`   colorizing files and folders of photos (``colorlib colorize``)
- :mod:`colorlib.fullres`    the full-resolution trick: ab predicted small, the photo's own L kept
- :mod:`colorlib.photofiles` which photos a colorize run reads and where each output goes
- :mod:`colorlib.ownsize`    predicting at each photo's own size (``--own-size``)
- :mod:`colorlib.gan`        loss: gan, a PatchGAN and the adversarial trainer
- :mod:`colorlib.ganepochs`  a GAN run's generator scored after each adversarial epoch
- :mod:`colorlib.colorclasses` loss: classification (ab bins, rebalancing, annealed mean)
- :mod:`colorlib.baselines`  the gray and mean-ab baselines
- :mod:`colorlib.distribute` tf.distribute strategies
- :mod:`colorlib.chain`      the papermill chain of notebooks 01-05
- :mod:`colorlib.metrics`    PSNR, SSIM, colorfulness, AuC of the ab error
- :mod:`colorlib.viz`        figures: photos, LAB channels, feature maps, training history
- :mod:`colorlib.charts`     charts of the metrics against the gray baseline
- :mod:`colorlib.gallery`    the photos the figures show
- :mod:`colorlib.summaries`  the short texts notebooks print
- :mod:`colorlib.htmlreport` self-contained HTML reports, reader views and the run's index
- :mod:`colorlib.slider`     before/after sliders for the reports
- :mod:`colorlib.params`     run parameters, declared once
- :mod:`colorlib.workflow`   the steps of a run (one module per notebook stage), for notebooks and CLI
- :mod:`colorlib.compare`    comparing finished runs side by side; choosing params/best.yaml
- :mod:`colorlib.cli`        the ``colorlib`` command
- :mod:`colorlib.demo`       the demo dataset
- :mod:`colorlib.io`         atomic writes and JSON files
"""

__version__ = "0.1.0"
