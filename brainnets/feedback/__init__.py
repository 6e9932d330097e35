"""Forward-gradient and direct-feedback training of non-spiking networks (Bacho 2023, ch. 4; Bacho & Chu 2024).

``methods``: a fully connected network and its five update rules, BP, DFA, FG-W, FG-A and FDFA, behind one
signature; ``variance``: how the estimation variance of FG-W, FG-A and FDFA scales with the layer sizes and with
FDFA's feedback learning rate (Figs. 37-38); ``training``: mini-batch training on MNIST for comparing them.
Constants: ``brainnets/models/bacho2024_fdfa.toml``.
"""
