"""The T = 25 STDB run, stopped after 3 of its 10 STDB epochs, scored at T = 25 on the test images beside its
converted network: does STDB lower the spike count where the converted network already has the time to fire?

    python docs/results/timestep/stdb_t25_diagnostic.py runs/timestep/stdb_mnist/checkpoint.pt \
        docs/results/timestep/stdb_mnist_t25_epoch3.json
"""
import json
import sys

from brainnets.checkpoint import check_new_result
from brainnets.timestep import experiment

checkpoint, out = sys.argv[1], sys.argv[2]
check_new_result(out)
run = experiment.reopen(checkpoint)
scored = run.score(run.snn, run.data.test_x, run.data.test_y, run.settings.timesteps)
converted = run.progress.converted
result = {"stdb_epochs_done": run.progress.epochs, "history": run.progress.history,
          "timesteps": run.settings.timesteps, "ann_accuracy": converted["ann_accuracy"],
          "trained_accuracy": scored["accuracy"], "trained_spikes_per_image": scored["spikes_per_image"],
          "trained_layer_spike_rates": scored["layer_spike_rates"],
          "converted_accuracy": converted["converted_accuracy"],
          "converted_spikes_per_image": converted["converted_spikes_per_image"],
          "converted_layer_spike_rates": converted["converted_layer_spike_rates"],
          "spike_reduction_vs_converted": converted["converted_spikes_per_image"] / scored["spikes_per_image"],
          "command": "python docs/results/timestep/stdb_t25_diagnostic.py " + " ".join(sys.argv[1:])}
with open(out, "w") as handle:
    json.dump(result, handle, indent=2, sort_keys=True)
print({key: value for key, value in result.items() if key != "history"})
