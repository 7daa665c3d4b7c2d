"""What several stages' runners share, beside the one module per stage in emo.pipeline: the
models that attribute, rivals and check_rankings explain (attributed), the training and
logging of run sets (run_sets: train_full, retrain_k) and a search's MLflow child (searches:
tune, retrain_k)."""
