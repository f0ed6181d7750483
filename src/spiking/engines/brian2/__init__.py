"""The Brian2 engine: C++ standalone with OpenMP threads, one machine; every ``brian2`` call of the package lives here."""
