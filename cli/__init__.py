"""The command line: the other front door, calling the same core/ operations as the API."""
