"""The PyTorch gradient backend (extra 'gradient')."""
