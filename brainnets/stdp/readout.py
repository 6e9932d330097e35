"""Reading out an unsupervised ensemble (Diehl & Cook 2015; Rathi 2021, 2.2.3 and 3.5.1).

Each excitatory neuron is labelled with the class to which it responded most on average (responses
recorded with plasticity off). An input is then classified as the class whose neurons have the
highest mean spike count.
"""
from __future__ import annotations

import numpy as np

UNASSIGNED = -1


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


def predict(counts: np.ndarray, assignments: np.ndarray, n_classes: int = 10) -> np.ndarray:
    return np.argmax(class_scores(counts, assignments, n_classes), axis=1)


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, n_classes: int = 10) -> np.ndarray:
    """``matrix[true, predicted]`` = number of images."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(labels), np.asarray(predictions)), 1)
    return matrix
