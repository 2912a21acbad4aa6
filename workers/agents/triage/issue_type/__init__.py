"""Issue type: which of a repository's type labels (`bug`, `kind/feature`, …) a new issue deserves.

One linear model per repository over TF-IDF word and character n-grams of the title and the body,
trained on the repository's labelled issues plus a down-weighted background of other repositories'
issues, with probabilities calibrated on cross-validated scores and a confidence threshold chosen
for a target precision. No network, no GPU; the model is saved as plain arrays (`.npz`), so it does
not depend on the scikit-learn version that trained it.
"""
