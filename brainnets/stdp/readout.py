"""Reading out an unsupervised ensemble (Diehl & Cook 2015; Rathi 2021, 2.2.3 and 3.5.1).

Each excitatory neuron is labelled with the class to which it responded most on average (responses
recorded with plasticity off). An input is then classified as the class whose neurons have the
highest mean spike count. :func:`linear_readout` is a second, supervised readout of the same spike counts
(multinomial logistic regression), reported beside the vote.

A network of several ensembles (Rathi ch. 3) votes in one of :data:`VOTES`: the thesis pools every labelled
neuron of both ensembles (3.6), so the ensemble whose neurons fire more has the larger say; the per-sense
vote gives each ensemble one equal say, its class scores scaled to sum to 1 before they are added.
"""
from __future__ import annotations

import numpy as np

UNASSIGNED = -1

#: Inverse L2 strength of :func:`linear_readout` (scikit-learn's default; fixed, never tuned on a test set).
LINEAR_C = 1.0

#: How the ensembles of a network vote together (:func:`predict`).
VOTES = ("pooled", "per_sense")


def mean_responses(counts: np.ndarray, labels: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """Each neuron's mean spike count per class, (n_classes, n_neurons), from its spike ``counts``
    (n_images, n_neurons) on labelled images; 0 for a class never shown."""
    counts, labels = np.asarray(counts, dtype=float), np.asarray(labels)
    if counts.ndim != 2 or len(counts) != len(labels):
        raise ValueError(f"counts {counts.shape} and labels {labels.shape} do not match")
    per_class = np.zeros((n_classes, counts.shape[1]))
    np.add.at(per_class, labels, counts)
    shown = np.bincount(labels, minlength=n_classes)[:, None]
    return np.divide(per_class, shown, out=np.zeros_like(per_class), where=shown > 0)


def assign_labels(counts: np.ndarray, labels: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """Label of each neuron from its spike ``counts`` (n_images, n_neurons) on labelled images.

    A neuron that never fired keeps :data:`UNASSIGNED` and takes no part in predictions.
    """
    mean_response = mean_responses(counts, labels, n_classes)
    assignments = np.argmax(mean_response, axis=0)
    assignments[mean_response.max(axis=0) == 0] = UNASSIGNED
    return assignments


def class_scores(counts: np.ndarray, assignments: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """Mean spike count of each class's neurons, per image: (n_images, n_classes); 0 for a class
    with no neurons."""
    counts = np.asarray(counts, dtype=float)
    members = assignments[None, :] == np.arange(n_classes)[:, None]  # (n_classes, n_neurons)
    size = members.sum(axis=1)
    totals = counts @ members.T
    return np.divide(totals, size, out=np.zeros_like(totals), where=size > 0)


def predict(counts: np.ndarray, assignments: np.ndarray, n_classes: int = 10, vote: str = "pooled",
            senses: tuple[slice, ...] = ()) -> np.ndarray:
    """The class of each item (n_items,) by the ``vote`` of :data:`VOTES`; ``senses`` says where each
    ensemble's neurons lie in ``counts`` (needed by the per-sense vote; with one sense both votes agree)."""
    if vote not in VOTES:
        raise ValueError(f"vote {vote!r}: the votes are {', '.join(VOTES)}")
    if vote == "pooled" or len(senses) < 2:
        return np.argmax(class_scores(counts, assignments, n_classes), axis=1)
    counts = np.asarray(counts, dtype=float)
    total = np.zeros((len(counts), n_classes))
    for sense in senses:
        scores = class_scores(counts[:, sense], assignments[sense], n_classes)
        say = scores.sum(axis=1, keepdims=True)  # a sense silent on an item has no say on it
        total += np.divide(scores, say, out=np.zeros_like(scores), where=say > 0)
    return np.argmax(total, axis=1)


def linear_readout(train_counts: np.ndarray, train_labels: np.ndarray, test_counts: np.ndarray,
                   C: float = LINEAR_C) -> np.ndarray:
    """Class of each test item by multinomial logistic regression on spike counts: fitted on the
    labelled ``train_counts`` (n_items, n_neurons; the assign phase, plasticity off) and applied to
    ``test_counts`` (n_test, n_neurons). Features are every excitatory neuron's count (all ensembles
    together for the multimodal network).

    Preprocessing, fixed: each neuron's counts divided by its largest training count (a neuron that never
    fired in training stays at 0 and, under the L2 penalty, gets no weight; a test count above the training
    maximum gives a feature above 1). Unlike standardizing this keeps the counts sparse (most neurons are
    silent on most items under lateral inhibition), so the fit runs on a sparse matrix, light even for
    thousands of neurons and tens of thousands of items.

    Regularization: ``C`` = :data:`LINEAR_C` = 1.0, scikit-learn's default, fixed beforehand. Checked only
    on training data (fit on the first 80 % of the assign-phase counts, scored on the last 20 %, of four
    100-neuron runs: MNIST and audio ensembles, multimodal, Fashion-MNIST), where C = 1 was within about
    1 % of the best of 0.01-100 and standardized features did about as well; never tuned on test items.

    Deterministic: the L-BFGS solver (no random draws; ``random_state`` fixed anyway), ``max_iter`` 1000.
    With a single class among ``train_labels`` every item gets that class. Returns the predicted labels,
    (n_test,).
    """
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    train = np.asarray(train_counts, dtype=float)
    test = np.asarray(test_counts, dtype=float)
    labels = np.asarray(train_labels)
    if train.ndim != 2 or len(train) != len(labels):
        raise ValueError(f"counts {train.shape} and labels {labels.shape} do not match")
    if test.ndim != 2 or test.shape[1] != train.shape[1]:
        raise ValueError(f"test counts {test.shape} do not have the {train.shape[1]} neurons of the training counts")
    classes = np.unique(labels)
    if len(classes) < 2 or len(test) == 0:
        return np.full(len(test), classes[0] if len(classes) else UNASSIGNED, dtype=labels.dtype)
    scale = train.max(axis=0)
    scale[scale <= 0] = 1.0  # a neuron that never fired: its features stay 0
    model = LogisticRegression(C=C, solver="lbfgs", max_iter=1000, random_state=0)
    model.fit(csr_matrix(train / scale), labels)
    return model.predict(csr_matrix(test / scale))


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """``matrix[true, predicted]`` = number of images."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels), np.asarray(predictions)), 1)
    return matrix
