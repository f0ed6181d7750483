"""The Brian2 engine: every ``brian2`` call of the package lives in this subpackage.

:mod:`.engine` runs the visual pathway in C++ standalone mode with OpenMP
threads (:mod:`.pathway` declares it, :mod:`.project` compiles and caches it,
:mod:`.install` finds Brian2 and a compiler, :mod:`.check` is ``spiking
check``); :mod:`.izhikevich` runs the Izhikevich (2003) reproductions;
:mod:`.digits` and :mod:`.digits_network` are Diehl & Cook's (2015)
digit-learning network.
"""
