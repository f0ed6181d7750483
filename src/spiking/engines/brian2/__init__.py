"""Networks on Brian2: the only place ``brian2`` is imported (imported on demand).

:mod:`.digits` is Diehl & Cook's (2015) digit-learning network on Brian2's
C++ standalone device.
"""
