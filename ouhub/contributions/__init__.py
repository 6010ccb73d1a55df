"""The contributions stage: who is writing which module's scripts, where, and what waits."""
