"""The NEST 3 engine: threads and MPI; every ``nest`` call of the package lives in this subpackage."""
