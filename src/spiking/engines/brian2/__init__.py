"""The Brian2 engine: every ``brian2`` call of the package lives in this subpackage."""
