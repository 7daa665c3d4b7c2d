"""Models and training: the Keras backend, the layers, the binary ConvLSTM, its trainer, the
grid and Hyperband searches, and the sets of training runs over every partition."""
