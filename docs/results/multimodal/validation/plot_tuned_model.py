"""Draws tuned_model.png from tuned_model.json: python docs/results/multimodal/validation/plot_tuned_model.py"""
import json
from pathlib import Path

from brainnets.plotting import plot_bars

HERE = Path(__file__).parent
RUNS = json.loads((HERE / "tuned_model.json").read_text())["runs"]
SHOWN = {"literal input\n100, eta 3e-5": "B_level_static", "ON/OFF, 1 part\n100, eta 3e-5": "A_onoff_static",
         "ON/OFF, 1 part\n100, eta 3e-3": "A3_onoff_static_eta3e-3", "ON/OFF, 5 parts\n100, eta 3e-3": "A100_side5",
         "ON/OFF, 1 part\n50": "U_audio50", "ON/OFF, 5 parts\n50": "U_audio50_side5",
         "2 x 50\nno links": "X_side5_none", "2 x 50 links\nconductance 30": "X_side5_c30",
         "2 x 50 links\nconductance 60": "X_side5_c60"}
plot_bars({label: 100 * RUNS[run]["accuracy"] for label, run in SHOWN.items()}, HERE / "tuned_model.png",
          ylabel="held-out accuracy (%)",
          title="Choosing the tuned model on held-out FSDD pairs (3,000 training pairs, audio unless 2 x 50)",
          reference={label: 100 * RUNS[run]["linear_readout"] for label, run in SHOWN.items()},
          legend=("vote", "linear readout"))
