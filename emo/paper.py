"""The published numbers of Di Luzio, Rosato and Panella (2024), for side-by-side tables.

Tables 1-5: grid-search winners (F, Q, R) per landmark count and emotion. Tables 6 and 7:
test accuracy, mean and standard deviation over 10 runs, for T-EMO and R-EMO. The HOG + SVM
baselines are those the paper quotes from Kumar et al. (2016). No number here is produced
by this project; they are printed beside ours.
"""

from __future__ import annotations

LANDMARK_COUNTS = (468, 234, 128, 64, 32, 16)

# (F, Q, R) per L and emotion; the paper gives no table for L = 468.
HYPERPARAMETERS: dict[int, dict[str, tuple[int, int, int]]] = {
    234: {"anger": (25, 31, 54), "disgust": (35, 50, 63), "fear": (39, 51, 34),
          "happiness": (50, 58, 63), "sadness": (24, 68, 54), "surprise": (30, 58, 63)},
    128: {"anger": (25, 31, 54), "disgust": (39, 30, 63), "fear": (39, 51, 34),
          "happiness": (39, 68, 72), "sadness": (39, 58, 74), "surprise": (40, 68, 73)},
    64: {"anger": (25, 31, 54), "disgust": (39, 30, 33), "fear": (39, 51, 34),
         "happiness": (16, 58, 52), "sadness": (39, 68, 64), "surprise": (40, 58, 63)},
    32: {"anger": (25, 31, 54), "disgust": (39, 50, 63), "fear": (39, 61, 64),
         "happiness": (16, 58, 52), "sadness": (39, 58, 74), "surprise": (30, 58, 63)},
    16: {"anger": (25, 31, 54), "disgust": (39, 50, 53), "fear": (24, 68, 64),
         "happiness": (16, 58, 52), "sadness": (39, 58, 64), "surprise": (40, 58, 63)},
}

# Test accuracy (mean, std) per emotion and L. Table 6: T-EMO; Table 7: R-EMO.
ACCURACY: dict[str, dict[str, dict[int, tuple[float, float]]]] = {
    "temo": {
        "anger": {468: (.924, .016), 234: (.926, .037), 128: (.905, .037), 64: (.903, .034), 32: (.924, .030), 16: (.891, .041)},
        "disgust": {468: (.934, .019), 234: (.964, .027), 128: (.964, .019), 64: (.951, .034), 32: (.948, .040), 16: (.925, .045)},
        "fear": {468: (.948, .024), 234: (.971, .023), 128: (.974, .020), 64: (.964, .026), 32: (.950, .026), 16: (.919, .041)},
        "happiness": {468: (.986, .008), 234: (.988, .011), 128: (.982, .014), 64: (.979, .018), 32: (.981, .015), 16: (.978, .012)},
        "sadness": {468: (.920, .026), 234: (.905, .052), 128: (.916, .020), 64: (.914, .040), 32: (.922, .018), 16: (.910, .029)},
        "surprise": {468: (.993, .009), 234: (.995, .021), 128: (.995, .008), 64: (.993, .012), 32: (.991, .009), 16: (.986, .007)},
    },
    "remo": {
        "anger": {468: (.889, .018), 234: (.874, .032), 128: (.862, .040), 64: (.874, .033), 32: (.883, .047), 16: (.866, .043)},
        "disgust": {468: (.941, .023), 234: (.941, .032), 128: (.953, .019), 64: (.897, .034), 32: (.905, .023), 16: (.887, .048)},
        "fear": {468: (.934, .033), 234: (.948, .016), 128: (.939, .027), 64: (.936, .003), 32: (.924, .025), 16: (.907, .032)},
        "happiness": {468: (.968, .022), 234: (.978, .011), 128: (.971, .016), 64: (.957, .021), 32: (.966, .011), 16: (.964, .017)},
        "sadness": {468: (.907, .031), 234: (.893, .021), 128: (.893, .037), 64: (.907, .027), 32: (.898, .033), 16: (.893, .033)},
        "surprise": {468: (.962, .014), 234: (.981, .009), 128: (.976, .0016), 64: (.981, .017), 32: (.974, .027), 16: (.974, .021)},
    },
}

# HOG features + SVM (Kumar et al. 2016), accuracy per emotion, as quoted by the paper.
HOG_SVM: dict[str, dict[str, float]] = {
    "linear": {"anger": .85, "fear": .95, "disgust": .78, "happiness": .97, "sadness": .75, "surprise": .99},
    "rbf": {"anger": .84, "fear": .95, "disgust": .74, "happiness": .98, "sadness": .79, "surprise": 1.00},
}
