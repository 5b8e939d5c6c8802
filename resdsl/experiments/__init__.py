"""The paper's experiments, one command each: ``degradation`` (plain against residual networks,
Fig. 1, 6 and 7) trains with the bundled runner (:mod:`resdsl.train`) and draws the figures
(:mod:`resdsl.experiments.figures`)."""
