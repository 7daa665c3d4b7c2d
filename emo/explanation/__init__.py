"""Why a model decides: Integrated Gradients per video and their dataset-wide landmark
ranking per emotion."""
