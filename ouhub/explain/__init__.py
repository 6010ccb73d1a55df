"""`ouhub explain`: what a pasted server log says went wrong, and the known causes it shows."""
