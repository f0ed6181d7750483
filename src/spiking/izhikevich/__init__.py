"""Reproductions of Izhikevich (2003): the Fig. 2 cell classes and the Fig. 3 network."""
