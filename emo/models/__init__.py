"""Models and training: the Keras backend, the layers, the binary ConvLSTM, its trainer, the
grid and Hyperband searches, the sets of training runs over every partition, the landmark
subsets they train on (top-K and its controls) and the trained models' ensemble."""
