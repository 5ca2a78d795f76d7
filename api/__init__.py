"""The HTTP front door: the app, the dependency chain, one router per resource."""
