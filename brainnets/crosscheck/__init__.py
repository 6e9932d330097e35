"""Reference-checking another simulator's spike times: a NIR graph simulated in Brian2 on the same input, its spikes
matched to the other simulator's neuron by neuron (``brainnets crosscheck``)."""
