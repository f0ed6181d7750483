"""Checking that a result belongs to the model: two formulations or two engines compared over seeds."""
