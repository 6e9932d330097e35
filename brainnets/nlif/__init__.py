"""The n-LIF neuron as a perceptron (Kotak's thesis, ch. 5): ``neuron`` (the non-leaky neuron with decaying
synaptic current, in Brian2 with exact input times, and its closed form), ``perceptron`` (the feature map phi,
Algorithm 1, margins, SVM, mistake bounds), ``experiment`` (Table 5.2, the step size, the Brian2 check, and a
teaching demo, :func:`~brainnets.nlif.experiment.train_and_plot`). Constants: ``models/kotak_nlif.toml``."""
