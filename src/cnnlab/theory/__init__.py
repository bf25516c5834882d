"""The assignment's theory questions as small, tested functions.

layers           output size and parameter count of every layer of a spec like "CONV3-8 ReLU POOL-2 FC-10"
receptive_field  receptive field of stacked (dilated, strided) convolutions and the input range an output sees
conv1d           closed-form gradients through a tiny 1D-conv network, checked against autograd
losses           MSE, RMSE and its normalized and relative variants
activations      plots and a measured property table of ReLU-family activations
demos            dropout vs dropout2d/3d, batch norm statistics, gridding of dilated convolutions
autoencoder      a small convolutional autoencoder (reconstruction and denoising)
cli              `cnnlab theory ...`

Only the pure-arithmetic modules (layers, receptive_field, conv1d, losses) import nothing heavy at import time.
"""
