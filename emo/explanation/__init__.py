"""Why a model decides: Integrated Gradients per video, their dataset-wide landmark
ranking, and the landmark subsets (top-K and its controls) retrained on."""
