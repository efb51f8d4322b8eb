"""The perceptual loss of Johnson et al. (ECCV 2016, Sec. 3): shared by training and the Gatys baseline.

``vgg`` (the frozen VGG encoder by layer name), ``ops`` (Gram matrix, total variation) and
``perceptual`` (content + style + TV terms).
"""
