"""Optimisation-based style transfer (Gatys, Ecker & Bethge 2015/2016): options, the optimiser
(`stylize`), its registration (`method`)."""
